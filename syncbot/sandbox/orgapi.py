"""A sandbox copy of orgapi's "List Phone Numbers" (CONTRACT.md section 1): cursor pagination."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from syncbot.sandbox.faults import (
    PROVIDER,
    Provider,
    ProviderOptions,
    error_response,
    sandbox_middleware,
)

ORGAPI_API_KEY = "sandbox-orgapi-key"
ORGAPI_ORGANIZATION_ID = "org_sandbox"
PATH = "/api/phone-numbers"
DEFAULT_PAGE_SIZE = 20
_STATUSES = ("free", "assigned")
_CURSOR_PREFIX = "offset:"


class _BadRequest(Exception):
    pass


def _error_body(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "error": {"code": HTTPStatus(code).name.lower(), "message": message}}


def _empty_body() -> dict[str, Any]:
    pagination = {"next_cursor": None, "has_more": False, "page_size": 0, "total_count": 0}
    return {"success": True, "data": [], "pagination": pagination}


def provider(
    records: list[dict[str, Any]],
    options: ProviderOptions,
    *,
    inserted: Callable[[int], list[dict[str, Any]]],
) -> Provider:
    return Provider(
        "orgapi",
        records,
        options,
        base_path="",
        error_body=_error_body,
        empty_body=_empty_body,
        inserted=inserted,
        id_field="phone_number_id",
    )


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _BadRequest("cursor is not valid") from exc
    offset = text.removeprefix(_CURSOR_PREFIX)
    if offset == text or not offset.isdecimal():
        raise _BadRequest("cursor is not valid")
    return int(offset)


def _page_size(request: web.Request, cap: int) -> int:
    raw = request.query.get("page_size")
    if raw is None:
        return min(DEFAULT_PAGE_SIZE, cap)
    if not raw.isdecimal() or int(raw) < 1:
        raise _BadRequest("page_size must be a positive integer")
    # The docs say a server may ignore page_size; this one silently clamps it.
    return min(int(raw), cap)


def _authorized(request: web.Request) -> bool:
    key = request.headers.get("X-API-Key", "")
    organization = request.headers.get("X-Organization-Id", "")
    return secrets.compare_digest(key.encode(), ORGAPI_API_KEY.encode()) and (
        secrets.compare_digest(organization.encode(), ORGAPI_ORGANIZATION_ID.encode())
    )


async def list_phone_numbers(request: web.Request) -> web.StreamResponse:
    source = request.app[PROVIDER]
    if not _authorized(request):
        return error_response(source, 401, "Invalid API key or organization id")
    options = source.options
    status = request.query.get("status")
    cursor = request.query.get("cursor")
    try:
        if status is not None and status not in _STATUSES:
            raise _BadRequest("status must be one of: free, assigned")
        page_size = _page_size(request, options.max_page_size)
        offset = 0 if cursor is None else _decode_cursor(cursor)
    except _BadRequest as exc:
        return error_response(source, 400, str(exc))

    listing = source.records
    if status is not None:
        # Filtering 100,000 records on every page would make the sandbox, not the client, the
        # bottleneck of a benchmark; a listing's first page takes the snapshot its pages use,
        # unless the records change under the listing (live).
        if cursor is None or status not in source.filtered or options.live is not None:
            source.filtered[status] = [r for r in listing if r.get("status") == status]
        listing = source.filtered[status]
    data = listing[offset : offset + page_size]
    has_more = offset + page_size < len(listing)
    next_cursor = encode_cursor(offset + page_size) if has_more else None
    if options.repeat_cursor:
        next_cursor = cursor or encode_cursor(offset + page_size)
        has_more = True
    elif options.null_cursor_has_more and not has_more:
        has_more = True
    body = {
        "success": True,
        "data": source.served(data),
        "pagination": {
            "next_cursor": next_cursor,
            "has_more": has_more,
            "page_size": page_size,
            "total_count": len(listing),
        },
    }
    if cursor is None:
        source.first_page_served()
    return web.json_response(body)


def app(source: Provider) -> web.Application:
    application = web.Application(middlewares=[sandbox_middleware])
    application[PROVIDER] = source
    application.router.add_get(PATH, list_phone_numbers)
    return application
