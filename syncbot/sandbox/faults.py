"""What both sandbox providers share: run-time options, injected faults and request recording.

Tests change options between two syncs, so every request reads them afresh from its `Provider`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web
from aiohttp.typedefs import Handler

from syncbot.sandbox.live import Live, LiveChange, LiveState, apply

FaultKind = Literal[
    "status",
    "timeout",
    "bad_json",
    "drop",
    "success_false",
    "empty",
    "redirect",
    "huge_body",
    "trickle",
]
# What a streamed body is made of, and how much of it goes in one write.
_FILLER = b"x" * 65536

# What a reverse proxy in front of a provider answers when the provider behind it is down.
_PROXY_ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


@dataclass(frozen=True, slots=True)
class Fault:
    """An answer a provider gives instead of its normal one."""

    kind: FaultKind
    http_status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0
    message: str | None = None
    location: str | None = None
    size: int = 0

    @classmethod
    def status(
        cls, code: int, *, retry_after: float | None = None, message: str | None = None
    ) -> Fault:
        """An HTTP error with the provider's own JSON error body and optional ``Retry-After``."""
        HTTPStatus(code)  # a ValueError now beats an unanswerable fault later
        return cls("status", http_status=code, retry_after=retry_after, message=message)

    @classmethod
    def timeout(cls, *, seconds: float) -> Fault:
        """Answer normally, but only after ``seconds``: a client with a shorter timeout gives up."""
        return cls("timeout", seconds=seconds)

    @classmethod
    def bad_json(cls) -> Fault:
        """HTTP 200 with an HTML proxy error page where JSON was expected."""
        return cls("bad_json")

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering.

        aiohttp clients retry a GET once after a disconnect, so drop two requests in a row for
        such a client to see one.
        """
        return cls("drop")

    @classmethod
    def success_false(cls, *, message: str | None = None) -> Fault:
        """HTTP 200 whose body says ``"success": false`` (orgapi's documented failure)."""
        return cls("success_false", message=message)

    @classmethod
    def empty(cls) -> Fault:
        """HTTP 200 with the documented envelope and no records: ``"data": []``, totals 0."""
        return cls("empty")

    @classmethod
    def redirect(cls, location: str, *, code: int = 302) -> Fault:
        """A redirect to ``location`` (another host, say), as a hijacked DNS name could give."""
        return cls("redirect", http_status=code, location=location)

    @classmethod
    def huge_body(cls, *, size: int, code: int = 200) -> Fault:
        """A body of ``size`` bytes, streamed as the client reads it (the sandbox holds none)."""
        return cls("huge_body", http_status=code, size=size)

    @classmethod
    def trickle(cls, *, seconds: float) -> Fault:
        """HTTP 200 whose body comes one byte every ``seconds``, never ending."""
        return cls("trickle", seconds=seconds)

    @property
    def label(self) -> str:
        return f"status:{self.http_status}" if self.kind == "status" else self.kind


@dataclass(slots=True)
class ProviderOptions:
    """Knobs of one sandbox provider; each applies to every request from the next one on."""

    latency_ms: float = 0
    max_page_size: int = 100
    # The Nth request (1-based, see `Provider.total`) gets that fault instead of its answer.
    faults: dict[int, Fault] = field(default_factory=dict)
    # Every request not named in `faults` gets this one.
    always: Fault | None = None
    # Once per sandbox, after a first page was served, this many new records appear at the head.
    drift_after_first_page: int = 0
    # orgapi only: next_cursor never advances, yet has_more stays true.
    repeat_cursor: bool = False
    # orgapi only: the last page says has_more true with a null next_cursor.
    null_cursor_has_more: bool = False
    # dialnexa only: meta without totalPages; without total and totalPages.
    omit_total_pages: bool = False
    omit_total: bool = False
    # dialnexa only: this page and every later one is empty, whatever meta.total says.
    empty_page_at: int | None = None
    # dialnexa only: meta.totalPages says this, whatever the records are.
    claimed_total_pages: int | None = None
    # Every record served has these fields renamed (old name to new): a schema change.
    renamed_fields: dict[str, str] = field(default_factory=dict)
    # While set and not yet released, every request waits for it: a test orders events this way
    # ("the acknowledgement came before the listing ended") instead of timing them.
    hold: asyncio.Event | None = None
    # Records that change while they are listed (syncbot.sandbox.live); counted from `reset()`.
    live: Live | None = None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the sandbox saw it; header values are never kept, they hold secrets."""

    path: str
    query: dict[str, str]
    # 0 when no answer could be delivered: the connection was dropped or the client had gone.
    status: int
    started: float
    duration: float
    fault: str | None


ErrorBody = Callable[[int, str], dict[str, Any]]
EmptyBody = Callable[[], dict[str, Any]]


class Provider:
    """One fake provider's live state: its records, options and the requests it received."""

    def __init__(
        self,
        name: str,
        records: list[dict[str, Any]],
        options: ProviderOptions,
        *,
        base_path: str,
        error_body: ErrorBody,
        empty_body: EmptyBody,
        inserted: Callable[[int], list[dict[str, Any]]],
        id_field: str,
    ) -> None:
        self.name = name
        self.id_field = id_field
        # What `ProviderOptions.live` changed, in order.
        self.live_changes: list[LiveChange] = []
        self._live: LiveState | None = None
        self.records = records
        self.options = options
        self.requests: list[RecordedRequest] = []
        # Bytes of streamed fault bodies (huge_body, trickle) a client took before it hung up.
        self.streamed_bytes = 0
        # Filtered listings by filter value, taken at each listing's first page.
        self.filtered: dict[str, list[dict[str, Any]]] = {}
        # Requests that reached the app since the start or the last `reset()`; numbers faults.
        self.total = 0
        self.error_body = error_body
        self.empty_body = empty_body
        self._base_path = base_path
        self._inserted = inserted
        self._drifted = False
        self._root: str | None = None
        self._closing = asyncio.Event()

    @property
    def url(self) -> str:
        """The base URL a client is configured with."""
        if self._root is None:
            raise RuntimeError(f"the {self.name} sandbox is not running")
        return self._root + self._base_path

    @property
    def by_status(self) -> Counter[int]:
        return Counter(request.status for request in self.requests)

    def bind(self, root: str) -> None:
        self._root = root

    def reset(self) -> None:
        """Forget recorded requests and restart fault numbering at 1."""
        self.requests.clear()
        self.total = 0
        self._live = None

    def close(self) -> None:
        """Release requests still waiting on latency or a timeout fault, so shutdown is quick."""
        self._closing.set()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    async def pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def served(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``records`` as this provider serves them, with ``renamed_fields`` applied."""
        renamed = self.options.renamed_fields
        if not renamed:
            return records
        return [{renamed.get(key, key): value for key, value in r.items()} for r in records]

    async def held(self, hold: asyncio.Event) -> None:
        """Wait until ``hold`` is set, or the sandbox closes."""
        closing = asyncio.ensure_future(self._closing.wait())
        released = asyncio.ensure_future(hold.wait())
        try:
            await asyncio.wait({closing, released}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            released.cancel()

    def live_step(self) -> None:
        """Make the live changes scheduled before the current request (``total``)."""
        live = self.options.live
        if live is None:
            return
        if self._live is None or self._live.live is not live:
            self._live = LiveState.start(live, self.name)
        self.live_changes += apply(
            self._live, self.total, self.records, id_field=self.id_field, inserted=self._inserted
        )

    def first_page_served(self) -> None:
        """Insert the drift records at the head, the first time this happens with drift set."""
        count = self.options.drift_after_first_page
        if count > 0 and not self._drifted:
            self._drifted = True
            self.records[0:0] = self._inserted(count)


PROVIDER = web.AppKey("provider", Provider)


def error_response(
    provider: Provider, code: int, message: str | None = None, *, retry_after: float | None = None
) -> web.Response:
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    body = provider.error_body(code, message or HTTPStatus(code).description)
    return web.json_response(body, status=code, headers=headers)


async def _faulty_answer(  # noqa: PLR0911 - one answer per kind of fault
    request: web.Request, fault: Fault
) -> web.StreamResponse | None:
    """The fault's answer, or None when the normal answer follows (after a delay)."""
    provider = request.app[PROVIDER]
    match fault.kind:
        case "status":
            return error_response(
                provider, fault.http_status, fault.message, retry_after=fault.retry_after
            )
        case "timeout":
            await provider.pause(fault.seconds)
            return None
        case "bad_json":
            return web.Response(status=200, text=_PROXY_ERROR_PAGE, content_type="text/html")
        case "success_false":
            message = fault.message or "Internal error while listing phone numbers"
            body = {"success": False, "error": {"code": "internal_error", "message": message}}
            return web.json_response(body)
        case "drop":
            transport = request.transport
            assert transport is not None
            transport.close()
            return web.Response()
        case "empty":
            return web.json_response(provider.empty_body())
        case "redirect":
            assert fault.location is not None
            return web.Response(status=fault.http_status, headers={"Location": fault.location})
        case "huge_body" | "trickle":
            return await _stream(request, fault)


async def _stream(request: web.Request, fault: Fault) -> web.StreamResponse:
    """Stream the fault's endless or huge body until it is done or the client hangs up."""
    provider = request.app[PROVIDER]
    response = web.StreamResponse(status=fault.http_status)
    response.content_type = "application/json"
    await response.prepare(request)
    left = fault.size if fault.kind == "huge_body" else -1
    try:
        while left != 0:
            if fault.kind == "trickle":
                chunk = b" "
                await provider.pause(fault.seconds)
                if provider.closing:
                    break
            else:
                chunk = _FILLER[: min(left, len(_FILLER))]
                left -= len(chunk)
            await response.write(chunk)
            provider.streamed_bytes += len(chunk)
    except (ConnectionError, RuntimeError):
        # The client hung up: that is what these faults wait for.
        return response
    await response.write_eof()
    return response


@web.middleware
async def sandbox_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Apply latency and faults, and record the request with the time spent serving it."""
    provider = request.app[PROVIDER]
    started = time.monotonic()
    provider.total += 1
    provider.live_step()
    options = provider.options
    fault = options.faults.get(provider.total, options.always)
    status = 0
    try:
        if options.hold is not None:
            await provider.held(options.hold)
        await provider.pause(options.latency_ms / 1000)
        response = await _faulty_answer(request, fault) if fault is not None else None
        if response is None:
            response = await handler(request)
        transport = request.transport
        status = 0 if transport is None or transport.is_closing() else response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:
        # aiohttp answers 500 for it; a test that planted an unserializable record sees why.
        status = 500
        raise
    finally:
        provider.requests.append(
            RecordedRequest(
                path=request.path,
                query=dict(request.query),
                status=status,
                started=started,
                duration=time.monotonic() - started,
                fault=fault.label if fault is not None else None,
            )
        )
