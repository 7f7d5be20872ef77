"""A sandbox copy of DialNexa's "List your phone numbers" (CONTRACT.md section 1): page numbers."""

from __future__ import annotations

import math
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

DIALNEXA_API_KEY = "sandbox-dialnexa-key"
BASE_PATH = "/v1"
PATH = BASE_PATH + "/organization-phone-numbers"
DEFAULT_LIMIT = 20


class _BadRequest(Exception):
    pass


def _error_body(code: int, message: str) -> dict[str, Any]:
    # NestJS-style, unlike orgapi's envelope, so clients cannot assume one error format.
    return {"statusCode": code, "message": message, "error": HTTPStatus(code).phrase}


def _empty_body() -> dict[str, Any]:
    return {"data": [], "meta": {"page": 1, "limit": DEFAULT_LIMIT, "total": 0, "totalPages": 0}}


def provider(
    records: list[dict[str, Any]],
    options: ProviderOptions,
    *,
    inserted: Callable[[int], list[dict[str, Any]]],
) -> Provider:
    return Provider(
        "dialnexa",
        records,
        options,
        base_path=BASE_PATH,
        error_body=_error_body,
        empty_body=_empty_body,
        inserted=inserted,
        id_field="id",
    )


def _positive(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdecimal() or int(raw) < 1:
        raise _BadRequest(f"{name} must be a positive integer")
    return int(raw)


def _matches(record: dict[str, Any], country_code: str | None, number_type: str | None) -> bool:
    # Records of the first documented shape carry neither field, so no filter selects them.
    if country_code is not None:
        value = record.get("country_code")
        if not isinstance(value, str) or value.upper() != country_code.upper():
            return False
    return number_type is None or record.get("type") == number_type


async def list_phone_numbers(request: web.Request) -> web.StreamResponse:
    source = request.app[PROVIDER]
    expected = f"Bearer {DIALNEXA_API_KEY}".encode()
    if not secrets.compare_digest(request.headers.get("Authorization", "").encode(), expected):
        return error_response(source, 401, "Invalid or missing API key")
    options = source.options
    try:
        page = _positive(request, "page", 1)
        limit = min(_positive(request, "limit", DEFAULT_LIMIT), options.max_page_size)
    except _BadRequest as exc:
        return error_response(source, 400, str(exc))

    country_code = request.query.get("country_code")
    number_type = request.query.get("type")
    listing = source.records
    if country_code is not None or number_type is not None:
        listing = [record for record in listing if _matches(record, country_code, number_type)]
    start = (page - 1) * limit
    emptied = options.empty_page_at is not None and page >= options.empty_page_at
    meta: dict[str, int] = {"page": page, "limit": limit}
    if not options.omit_total:
        meta["total"] = len(listing)
        if not options.omit_total_pages:
            meta["totalPages"] = math.ceil(len(listing) / limit)
    if options.claimed_total_pages is not None:
        meta["totalPages"] = options.claimed_total_pages
    data = [] if emptied else listing[start : start + limit]
    body = {"data": source.served(data), "meta": meta}
    if page == 1:
        source.first_page_served()
    return web.json_response(body)


def app(source: Provider) -> web.Application:
    application = web.Application(middlewares=[sandbox_middleware])
    application[PROVIDER] = source
    application.router.add_get(PATH, list_phone_numbers)
    return application
