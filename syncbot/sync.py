"""One sync run: every configured account at once, then the store, then the sheet.

The loop treats every provider alike; a failed source never sinks the others, the store
commits the whole run or nothing, and the sheet is written only from committed data.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import aiohttp

from syncbot import __version__
from syncbot.costs import IDLE_DAYS
from syncbot.errors import ConfigError, StoreError
from syncbot.guard import guard_removals
from syncbot.http import HttpClient, RetryPolicy, cut
from syncbot.logs import event
from syncbot.models import (
    Change,
    Health,
    RunResult,
    SheetResult,
    SheetState,
    SourceResult,
    SourceState,
    iso,
    utc_now,
)
from syncbot.normalize import PhoneParser
from syncbot.providers import Deadline, Provider, fetch_numbers, provider_for
from syncbot.providers.listing import Workers
from syncbot.runlock import held_lock
from syncbot.settings import Account, Settings
from syncbot.sheet_step import sheet_writer, write_run_sheet
from syncbot.stopping import Stop, Stopped, unless_stopped
from syncbot.store import Store
from syncbot.store.staging import Staging

log = logging.getLogger(__name__)
# A listing that ran to the deadline still has its failures to record (the sources' health,
# their rows kept stale): that small commit gets these seconds even with none left.
COMMIT_FLOOR_SECONDS = 5.0

ProgressHook = Callable[[SourceResult], None]
# Called after a committed run with its result and its changes, read from the store as they
# are iterated (Slack alerts hook in here).
AfterRun = Callable[[RunResult, Iterable[Change]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SyncOptions:
    dry_run: bool = False
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    # Overrides every provider's own page size (tests use small pages to exercise paging).
    page_size: int | None = None
    max_pages: int = 10_000
    # New or changed records normalized on the event loop before a worker process takes
    # over the rest (a first sync): starting one costs more than a few thousand parses.
    worker_after: int = 2000
    # Accept listings that would remove more than SYNC_MAX_REMOVAL_PERCENT (syncbot.guard).
    allow_removals: bool = False


async def _fetch(
    provider: Provider,
    http: HttpClient,
    parse: PhoneParser,
    staging: Staging,
    *,
    workers: Workers,
    max_pages: int,
    deadline: Deadline,
    progress: ProgressHook | None,
) -> SourceResult:
    try:
        r = await fetch_numbers(
            provider,
            http,
            parse,
            staging,
            workers=workers,
            max_pages=max_pages,
            on_page=progress,
            deadline=deadline,
        )
    except StoreError:
        raise  # the store's fault, not the provider's: the run fails (``_store_failed``)
    except Exception as exc:
        # A bug of ours with one provider's data must not take the other sources down.
        log.exception("unexpected error while listing %s", provider.key)
        r = SourceResult(provider.name, provider.account.name, status="failed")
        r.error = f"unexpected error: {type(exc).__name__}: {cut(str(exc))}"
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
    return r


def configured_accounts(settings: Settings) -> list[Account]:
    """Every account to sync; a ``ConfigError`` naming the settings when there is none."""
    accounts = settings.accounts()
    if not accounts:
        raise ConfigError(
            "no source is configured: set ORGAPI_API_KEY and ORGAPI_ORGANIZATION_ID, or "
            "DIALNEXA_API_KEY (or ORGAPI_ACCOUNTS / DIALNEXA_ACCOUNTS); `syncbot demo` "
            "shows a sync without credentials"
        )
    return accounts


def check_run_settings(settings: Settings) -> None:
    """What a run needs from the settings, checked before anything is opened or created: a
    ``ConfigError`` names the first setting that is missing or wrong."""
    for account in configured_accounts(settings):
        if (problem := account.placeholder_problem()) is not None:
            raise ConfigError(problem)
    if settings.sheet_configured:
        settings.service_account_info()


def health_changes(
    before: Iterable[SourceState], after: Iterable[SourceState]
) -> dict[str, Health]:
    """Sources that started failing or recovered, from the stored states before and after a run.

    The states live in the store, so whichever process runs the next sync (a worker, a one-off
    Scheduler dyno, an admin's ``/numbers sync``) tells an outage once and its end once. A source
    failing on its first run counts as starting to fail; one no longer configured says nothing.
    """
    previous = {state.key: state.status for state in before}
    out: dict[str, Health] = {}
    for state in after:
        change = _health_change(previous.get(state.key), state.status)
        if change is not None:
            out[state.key] = change
    return out


def sheet_health_change(before: SheetState | None, result: SheetResult) -> Health | None:
    """Whether this run's sheet write started a failure or ended one (a first write that
    fails counts as starting to fail), from the state stored before it."""
    if result.status == "skipped":
        return None
    return _health_change(before.status if before else None, result.status)


def _health_change(was: str | None, now: str) -> Health | None:
    if now == "failed" and was != "failed":
        return "failing"
    if now == "ok" and was == "failed":
        return "recovered"
    return None


async def run_sync(
    settings: Settings,
    store: Store,
    *,
    options: SyncOptions | None = None,
    progress: ProgressHook | None = None,
    after_run: AfterRun | None = None,
    stop: Stop | None = None,
) -> RunResult:
    """Run one sync. Never raises for a provider, store or sheet failure: the result says it.

    Once ``stop`` is set (SIGTERM) while the run lists, the listing stops and ``Stopped`` is
    raised: nothing was committed, no source is recorded as failed, the lock is released. A
    run already past its listing commits and writes the sheet as usual.
    """
    options = options or SyncOptions()
    accounts = configured_accounts(settings)
    # One deadline for the whole run: the listing, then the commit and the sheet write get
    # what is left of it.
    seconds = settings.sync_deadline_seconds
    deadline = Deadline(asyncio.get_running_loop().time() + seconds, seconds)
    writer = None if options.dry_run else sheet_writer(settings, deadline)
    result = RunResult(started_at=utc_now(), dry_run=options.dry_run)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        acquired = await asyncio.to_thread(stack.enter_context, store.run_lock())
        if not acquired:
            return await _skipped(store, result, deadline_seconds=settings.sync_deadline_seconds)
        staging = await asyncio.to_thread(store.staging)
        stack.callback(staging.close)
        workers = Workers(after=options.worker_after)
        stack.callback(workers.close)
        # Read under the lock: no other run can change the states between this and the commit.
        health_before = await asyncio.to_thread(store.source_states)
        try:
            collected = _collect(
                store,
                staging,
                workers,
                result,
                accounts=accounts,
                settings=settings,
                options=options,
                deadline=deadline,
                progress=progress,
            )
            try:
                await unless_stopped(collected, stop, what="listing")
            except Stopped:
                event(log, logging.INFO, "sync stopped", reason="signal", committed=False)
                raise
            # The worker's memory goes back before the commit and the sheet write need theirs.
            await asyncio.to_thread(workers.close)
            result.duration = time.perf_counter() - started
            result.run_id = await _commit(
                store, result, dry_run=options.dry_run, seconds=_left(deadline)
            )
        except StoreError as exc:
            _store_failed(result, exc)
        if result.run_id is not None:
            result.health = health_changes(
                health_before, await asyncio.to_thread(store.source_states)
            )
        costs = settings.costs()
        if costs.configured and result.run_id is not None:
            idle_since = result.started_at - dt.timedelta(days=IDLE_DAYS)
            tallies = await asyncio.to_thread(store.tallies, idle_since=idle_since)
            result.monthly_cost = costs.overview_of(tallies)
        if writer is not None and result.run_id is not None:
            sheet_before = await asyncio.to_thread(store.sheet_state)
            await write_run_sheet(writer, store, result)
            result.sheet_health = sheet_health_change(sheet_before, result.sheet)
            result.duration = time.perf_counter() - started
        if result.run_id is not None and (writer is not None or costs.configured):
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
    # A run stopped by SIGTERM after its commit sends no alert: the process is going down.
    if after_run is not None and result.run_id is not None and not (stop and stop.is_set()):
        try:
            await after_run(result, store.iter_changes(result.run_id))
        except Exception:
            log.exception("the after-sync hook failed")
    return result


def _store_failed(result: RunResult, error: StoreError) -> None:
    """The store refused the run's listings or its commit: the run fails as a whole, saying
    so; nothing of it is stored, so no source's health changes."""
    result.status = "failed"
    result.run_id = None
    result.message = error.message
    result.finished_at = utc_now()
    event(log, logging.ERROR, "sync failed", error=error.message)


