"""The commands behind ``syncbot``: thin shells over the library."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from syncbot.cli.progress import Progress
from syncbot.cli.render import answer_text, sync_summary
from syncbot.errors import NoStoreError, SyncbotError
from syncbot.followups import FollowUpBook
from syncbot.models import RunResult, utc_now
from syncbot.query import answer, load_snapshot, parse
from syncbot.runlock import held_lock
from syncbot.settings import Settings, load_settings
from syncbot.stopping import GRACE_SECONDS, Stop, Stopped, within_grace
from syncbot.store import Store, open_store, urls
from syncbot.store.sql import SqlStore
from syncbot.sync import AfterRun, SyncOptions, check_run_settings, run_sync


def store_label(settings: Settings) -> str:
    """Where the store is, fit to print: never the password (``syncbot.store.urls``)."""
    return urls.store_label(settings.database_url.get_secret_value())


@contextlib.contextmanager
def opened(settings: Settings, *, migrate: bool) -> Iterator[Store]:
    """The configured store; writers create it and its schema, readers require both."""
    store = open_store(settings.database_url.get_secret_value(), create=migrate)
    try:
        if migrate:
            store.migrate()
        elif isinstance(store, SqlStore) and store.schema_version() == 0:
            raise NoStoreError(
                f"no sync has run yet: the store at {store_label(settings)} is empty; run "
                "`syncbot sync` first (or point DATABASE_URL at the store your syncs write to)"
            )
        yield store
    finally:
        store.close()


def _alert_hook(settings: Settings) -> AfterRun | None:
    if settings.slack_alert_channel is None:
        return None
    from syncbot.slack import alert_hook  # noqa: PLC0415 - slack_sdk loads only for alerts

    return alert_hook(settings)


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


async def _sync(
    settings: Settings, store: Store, *, options: SyncOptions, progress: Progress, stop: Stop
) -> RunResult:
    stop.install()
    run = asyncio.create_task(
        run_sync(
            settings,
            store,
            options=options,
            progress=progress.update,
            after_run=_alert_hook(settings),
            stop=stop,
        )
    )
    try:
        await within_grace(run, stop, grace=GRACE_SECONDS)
        if run.cancelled():
            raise Stopped("stopped by a signal, and the run did not end within its grace period")
        return run.result()
    finally:
        progress.done()


def cmd_sync(args: argparse.Namespace) -> int:
    # A one-off process: the cyclic collector would walk the run's 100,000 fresh records again
    # and again (over a second of CPU per 100,000 numbers, measured) for garbage that reference
    # counting frees anyway; the process ends with the run.
    gc.disable()
    settings = load_settings()
    # A sync that cannot start leaves no empty store behind.
    check_run_settings(settings)
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty() and not args.json)
    stop = Stop()
    with opened(settings, migrate=True) as store:
        options = SyncOptions(dry_run=args.dry_run, allow_removals=args.allow_removals)
        try:
            result = asyncio.run(
                _sync(settings, store, options=options, progress=progress, stop=stop)
            )
        except Stopped as exc:
            exc.exit_code = stop.exit_code
            raise
        finally:
            if stop.is_set():
                stop.ignore_more()
    if args.json:
        print_json(result.to_dict())
    else:
        print(sync_summary(result, store_label=store_label(settings)))
    # Stopped after its commit: the run is stored (and printed), the process still says why
    # it ended.
    return stop.exit_code if stop.is_set() else result.exit_code


def cmd_query(args: argparse.Namespace) -> int:
    query = parse(" ".join(args.words))
    settings = load_settings()
    now = utc_now()
    with opened(settings, migrate=False) as store:
        snapshot = load_snapshot(store)
        history = store.changes_since(now - query.window) if query.window else []
        lock = held_lock(store.run_lock_since(), deadline_seconds=settings.sync_deadline_seconds)
        followups = store.followups()
    found = answer(
        query,
        snapshot,
        now=now,
        interval_seconds=settings.sync_interval_seconds,
        history=history,
        costs=settings.costs(),
        lock=lock,
        followups=followups,
        asker=args.user,
        sheet_configured=settings.sheet_configured,
    )
    if args.json:
        print_json(found.to_dict())
    else:
        print(answer_text(found))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    del args
    settings = load_settings()
    store = open_store(settings.database_url.get_secret_value())
    try:
        version = store.migrate()
    finally:
        store.close()
    print(f"Store schema at version {version} ({store_label(settings)}).")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from syncbot.sheets import write_csv  # noqa: PLC0415 - gspread loads only when needed

    settings = load_settings()
    with opened(settings, migrate=False) as store:
        numbers = store.load_numbers()
        followups = FollowUpBook(today=utc_now().date(), followups=store.followups())
    if args.csv == "-":
        write_csv(numbers, sys.stdout, costs=settings.costs(), followups=followups)
        return 0
    path = Path(args.csv)
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            rows = write_csv(numbers, out, costs=settings.costs(), followups=followups)
    except OSError as exc:
        raise SyncbotError(f"cannot write {path}: {exc.strerror or exc}") from None
    print(f"Wrote {rows:,} numbers to {path}.", file=sys.stderr)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from syncbot.worker import run_worker  # noqa: PLC0415 - only the worker dyno needs it

    del args
    settings = load_settings()
    check_run_settings(settings)
    stop = Stop()

    async def work(store: Store) -> None:
        stop.install()
        await run_worker(settings, store, stop=stop, after_run=_alert_hook(settings))

    try:
        with opened(settings, migrate=True) as store:
            asyncio.run(work(store))
    finally:
        stop.ignore_more()
    if stop.signal == signal.SIGINT:
        # Ctrl-C, after the same clean stop as SIGTERM's: told as every command's Ctrl-C (130).
        raise KeyboardInterrupt
    return stop.exit_code


def cmd_serve(args: argparse.Namespace) -> int:
    from syncbot.slack import serve  # noqa: PLC0415 - slack-bolt loads only for the web dyno
    from syncbot.slack.config import require_settings  # noqa: PLC0415 - as above

    del args
    settings = load_settings()
    # A serve that cannot start leaves no store behind.
    require_settings(settings)
    with opened(settings, migrate=True) as store:
        interrupted = serve(settings, store)
    if interrupted:
        # Ctrl-C, after a clean shutdown: told as every command's Ctrl-C (130).
        raise KeyboardInterrupt
    return 0
