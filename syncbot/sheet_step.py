"""A sync's sheet step: the writer for a run, what the store adds to its write (follow-ups,
headers never written to this spreadsheet), and the write of a committed run.

Apart from ``sync``, which lists and commits: gspread loads only when a sheet is configured,
and ``syncbot forget`` writes the sheet the same way without a sync.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from syncbot.errors import SyncbotError
from syncbot.followups import FollowUpBook
from syncbot.logs import event
from syncbot.models import Change, RunResult, SheetResult, utc_now
from syncbot.providers import Deadline
from syncbot.settings import Settings
from syncbot.store import Store
from syncbot.store.base import InventoryStream

if TYPE_CHECKING:
    from syncbot.sheets import SheetWriter

log = logging.getLogger(__name__)

# What a sheet write takes: the inventory as a stream, a function giving the run's changes as
# one, the run, and the store (for the follow-ups and which managed columns the sheet has had:
# ``sheet_extras``).
SheetWrite = Callable[
    [InventoryStream, Callable[[], Iterable[Change]], RunResult, Store], SheetResult
]


@dataclass(frozen=True, slots=True)
class SheetExtras:
    """The store's part of a sheet write beside the inventory: the follow-ups and the managed
    headers never written to this spreadsheet before (``Store.sheet_columns``)."""

    followups: FollowUpBook
    fresh_columns: frozenset[str]
    # The newest action the write puts in Changes (``RunResult.followup_actions_through``).
    actions_through: int | None


def sheet_writer(settings: Settings, deadline: Deadline) -> SheetWrite | None:
    """The sheet write of a run that ends by ``deadline``; None without a sheet configured."""
    if not settings.sheet_configured:
        return None
    from syncbot.sheets import SheetWriter  # noqa: PLC0415 - gspread loads only when a sheet is set

    writer = SheetWriter(settings)
    # The event loop's clock is time.monotonic(), which the writer's thread reads.
    writer.limit(deadline.at, seconds=deadline.seconds)

    def write(
        inventory: InventoryStream,
        changes: Callable[[], Iterable[Change]],
        run: RunResult,
        store: Store,
    ) -> SheetResult:
        return write_sheet(writer, store, inventory=inventory, changes=changes, run=run)

    return write


def write_sheet(
    writer: SheetWriter,
    store: Store,
    *,
    inventory: InventoryStream,
    changes: Callable[[], Iterable[Change]],
    run: RunResult,
) -> SheetResult:
    """``writer.write`` with what the store adds (``sheet_extras``); once written, the
    spreadsheet's managed columns are recorded as syncbot's."""
    from syncbot.sheets.layout import LATER_HEADERS  # noqa: PLC0415 - as above

    extras = sheet_extras(store, run, spreadsheet=writer.key)
    written = writer.write(
        inventory=inventory,
        changes=changes,
        run=run,
        followups=extras.followups,
        fresh_columns=extras.fresh_columns,
    )
    store.add_sheet_columns(writer.key, LATER_HEADERS)
    run.followup_actions_through = extras.actions_through
    return written


def sheet_extras(store: Store, result: RunResult, *, spreadsheet: str | None = None) -> SheetExtras:
    """What the store adds to ``result``'s sheet write: the follow-ups as of now, the actions
    no earlier write put in Changes, and (for ``spreadsheet``) the later managed headers not
    yet written there."""
    # Runs are minutes apart, so a few cover a sheet that failed for a while.
    through = next(
        (
            r.result["followup_actions_through"]
            for r in store.recent_runs(50)
            if r.run_id != result.run_id and r.result.get("followup_actions_through") is not None
        ),
        None,
    )
    book = FollowUpBook(
        today=utc_now().date(),
        followups=store.followups(),
        actions=store.followup_actions(after_id=through),
    )
    through = max((a.action_id for a in book.actions), default=through)
    from syncbot.sheets.layout import LATER_HEADERS  # noqa: PLC0415 - as above

    fresh = LATER_HEADERS - store.sheet_columns(spreadsheet) if spreadsheet else frozenset()
    return SheetExtras(book, fresh, through)


def _previous_warning(store: Store, run_id: int) -> str | None:
    """The cell-limit warning of the run before ``run_id``'s sheet write, if it had one."""
    for run in store.recent_runs(2):
        if run.run_id != run_id:
            warning = (run.result.get("sheet") or {}).get("warning")
            return None if warning is None else str(warning)
    return None


async def write_run_sheet(writer: SheetWrite, store: Store, result: RunResult) -> None:
    """Write ``result``'s committed run to the sheet in a worker thread; the outcome, the
    cell-limit warning's change and the run's end go into ``result`` (a failure included)."""
    assert result.run_id is not None
    run_id = result.run_id

    def write() -> SheetResult:
        return writer(store.inventory_batches(), lambda: store.iter_changes(run_id), result, store)

    try:
        result.sheet = await asyncio.to_thread(write)
    except SyncbotError as exc:
        result.sheet = SheetResult(status="failed", error=exc.message)
    except Exception as exc:
        log.exception("unexpected error while writing the sheet")
        result.sheet = SheetResult(status="failed", error=f"unexpected error: {exc}")
    if result.sheet.status == "failed":
        event(log, logging.ERROR, "sheet failed", error=result.sheet.error)
    elif result.sheet.status == "ok":
        before = await asyncio.to_thread(_previous_warning, store, run_id)
        result.sheet.warning_changed = (before is None) != (result.sheet.warning is None)
    result.finished_at = utc_now()
    result.settle()
