"""The fetch loop: drives any provider's paginator; records are staged in the store as pages
arrive, validated and normalized only when they changed since the last good sync."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from pydantic import ValidationError

from syncbot import __version__
from syncbot.errors import PaginationError, SyncbotError
from syncbot.http import HttpClient, RequestStats
from syncbot.logs import event
from syncbot.models import SourceResult
from syncbot.normalize import PhoneParser
from syncbot.providers.base import PageInfo, Params, Provider
from syncbot.store.staging import Staging

log = logging.getLogger(__name__)

# 10,000 pages of 100 is a million numbers: far past any real account, short of forever.
MAX_PAGES = 10_000
# Records processed between two turns of the event loop (about 0.5 ms of work).
_RECORDS_PER_TURN = 20


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a listing must be done, in event-loop time, and the setting that said so."""

    at: float
    seconds: float


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


async def _pages(
    provider: Provider, http: HttpClient, stats: RequestStats, *, max_pages: int
) -> AsyncIterator[PageInfo]:
    """Every page of the listing, in the order they arrive.

    Each answered request sends the requests it unlocks from its own task, before its page is
    handed over: a cursor chain never waits while another chain's page is being processed.
    Requests are drawn from the paginator's iterables only as they are sent, so a page count
    of any size costs nothing up front.
    """
    paginator = provider.paginator()
    pending: deque[Iterator[Params]] = deque([iter(paginator.start())])
    running: set[asyncio.Task[None]] = set()
    arrived: asyncio.Queue[PageInfo | Exception] = asyncio.Queue()
    issued = 0

    def next_request() -> Params | None:
        while pending:
            request = next(pending[0], None)
            if request is not None:
                return request
            pending.popleft()
        return None

    def launch() -> None:
        nonlocal issued
        while len(running) < provider.concurrency and (params := next_request()) is not None:
            issued += 1
            if issued > max_pages:
                raise PaginationError(
                    f"{provider.key}: more than {max_pages:,} pages; stopped, as a listing "
                    "that long is more likely a pagination fault than real numbers"
                )
            running.add(asyncio.create_task(fetch(params)))

    async def fetch(params: Params) -> None:
        outcome: PageInfo | Exception
        try:
            body = await http.get_json(
                provider.url,
                params=params,
                headers=provider.headers(),
                what=provider.key,
                auth_hint=provider.auth_hint(),
                stats=stats,
            )
            outcome = provider.read_page(body)
            claimed = outcome.page_count()
            if claimed is not None and claimed > max_pages:
                raise PaginationError(
                    f"{provider.key}: the API claims {claimed:,} pages, more than the "
                    f"{max_pages:,} a listing may have; stopped, as that is more likely a "
                    "fault than real numbers"
                )
            pending.append(iter(paginator.update_state(params, outcome)))
        except Exception as exc:  # handed to the consumer, which ends the listing with it
            outcome = exc
        running.discard(asyncio.current_task())
        if isinstance(outcome, PageInfo):
            try:
                launch()
            except PaginationError as exc:
                outcome = exc
        arrived.put_nowait(outcome)

    try:
        launch()
        while running or not arrived.empty():
            item = await arrived.get()
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def fetch_numbers(
    provider: Provider,
    http: HttpClient,
    parse: PhoneParser,
    staging: Staging,
    *,
    max_pages: int = MAX_PAGES,
    on_page: Callable[[SourceResult], None] | None = None,
    deadline: Deadline | None = None,
) -> SourceResult:
    """List one account into ``staging``, each id once (the first listed wins). A source that
    fails comes back with status ``failed``, its error, and the requests and retries it took;
    what it staged is ignored by the commit.

    One bad record is counted and logged and the rest of its page still lands. A listing not
    done by ``deadline`` is stopped and fails: a provider that trickles its answers must not
    hold the run (and its lock) for ever.
    """
    listing = _Listing(provider, parse, staging)
    result = listing.result
    stats = RequestStats()
    started = time.monotonic()
    try:
        async with asyncio.timeout_at(deadline.at if deadline else None):
            async for page in _pages(provider, http, stats, max_pages=max_pages):
                result.pages += 1
                if page.total is not None:
                    result.reported_total = max(result.reported_total or 0, page.total)
                for index, raw in enumerate(page.records, start=1):
                    listing.take(raw)
                    if index % _RECORDS_PER_TURN == 0:
                        # Let answered requests of other chains send their follow-ups meanwhile.
                        await asyncio.sleep(0)
                staging.flush()
                result.count = listing.taken
                result.requests, result.retries = stats.requests, stats.retries
                if on_page is not None:
                    on_page(result)
    except TimeoutError:
        if deadline is None:
            raise
        result.status, result.count = "failed", 0
        result.error = (
            f"{provider.key}: not listed within SYNC_DEADLINE_SECONDS ({deadline.seconds:g} s; "
            f"{result.pages:,} pages and {listing.taken:,} numbers by then), so the listing "
            "was stopped and the run lock released; its numbers are kept, marked stale"
        )
        return result
    except SyncbotError as exc:
        # None of this listing lands, so none of it counts.
        result.status, result.error, result.count = "failed", exc.message, 0
        return result
    finally:
        result.requests, result.retries = stats.requests, stats.retries
        result.duration = time.monotonic() - started
    result.count = await asyncio.to_thread(staging.count, result.source, result.account)
    result.duplicates = listing.taken - result.count
    if result.reported_total is not None and result.count < result.reported_total:
        result.warnings.append(
            f"listed {result.count:,} unique numbers but the API reported "
            f"{result.reported_total:,}; its pages may have shifted while listing "
            "(the next sync will catch up)"
        )
    return result