async def _skipped(store: Store, result: RunResult, *, deadline_seconds: int) -> RunResult:
    """Another run holds the lock: skip, and fail when it has held it past all reason."""
    since = await asyncio.to_thread(store.run_lock_since)
    held = held_lock(since, deadline_seconds=deadline_seconds)
    result.finished_at = now = utc_now()
    if held is not None and held.stuck(now):
        result.status = "failed"
        result.message = held.describe(now)
        event(log, logging.ERROR, "sync skipped: the run lock is stuck", since=iso(held.since))
        return result
    result.status = "skipped"
    result.message = "another sync is running; this one did nothing"
    event(log, logging.INFO, "sync skipped", reason="another sync holds the lock")
    return result


async def _collect(
    store: Store,
    staging: Staging,
    workers: Workers,
    result: RunResult,
    *,
    accounts: Sequence[Account],
    settings: Settings,
    options: SyncOptions,
    deadline: Deadline,
    progress: ProgressHook | None,
) -> None:
    parse = PhoneParser()
    providers = [provider_for(a) for a in accounts]
    for provider in providers:
        provider.page_size = options.page_size
    connector = aiohttp.TCPConnector(limit=32)
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": f"syncbot/{__version__}"}
    ) as session:
        http = HttpClient(session, policy=options.policy)
        listed = await asyncio.gather(
            *(
                _fetch(
                    p,
                    http,
                    parse,
                    staging,
                    workers=workers,
                    max_pages=options.max_pages,
                    deadline=deadline,
                    progress=progress,
                )
                for p in providers
            ),
            return_exceptions=True,
        )
    outcomes: list[SourceResult] = []
    for outcome in listed:
        if isinstance(outcome, BaseException):
            raise outcome
        outcomes.append(outcome)
    await asyncio.to_thread(staging.settle)
    guard_removals(
        outcomes,
        await asyncio.to_thread(store.counts_by_source),
        await asyncio.to_thread(store.unlisted, staging),
        max_percent=settings.sync_max_removal_percent,
        allow=options.allow_removals,
    )
    for outcome in outcomes:
        if outcome.status == "ok" and outcome.unconfirmed:
            outcome.warnings.append(
                f"{outcome.unconfirmed:,} stored numbers were not in this listing; they are "
                "kept, unconfirmed, with their history"
            )
            event(
                log,
                logging.WARNING,
                "numbers unconfirmed",
                source=outcome.key,
                count=outcome.unconfirmed,
            )
    result.phones_parsed = parse.parsed
    result.sources = {r.key: r for r in outcomes}
    result.finished_at = utc_now()
    result.settle()


def _left(deadline: Deadline) -> float:
    """The seconds the commit may take: what the deadline leaves, but never less than the
    floor that lets a run whose listing used it all still record its outcome."""
    return max(deadline.at - asyncio.get_running_loop().time(), COMMIT_FLOOR_SECONDS)


async def _commit(store: Store, result: RunResult, *, dry_run: bool, seconds: float) -> int | None:
    """Commit in a thread that cancellation cannot abandon: a cancelled run (SIGTERM) waits
    for its transaction to end, committed or rolled back, before the run lock is released.

    The store works out the run's changes and totals; a dry run gets them and stores nothing.
    """
    commit = asyncio.ensure_future(
        asyncio.to_thread(store.commit_run, result, dry_run=dry_run, seconds=seconds)
    )
    try:
        return await asyncio.shield(commit)
    except asyncio.CancelledError:
        await asyncio.wait({commit})
        raise
