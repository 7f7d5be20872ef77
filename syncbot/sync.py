"""One sync run: every configured account at once, then the store, then the sheet.

The loop treats every provider alike; a failed source never sinks the others, the store
commits the whole run or nothing, and the sheet is written only from committed data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from syncbot import __version__
from syncbot.errors import ConfigError, SyncbotError
from syncbot.history import Reconciled, reconcile
from syncbot.http import HttpClient, RetryPolicy
from syncbot.logs import event
from syncbot.models import (
    Change,
    PhoneNumber,
    RunResult,
    SheetResult,
    SourceResult,
    count_changes,
    utc_now,
)
from syncbot.normalize import PhoneParser
from syncbot.providers import FetchOutcome, Provider, fetch_numbers, provider_for
from syncbot.settings import Account, Settings
from syncbot.store import Store

log = logging.getLogger(__name__)

ProgressHook = Callable[[SourceResult], None]
# Called after a committed run with its result and changes (Slack alerts hook in here).
AfterRun = Callable[[RunResult, Sequence[Change]], Awaitable[None]]
SheetWrite = Callable[[Sequence[PhoneNumber], Sequence[Change], RunResult], SheetResult]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    dry_run: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Overrides every provider's own page size (tests use small pages to exercise paging).
    page_size: int | None = None
    max_pages: int = 10_000


def _sheet_writer(settings: Settings) -> SheetWrite | None:
    if not settings.sheet_configured:
        return None
    from syncbot.sheets import SheetWriter  # noqa: PLC0415 - gspread loads only when a sheet is set

    writer = SheetWriter(settings)

    def write(
        inventory: Sequence[PhoneNumber], changes: Sequence[Change], run: RunResult
    ) -> SheetResult:
        return writer.write(inventory=inventory, changes=changes, run=run)

    return write


async def _fetch(
    provider: Provider,
    http: HttpClient,
    parse: PhoneParser,
    *,
    max_pages: int,
    progress: ProgressHook | None,
) -> FetchOutcome:
    try:
        outcome = await fetch_numbers(provider, http, parse, max_pages=max_pages, on_page=progress)
    except Exception as exc:
        # A bug of ours with one provider's data must not take the other sources down.
        log.exception("unexpected error while listing %s", provider.key)
        result = SourceResult(provider.name, provider.account.name, status="failed")
        result.error = f"unexpected error: {type(exc).__name__}: {exc}"
        outcome = FetchOutcome([], result)
    r = outcome.result
    event(
        log,
        logging.INFO if r.status == "ok" else logging.ERROR,
        "source listed" if r.status == "ok" else "source failed",
        source=r.key,
        status=r.status,
        count=r.count,
        pages=r.pages,
        requests=r.requests,
        retries=r.retries,
        invalid=r.invalid,
        duplicates=r.duplicates,
        duration=r.duration,
        error=r.error,
    )
    for warning in r.warnings:
        event(log, logging.WARNING, "source warning", source=r.key, warning=warning)
    return outcome


async def run_sync(
    settings: Settings,
    store: Store,
    *,
    options: SyncOptions | None = None,
    progress: ProgressHook | None = None,
    after_run: AfterRun | None = None,
) -> RunResult:
    """Run one sync. Never raises for a provider or sheet failure: the result says it."""
    options = options or SyncOptions()
    accounts = settings.accounts()
    if not accounts:
        raise ConfigError(
            "no source is configured: set ORGAPI_API_KEY and ORGAPI_ORGANIZATION_ID, or "
            "DIALNEXA_API_KEY (or ORGAPI_ACCOUNTS / DIALNEXA_ACCOUNTS); `syncbot demo` "
            "shows a sync without credentials"
        )
    writer = None if options.dry_run else _sheet_writer(settings)
    result = RunResult(started_at=utc_now(), dry_run=options.dry_run)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        acquired = await asyncio.to_thread(stack.enter_context, store.run_lock())
        if not acquired:
            result.status = "skipped"
            result.finished_at = utc_now()
            result.message = "another sync is running; this one did nothing"
            event(log, logging.INFO, "sync skipped", reason="another sync holds the lock")
            return result
        reconciled = await _collect(
            store, result, accounts=accounts, options=options, progress=progress
        )
        result.duration = time.perf_counter() - started
        costs = settings.costs()
        if costs.configured:
            result.monthly_cost = costs.overview(reconciled.inventory, now=result.started_at)
        if not options.dry_run:
            result.run_id = await _commit(store, result, reconciled)
            if writer is not None:
                await _write_sheet(writer, reconciled, result)
                result.duration = time.perf_counter() - started
                await asyncio.to_thread(store.update_run, result.run_id, result)
    event(
        log,
        logging.INFO,
        "sync finished",
        run_id=result.run_id,
        status=result.status,
        total=result.total,
        unassigned=result.unassigned,
        sheet=result.sheet.status,
        phones_parsed=result.phones_parsed,
        **{f"changes_{kind}": n for kind, n in result.changes.items()},
    )
    if after_run is not None and not options.dry_run:
        try:
            await after_run(result, reconciled.changes)
        except Exception:
            log.exception("the after-sync hook failed")
    return result


async def _collect(
    store: Store,
    result: RunResult,
    *,
    accounts: Sequence[Account],
    options: SyncOptions,
    progress: ProgressHook | None,
) -> Reconciled:
    parse = PhoneParser(await asyncio.to_thread(store.parse_cache))
    # The previous snapshot is only needed once the listings are in: read it meanwhile.
    previous_read = asyncio.ensure_future(asyncio.to_thread(store.load_numbers))
    providers = [provider_for(a) for a in accounts]
    for provider in providers:
        provider.page_size = options.page_size
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": f"syncbot/{__version__}"}
    ) as session:
        http = HttpClient(session, policy=options.policy)
        outcomes = await asyncio.gather(
            *(
                _fetch(p, http, parse, max_pages=options.max_pages, progress=progress)
                for p in providers
            )
        )
    previous = await previous_read
    result.phones_parsed = parse.parsed
    states = await asyncio.to_thread(store.source_states)
    result.sources = {o.result.key: o.result for o in outcomes}
    reconciled = reconcile(
        previous,
        {o.result.key: o.numbers for o in outcomes if o.result.status == "ok"},
        failed={
            o.result.key: o.result.error or "failed"
            for o in outcomes
            if o.result.status == "failed"
        },
        known_states=states,
        now=result.started_at,
    )
    result.total = len(reconciled.inventory)
    result.unassigned = sum(1 for n in reconciled.inventory if n.unassigned)
    result.changes = count_changes(reconciled.changes)
    result.finished_at = utc_now()
    result.settle()
    return reconciled


async def _commit(store: Store, result: RunResult, reconciled: Reconciled) -> int:
    """Commit in a thread that cancellation cannot abandon: a cancelled run (SIGTERM) waits
    for its transaction to end, committed or rolled back, before the run lock is released."""
    commit = asyncio.ensure_future(asyncio.to_thread(store.commit_run, result, reconciled))
    try:
        return await asyncio.shield(commit)
    except asyncio.CancelledError:
        await asyncio.wait({commit})
        raise


async def _write_sheet(writer: SheetWrite, reconciled: Reconciled, result: RunResult) -> None:
    try:
        result.sheet = await asyncio.to_thread(
            writer, reconciled.inventory, reconciled.changes, result
        )
    except SyncbotError as exc:
        result.sheet = SheetResult(status="failed", error=exc.message)
    except Exception as exc:
        log.exception("unexpected error while writing the sheet")
        result.sheet = SheetResult(status="failed", error=f"unexpected error: {exc}")
    if result.sheet.status == "failed":
        event(log, logging.ERROR, "sheet failed", error=result.sheet.error)
    result.finished_at = utc_now()
    result.settle()
