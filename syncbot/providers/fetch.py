"""The fetch loop: drives any provider's paginator; records are staged in the store as pages
arrive, validated and normalized only when they changed since the last good sync."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from syncbot.errors import PaginationError, StoreError, SyncbotError
from syncbot.http import HttpClient, RequestStats
from syncbot.logs import event
from syncbot.models import SourceResult
from syncbot.normalize import PhoneParser
from syncbot.providers.base import PageInfo, Paginator, Params, Provider
from syncbot.providers.census import Census
from syncbot.providers.listing import Listing, Workers
from syncbot.store.staging import Staging

log = logging.getLogger(__name__)

# 10,000 pages of 100 is a million numbers: far past any real account, short of forever.
MAX_PAGES = 10_000


@dataclass(frozen=True, slots=True)
class Deadline:
    """When a listing must be done, in event-loop time, and the setting that said so."""

    at: float
    seconds: float


async def _pages(
    provider: Provider,
    paginator: Paginator,
    http: HttpClient,
    stats: RequestStats,
    *,
    max_pages: int,
) -> AsyncIterator[tuple[Params, PageInfo]]:
    """Every page of the listing, in the order they arrive.

    Each answered request sends the requests it unlocks from its own task, before its page is
    handed over: a cursor chain never waits while another chain's page is being processed.
    Requests are drawn from the paginator's iterables only as they are sent, so a page count
    of any size costs nothing up front.
    """
    pending: deque[Iterator[Params]] = deque([iter(paginator.start())])
    running: set[asyncio.Task[None]] = set()
    arrived: asyncio.Queue[tuple[Params, PageInfo] | Exception] = asyncio.Queue()
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
            outcome = await provider.get_page(http, params, stats)
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
        arrived.put_nowait(outcome if isinstance(outcome, Exception) else (params, outcome))

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


async def _list(  # noqa: PLR0917 - the pass's parts, each of its own kind
    provider: Provider,
    paginator: Paginator,
    http: HttpClient,
    listing: Listing,
    census: Census,
    stats: RequestStats,
    *,
    max_pages: int,
    on_page: Callable[[SourceResult], None] | None,
) -> None:
    """One pass of ``paginator`` into ``listing``, then a check of the whole listing's total
    once its last page is in (``census``)."""
    result = listing.result
    result.passes += 1
    async for sent, page in _pages(provider, paginator, http, stats, max_pages=max_pages):
        result.pages += 1
        scope = paginator.scope(sent)
        census.saw(scope, page.total)
        if scope is None and page.total is not None:
            result.reported_total = max(result.reported_total or 0, page.total)
        await listing.take_page(page.records)
        result.count = listing.taken
        result.requests, result.retries = stats.requests, stats.retries
        if on_page is not None:
            on_page(result)
    await listing.finish()
    census.saw(None, (await provider.get_page(http, provider.probe(), stats)).total)


async def _listed(listing: Listing, staging: Staging, census: Census) -> int:
    """The distinct numbers listed so far, the invalid records' ids among them (blocks on
    the staging writer in a thread)."""
    listing.hold_invalid()
    census.skipped = listing.skipped
    staging.flush()
    result = listing.result
    return await asyncio.to_thread(staging.count, result.source, result.account)


async def _prove(
    provider: Provider,
    http: HttpClient,
    listing: Listing,
    census: Census,
    stats: RequestStats,
    *,
    max_pages: int,
    on_page: Callable[[SourceResult], None] | None,
) -> int:
    """List again what is cheap to list again until the listing is shown complete, or
    every way was tried; returns the distinct numbers listed, and says in the result
    whether the listing was shown complete and, if not, why."""
    result = listing.result
    unique = await _listed(listing, listing.staging, census)
    result.duplicates = listing.taken - (unique - len(listing.held))
    why = census.shortfall(unique)
    # Records without an id stay so however often they are listed.
    if why is not None and not census.skipped:
        for relisting in provider.relistings(census.grown()):
            event(log, logging.INFO, "listing again", source=provider.key, reason=why)
            since = 0 if relisting.union else len(census.whole)
            if not relisting.union:
                # Checked on its own, it stands on its own: the first listing's rows go.
                listing.restart()
            await _list(
                provider,
                relisting.paginator,
                http,
                listing,
                census,
                stats,
                max_pages=max_pages,
                on_page=on_page,
            )
            unique = await _listed(listing, listing.staging, census)
            why = census.shortfall(unique, since=since)
            if why is None:
                break
    result.complete = why is None
    if why is not None:
        result.warnings.append(
            f"the listing was not shown complete ({why}), so no number was removed: stored "
            "numbers it did not see are kept, unconfirmed, until a complete listing settles "
            "them"
        )
    return unique


async def fetch_numbers(
    provider: Provider,
    http: HttpClient,
    parse: PhoneParser,
    staging: Staging,
    *,
    workers: Workers | None = None,
    max_pages: int = MAX_PAGES,
    on_page: Callable[[SourceResult], None] | None = None,
    deadline: Deadline | None = None,
) -> SourceResult:
    """List one account into ``staging``, each id once (the first listed wins). A source that
    fails comes back with status ``failed``, its error, and the requests and retries it took;
    what it staged is ignored by the commit. ``workers``: where to normalize once many
    records need it.

    One bad record is counted and logged and the rest of its page still lands. A listing not
    done by ``deadline`` is stopped and fails: a provider that trickles its answers must not
    hold the run (and its lock) for ever. The result says whether the listing was shown
    complete (``census``), listing again what it takes to show it; only then may the commit
    remove the stored numbers it lacks.
    """
    listing = Listing(provider, parse, staging, workers)
    result = listing.result
    census = Census()
    stats = RequestStats()
    started = time.monotonic()
    try:
        async with asyncio.timeout_at(deadline.at if deadline else None):
            await _list(
                provider,
                provider.paginator(),
                http,
                listing,
                census,
                stats,
                max_pages=max_pages,
                on_page=on_page,
            )
            unique = await _prove(
                provider, http, listing, census, stats, max_pages=max_pages, on_page=on_page
            )
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
    except StoreError:
        raise  # not this provider's failure: the run's (``sync.run_sync``)
    except SyncbotError as exc:
        # None of this listing lands, so none of it counts.
        result.status, result.error, result.count = "failed", exc.message, 0
        return result
    finally:
        listing.abandon()
        result.requests, result.retries = stats.requests, stats.retries
        result.duration = time.monotonic() - started
    result.count = unique - len(listing.held)
    return result