class _Listing:
    """One account's records as they arrive: those unchanged since the last good sync are
    staged by id and digest alone, the others validated, normalized and staged whole."""

    def __init__(self, provider: Provider, parse: PhoneParser, staging: Staging) -> None:
        self.provider = provider
        self.parse = parse
        self.staging = staging
        self.model = provider.record_model()
        self.result = SourceResult(provider.name, provider.account.name)
        # A digest is this account's, and this syncbot version's: a new release normalizes
        # every record again, in case normalization changed.
        self.key = hashlib.blake2b(
            f"{__version__}\0{provider.key}".encode(), digest_size=32
        ).digest()
        self.taken = 0
        self.invalid_ids: set[str] = set()

    def _invalid(self, record_id: str | None, reason: str) -> None:
        if record_id is not None:
            if record_id in self.invalid_ids:
                return
            self.invalid_ids.add(record_id)
        self.result.invalid += 1
        event(
            log,
            logging.WARNING,
            "invalid record",
            source=self.provider.key,
            id=record_id,
            reason=reason,
        )

    def take(self, raw: object) -> None:
        if not isinstance(raw, dict):
            self._invalid(None, f"expected an object, got {type(raw).__name__}")
            return
        # repr() of decoded JSON is deterministic; surrogates are legal in JSON strings.
        text = repr(raw).encode("utf-8", "surrogatepass")
        digest = int.from_bytes(
            hashlib.blake2b(text, digest_size=8, key=self.key).digest(), "big", signed=True
        )
        if self.staging.known(digest):
            number_id = self.provider.record_id(raw)
            assert number_id is not None  # it validated when it was stored
            self.staging.keep(self.result.source, self.result.account, number_id, digest)
            self.taken += 1
            return
        try:
            record = self.model.model_validate(raw)
        except ValidationError as exc:
            self._invalid(self.provider.record_id(raw), _reason(exc))
            return
        try:
            number = self.provider.normalize(record, self.parse)
        except Exception as exc:  # one odd record must never fail its whole account
            self._invalid(self.provider.record_id(raw), f"{type(exc).__name__}: {exc}")
            return
        self.staging.add(number, digest)
        self.taken += 1
