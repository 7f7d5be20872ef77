"""``syncbot forget``: a source or account the settings no longer name leaves the store (and
the sheet), after a confirmation.

A sync keeps the numbers of a source it was not asked to list, marked stale, in case it comes
back; this is how they go for good, each recorded as removed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from syncbot.cli.commands import opened
from syncbot.errors import ConfigError, SyncbotError
from syncbot.models import RunResult, SheetResult, utc_now
from syncbot.query import counted
from syncbot.settings import Settings, load_settings
from syncbot.sheet_step import write_sheet
from syncbot.store import Store


def _confirmed(question: str) -> bool:
    print(question, end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def _chosen(store: Store, source: str, account: str | None) -> tuple[list[str], dict[str, int]]:
    """The ``source/account`` keys the store knows, and how many numbers each one the target
    names has."""
    counts = Counter(n.source_key for n in store.load_numbers())
    known = sorted(counts.keys() | {s.key for s in store.source_states()})
    chosen = {
        key: counts[key]
        for key in known
        if key.split("/", 1)[0] == source and (account is None or key == f"{source}/{account}")
    }
    return known, chosen


def _write_sheet(settings: Settings, store: Store, result: RunResult) -> None:
    from syncbot.sheets import SheetWriter  # noqa: PLC0415 - gspread loads only when a sheet is set

    assert result.run_id is not None
    try:
        run_id = result.run_id
        result.sheet = write_sheet(
            SheetWriter(settings),
            store,
            inventory=store.inventory_batches(),
            changes=lambda: store.iter_changes(run_id),
            run=result,
        )
    except SyncbotError as exc:
        result.sheet = SheetResult(status="failed", error=exc.message)
    store.update_run(result.run_id, result)


def cmd_forget(args: argparse.Namespace) -> int:
    settings = load_settings()
    source, _, account = args.target.partition("/")
    with opened(settings, migrate=False) as store:
        known, chosen = _chosen(store, source, account or None)
        if not chosen:
            raise SyncbotError(
                f"nothing to forget: the store has no {args.target}; it has "
                f"{', '.join(known) or 'no source yet'}"
            )
        configured = sorted({a.key for a in settings.accounts()} & set(chosen))
        if configured:
            raise ConfigError(
                f"{', '.join(configured)} is still configured, so the next sync would list it "
                "again: remove it from the settings first"
            )
        count = sum(chosen.values())
        what = ", ".join(chosen)
        where = "the store and the sheet" if settings.sheet_configured else "the store"
        question = (
            f"Forget {what}? Its {counted(count, 'number')} leave {where}, each recorded as "
            "removed in Changes. [y/N] "
        )
        if not args.yes and not _confirmed(question):
            print("Nothing forgotten.", file=sys.stderr)
            return 1
        now = utc_now()
        result = RunResult(started_at=now, finished_at=now, message=f"forgot {what}")
        with store.run_lock() as acquired:
            if not acquired:
                raise SyncbotError("a sync is running: try again once it has finished")
            store.forget(source, account or None, result)
            if settings.sheet_configured:
                _write_sheet(settings, store, result)
    print(f"Forgot {what}: {counted(count, 'number')} removed (run {result.run_id}).")
    if result.sheet.status == "failed":
        print(
            f"The sheet was not written ({result.sheet.error}); the next sync writes it.",
            file=sys.stderr,
        )
        return 1
    return 0
