"""The cells of one write: the new Inventory with people's columns, and this run's Changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from syncbot.models import Change, ChangeKind, PhoneNumber, iso
from syncbot.sheets import layout
from syncbot.sheets.existing import OldInventory, Value

CHANGES_PER_RUN = 1_000


@dataclass(frozen=True, slots=True)
class InventoryGrid:
    """Row 0 is the header; each row is the managed text, then people's cells for that number."""

    rows: list[tuple[list[str], tuple[Value, ...]]]
    cols: int


def inventory_grid(old: OldInventory, inventory: Sequence[PhoneNumber]) -> InventoryGrid:
    width = old.width
    headers: tuple[Value, ...] = (*old.headers, *[""] * (width - len(old.headers)))
    blank: tuple[Value, ...] = ("",) * width
    rows = [(list(layout.INVENTORY_HEADER), headers)]
    for number in inventory:
        kept = old.by_key.get(number.key)
        managed = [layout.cut(value) for value in layout.inventory_row(number)]
        rows.append((managed, kept.extras if kept is not None else blank))
    return InventoryGrid(rows, len(layout.INVENTORY_HEADER) + width)


def change_lines(
    old: OldInventory,
    inventory: Sequence[PhoneNumber],
    changes: Sequence[Change],
    *,
    run_id: int | None,
    now: dt.datetime,
) -> list[list[str]]:
    """This run's Changes rows, led by those that keep what people wrote on a removed row.

    Every Inventory row that will not be rewritten and holds people's cells gets a line, even
    without a matching change (a sheet out of step with the store, a duplicated row), so that
    nothing people wrote disappears without a trace.
    """
    present = {number.key for number in inventory}
    removed = {c.key: c for c in changes if c.kind is ChangeKind.REMOVED}
    used: set[int] = set()
    with_notes: list[list[str]] = []
    for row in old.rows:
        if not row.has_notes or (row.key in present and old.by_key[row.key] is row):
            continue
        notes = layout.notes_text(old.notes(row))
        change = removed.get(row.key)
        if change is not None and id(change) not in used:
            used.add(id(change))
            with_notes.append(layout.change_row(change, notes=notes))
            continue
        reason = "duplicate row" if row.key in present else "removed"
        if not any(row.key):
            reason = "row without a number"
        with_notes.append(layout.dropped_row(now, run_id, row.key, reason, notes))
    rest = [c for c in changes if id(c) not in used]
    room = max(CHANGES_PER_RUN - len(with_notes), 0)
    lines = with_notes + [layout.change_row(c) for c in rest[:room]]
    if len(rest) > room:
        # A first sync of thousands of numbers would bury the tab; the store keeps them all.
        note = f"{len(rest) - room} more changes of this run: run `syncbot query changes`"
        run = "" if run_id is None else str(run_id)
        lines.append([iso(now) or "", run, "more", *([""] * 7), note])
    return [[layout.cut(value) for value in line] for line in lines]
