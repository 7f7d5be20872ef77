"""The Inventory's row-stable delta: rows only ever move by insertion and deletion.

Each number's row is found by its key (Source, Account, Number ID) wherever people put it.
Gone numbers' rows are deleted, bottom up; new numbers' rows are inserted at their sorted
place while the tab is still in syncbot's order, at the end of the data once people sorted it
otherwise; of the other rows only the managed cells whose values changed are written, values
only, so formats, notes and people's columns stay where they are.

The edits come as units (a run of deletions, a run of insertions with their cells, a block of
updated rows) whose indices are computed against the sheet as the units before them leave
it, so they may be sent in as many calls as the request budget needs: after each, every
number has exactly one row, holding either its old cells or its new ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbot.costs import CostRules
from syncbot.errors import SheetError
from syncbot.followups import FollowUpAction, FollowUpBook
from syncbot.models import Key, PhoneNumber
from syncbot.sheets import ops
from syncbot.sheets.existing import OldInventory, Value, column_letter, display, row_key
from syncbot.sheets.layout import (
    INVENTORY_HEADER,
    KEY_COLUMNS,
    RETIRED_HEADERS,
    Cell,
    inventory_cells,
)
from syncbot.sheets.summary import FollowUpTally, SummaryTally
from syncbot.sheets.summary_costs import CostTally

# Empty columns kept right of the last used one, so people can type a new column's header.
ROOM = 5
_WIDTH = len(INVENTORY_HEADER)
# Rows out of syncbot's order that still leave the tab in it (see ``_final_layout``).
_OUT_OF_PLACE = 2
# A new row gets its own formats: none, whatever its neighbour wears.
_NEW_ROW_FIELDS = "userEnteredValue,userEnteredFormat"


@dataclass(slots=True)
class Desired:
    """The Inventory a sync wants: each number's key and managed cells, in syncbot's order."""

    keys: list[Key] = field(default_factory=list)
    cells: list[list[Cell]] = field(default_factory=list)
    summary: SummaryTally = field(default_factory=SummaryTally)
    # What people did on follow-ups since the previous write, for ``Changes``.
    actions: Sequence[FollowUpAction] = ()
    # Managed headers syncbot never wrote to this sheet: a column found there under one of
    # these names is people's, and syncbot inserts its own.
    fresh_columns: frozenset[str] = frozenset()


def desired(
    inventory: Iterable[PhoneNumber],
    costs: CostRules,
    *,
    now: dt.datetime,
    followups: FollowUpBook | None = None,
    fresh_columns: frozenset[str] = frozenset(),
) -> Desired:
    """Walk the inventory once (it may be a stream): its rows and the Summary's counts (and
    money, when ``costs`` has rules; ``now`` tells which numbers have been idle long; and who
    is on the unassigned ones, with ``followups``)."""
    want = Desired(fresh_columns=fresh_columns)
    if costs.configured:
        want.summary.costs = CostTally(costs.currency, now)
    if followups is not None:
        want.summary.followups = FollowUpTally()
        want.actions = followups.actions
    for number in inventory:
        price = costs.monthly(number)
        want.keys.append(number.key)
        state = followups.state(number) if followups is not None else None
        text = followups.text(number) if followups is not None else ""
        want.cells.append(inventory_cells(number, price, text))
        want.summary.add(number, price)
        if state is not None and want.summary.followups is not None:
            want.summary.followups.add(number, state, price)
    return want


@dataclass(frozen=True, slots=True)
class Unit:
    """Requests that go into the same call: together they keep every number whole."""

    requests: list[bytes]

    @property
    def size(self) -> int:
        return sum(len(r) + 1 for r in self.requests)


@dataclass(frozen=True, slots=True)
class Delta:
    structure: list[bytes]
    units: list[Unit]
    # What people wrote on each deleted row, as (column header, text), for ``Changes``.
    removed: list[tuple[Key, list[tuple[str, str]]]]
    # Every data row's key once the write is done, and where the key columns are then.
    expected: list[Key]
    key_cols: tuple[int, int, int]
    # Where each managed column is once the write is done, in ``INVENTORY_HEADER`` order.
    managed: list[int]
    rows: int
    cols: int
    # People's cells of every number as read, by column: a repair puts them back.
    people: dict[Key, dict[int, Value]]


@dataclass(slots=True)
class _Columns:
    """Where each managed column is after retired columns go and missing ones come back."""

    managed: list[int]
    width: int
    requests: list[bytes]
    # What each column was before: its index then, or the header of a column inserted now.
    origin: list[int | str] | None

    def remap(self, row: list[Value]) -> list[Value]:
        if self.origin is None:
            return row
        moved = [row[o] if isinstance(o, int) and o < len(row) else "" for o in self.origin]
        while moved and moved[-1] == "":
            moved.pop()
        return moved


def _columns(old: OldInventory, fresh: frozenset[str]) -> _Columns:
    found: dict[str, int] = {}
    for position, name in enumerate(old.header):
        # A column named like a managed one syncbot never wrote here is people's own.
        if name not in fresh:
            found.setdefault(name, position)
    missing_keys = [INVENTORY_HEADER[c] for c in KEY_COLUMNS if INVENTORY_HEADER[c] not in found]
    if missing_keys:
        raise SheetError(
            f"The Inventory tab's row 1 has no {', '.join(missing_keys)} column, so syncbot "
            "cannot tell which row is which number; it left the sheet as it was. Put the "
            "header back (undo, or type it), or rename the tab so that syncbot starts a new one."
        )
    sheet_id = old.tab.sheet_id
    origin: list[int | str] = list(range(max(old.tab.cols, len(old.header))))
    requests = []
    for position in reversed([i for i, n in enumerate(old.header) if n in RETIRED_HEADERS]):
        requests.append(ops.delete_dimension(sheet_id, "COLUMNS", position, position + 1))
        del origin[position]
    previous: int | str | None = None
    for name in INVENTORY_HEADER:
        if name not in found:
            at = origin.index(previous) + 1 if previous is not None else 0
            last = at == len(origin)
            requests.append(ops.insert_dimension(sheet_id, "COLUMNS", at, 1, inherit_before=last))
            origin.insert(at, name)
        previous = found.get(name, name)
    if not requests:
        return _Columns([found[name] for name in INVENTORY_HEADER], len(origin), [], None)
    managed = [origin.index(found.get(name, name)) for name in INVENTORY_HEADER]
    return _Columns(managed, len(origin), requests, origin)


# A data row after the write: (row as read or -1 for a new one, desired index or -1).
Placed = tuple[int, int]


def plan_delta(
    old: OldInventory,
    want: Desired,
    *,
    people: Mapping[Key, dict[int, Value]] | None = None,
    unit_budget: int,
) -> Delta:
    tab = old.tab
    sheet_id = tab.sheet_id
    columns = _columns(old, want.fresh_columns)
    managed = columns.managed
    key_cols = (managed[KEY_COLUMNS[0]], managed[KEY_COLUMNS[1]], managed[KEY_COLUMNS[2]])
    header = columns.remap(list(old.header))
    rows = [columns.remap(row) for row in old.rows] if columns.origin else old.rows
    mine = set(managed)
    theirs = [c for c in range(columns.width) if c not in mine]
    used = max([len(header), *map(len, rows), max(managed) + 1])
    cols = max(columns.width, used + ROOM)
    structure = list(columns.requests)
    if cols > columns.width:
        structure.append(ops.resize(sheet_id, tab.rows, cols))

    keys = [row_key(row, key_cols) for row in rows]
    kept = _Kept.sort(rows, keys, {key: d for d, key in enumerate(want.keys)}, theirs)
    first, deleted, survivors = kept.first, kept.deleted, kept.survivors
    layout = _final_layout(rows, survivors, first, want.keys)

    units: list[Unit] = []
    header_spans = _changed_spans(header, list(INVENTORY_HEADER), managed)
    if header_spans:
        units.append(Unit(_span_requests(sheet_id, 0, header_spans, [header_spans])))
    grid_rows = tab.rows
    # Google refuses to delete every row under the frozen ones: keep one to spare.
    spare = tab.frozen_rows + 1 - (grid_rows - len(deleted))
    if spare > 0:
        structure.append(ops.append_rows(sheet_id, spare))
        grid_rows += spare
    for start, end in reversed(_runs(deleted)):
        units.append(Unit([ops.delete_dimension(sheet_id, "ROWS", start + 1, end + 1)]))
    grid_rows -= len(deleted)
    shape = _Shape(sheet_id, managed, cols, unit_budget)
    units += _insertions(shape, layout, want, grid_rows, people or {})
    units += _updates(shape, layout, rows, want)
    removed = [(keys[i], _labels(header, rows[i], theirs)) for i in deleted]
    expected = [want.keys[d] if i < 0 else keys[i] for i, d in layout]
    return Delta(
        structure,
        units,
        [(key, notes) for key, notes in removed if notes],
        expected,
        key_cols,
        managed,
        grid_rows + len(layout) - len(survivors),
        cols,
        kept.people,
    )


@dataclass(slots=True)
class _Kept:
    """Which rows stay (the first of each wanted number, and rows without a number, which
    are people's) and which go; and people's cells of every number."""

    first: dict[Key, int] = field(default_factory=dict)
    deleted: list[int] = field(default_factory=list)
    survivors: list[Placed] = field(default_factory=list)
    people: dict[Key, dict[int, Value]] = field(default_factory=dict)

    @classmethod
    def sort(
        cls,
        rows: Sequence[list[Value]],
        keys: Sequence[Key],
        wanted_at: Mapping[Key, int],
        theirs: Sequence[int],
    ) -> _Kept:
        kept = cls()
        reach = theirs[0] if theirs else len(INVENTORY_HEADER)
        for i, (row, key) in enumerate(zip(rows, keys, strict=True)):
            if not any(key):
                kept.survivors.append((i, -1))
                continue
            if len(row) > reach:
                cells = {c: row[c] for c in theirs if c < len(row) and row[c] != ""}
                if cells:
                    kept.people.setdefault(key, cells)
            d = wanted_at.get(key, -1)
            if d < 0 or key in kept.first:
                kept.deleted.append(i)
            else:
                kept.first[key] = i
                kept.survivors.append((i, d))
        return kept


@dataclass(frozen=True, slots=True)
class _Shape:
    sheet_id: int
    managed: Sequence[int]
    cols: int
    budget: int


def _final_layout(
    rows: Sequence[list[Value]],
    survivors: Sequence[Placed],
    first: Mapping[Key, int],
    keys: Sequence[Key],
) -> list[Placed]:
    """The data rows after the write, top to bottom."""
    order = [d for _, d in survivors if d >= 0]
    # A number whose phone number changed sorts elsewhere now but keeps its row: a few rows
    # out of place still mean syncbot's order; people's own sort leaves half of them.
    descents = sum(a > b for a, b in itertools.pairwise(order))
    fresh = [(-1, d) for d, key in enumerate(keys) if key not in first]
    if descents > max(_OUT_OF_PLACE, len(order) // 100):
        # People sorted the tab their way: keep it, and add new numbers under the data.
        filled = [n for n, (i, _) in enumerate(survivors) if any(v != "" for v in rows[i])]
        cut_at = filled[-1] + 1 if filled else 0
        return [*survivors[:cut_at], *fresh, *survivors[cut_at:]]
    after: dict[int, list[Placed]] = {}
    anchor = -1
    for d, key in enumerate(keys):
        if key in first:
            anchor = first[key]
        else:
            after.setdefault(anchor, []).append((-1, d))
    layout = list(after.get(-1, []))
    for placed in survivors:
        layout.append(placed)
        layout += after.get(placed[0], [])
    return layout


def _runs(indices: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted indices as ``[start, end)`` runs of consecutive ones."""
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


def _insertions(
    shape: _Shape,
    layout: Sequence[Placed],
    want: Desired,
    grid_rows: int,
    people: Mapping[Key, dict[int, Value]],
) -> list[Unit]:
    """Each run of new rows: inserted where it goes, its cells written in the same unit."""
    units: list[Unit] = []
    position = 0
    while position < len(layout):
        if layout[position][0] >= 0:
            position += 1
            continue
        end = position
        while end < len(layout) and layout[end][0] < 0:
            end += 1
        rows = [_new_row(want, d, shape.managed, people) for _, d in layout[position:end]]
        for start, stop in ops.spans(rows, shape.budget):
            at, count = position + start + 1, stop - start
            insert = ops.insert_rows(shape.sheet_id, at, count, after_last=at == grid_rows)
            cells = ops.update_cells(
                shape.sheet_id,
                (at, at + count),
                (0, shape.cols),
                rows[start:stop],
                fields=_NEW_ROW_FIELDS,
            )
            units.append(Unit([insert, cells]))
            grid_rows += count
        position = end
    return units


def _new_row(
    want: Desired, d: int, managed: Sequence[int], people: Mapping[Key, dict[int, Value]]
) -> bytes:
    row: list[dict[str, Any]] = [{}] * (max(managed) + 1)
    for h, value in enumerate(want.cells[d]):
        row[managed[h]] = ops.ours(value)
    for c, value in people.get(want.keys[d], {}).items():
        row += [{}] * (c + 1 - len(row))
        row[c] = ops.kept(value)
    return ops.row_json(row)


Spans = list[tuple[int, list[Cell]]]


def _changed_spans(old: Sequence[Value], new: Sequence[Cell], managed: Sequence[int]) -> Spans:
    """The managed cells of a row whose values differ, as runs of adjacent columns."""
    changed = sorted(
        (managed[h], value)
        for h, value in enumerate(new)
        if (old[managed[h]] if managed[h] < len(old) else "") != value
    )
    spans: Spans = []
    for column, value in changed:
        if spans and spans[-1][0] + len(spans[-1][1]) == column:
            spans[-1][1].append(value)
        else:
            spans.append((column, [value]))
    return spans


def _updates(
    shape: _Shape, layout: Sequence[Placed], rows: Sequence[list[Value]], want: Desired
) -> list[Unit]:
    """One ``updateCells`` per span for each block of consecutive rows whose changed columns
    are the same (a source turning stale changes one column of all its rows)."""
    canonical = list(shape.managed) == list(range(_WIDTH))
    blocks: list[tuple[int, list[Spans]]] = []
    for f, (i, d) in enumerate(layout):
        if i < 0 or d < 0:
            continue
        row, new = rows[i], want.cells[d]
        if canonical:
            current = row[:_WIDTH] if len(row) >= _WIDTH else row + [""] * (_WIDTH - len(row))
            if current == new:
                continue
        spans = _changed_spans(row, new, shape.managed)
        if not spans:
            continue
        if blocks and blocks[-1][0] + len(blocks[-1][1]) == f and _same(blocks[-1][1][0], spans):
            blocks[-1][1].append(spans)
        else:
            blocks.append((f, [spans]))
    units: list[Unit] = []
    for start, per_row in blocks:
        sizes = [b"".join(ops.plain_row(v) for _, v in spans) for spans in per_row]
        for first, stop in ops.spans(sizes, shape.budget):
            part = per_row[first:stop]
            units.append(Unit(_span_requests(shape.sheet_id, start + 1 + first, part[0], part)))
    return units


def _same(a: Spans, b: Spans) -> bool:
    return [(c, len(v)) for c, v in a] == [(c, len(v)) for c, v in b]


def _span_requests(sheet_id: int, row0: int, shape: Spans, per_row: Sequence[Spans]) -> list[bytes]:
    """Each span of ``shape`` written for the rows from ``row0`` on (values only)."""
    out = []
    for s, (column, values) in enumerate(shape):
        data = [ops.plain_row(spans[s][1]) for spans in per_row]
        span = (column, column + len(values))
        out.append(ops.update_cells(sheet_id, (row0, row0 + len(per_row)), span, data))
    return out


def _labels(
    header: Sequence[Value], row: Sequence[Value], theirs: Sequence[int]
) -> list[tuple[str, str]]:
    """People's non-empty cells of ``row`` as (column header, text)."""
    pairs = []
    for c in theirs:
        if c < len(row) and row[c] != "":
            name = display(header[c]) if c < len(header) else ""
            pairs.append((name or f"column {column_letter(c)}", display(row[c])))
    return pairs
