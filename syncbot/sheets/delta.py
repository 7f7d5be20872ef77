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

Nothing here holds the whole Inventory: the rows read and wanted are in the write's scratch
file (``scratch``), the plan is made by its joins, and the units are made as they are sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from syncbot.errors import SheetError
from syncbot.models import Key
from syncbot.sheets import ops
from syncbot.sheets.existing import Value, column_letter, display
from syncbot.sheets.layout import INVENTORY_HEADER, KEY_COLUMNS, Cell
from syncbot.sheets.reading import Reading
from syncbot.sheets.scratch import DUPLICATE, GONE, Scratch, decode, unpack

# Empty columns kept right of the last used one, so people can type a new column's header.
ROOM = 5
# Rows out of syncbot's order that still leave the tab in it (see ``_fresh_anchors``).
_OUT_OF_PLACE = 2
# A new row gets its own formats: none, whatever its neighbour wears.
_NEW_ROW_FIELDS = "userEnteredValue,userEnteredFormat"


@dataclass(frozen=True, slots=True)
class Unit:
    """Requests that go into the same call: together they keep every number whole.
    ``deletes``: the rows ``[start, end)`` as read that the unit deletes."""

    requests: list[bytes]
    deletes: tuple[int, int] | None = None

    @property
    def size(self) -> int:
        return sum(len(r) + 1 for r in self.requests)


@dataclass(slots=True)
class Delta:
    structure: list[bytes]
    # Made as they are packed into calls; ``has_units`` says whether there are any.
    units: Iterator[Unit]
    has_units: bool
    # What people wrote on each deleted row, as (column header, text), for ``Changes``, and
    # whether the row was a second row of a number that has one.
    removed: list[tuple[Key, list[tuple[str, str]], bool]]
    # Where the key columns are once the write is done.
    key_cols: tuple[int, int, int]
    # Where each managed column is once the write is done, in ``INVENTORY_HEADER`` order.
    managed: list[int]
    rows: int
    cols: int
    scratch: Scratch

    def expected(self) -> Iterator[Key]:
        """Every data row's key once the write is done, top to bottom."""
        return (key for _, _, key in self.scratch.layout())


def plan_delta(reading: Reading, *, unit_budget: int) -> Delta:
    if reading.problem is not None or reading.columns is None:
        raise reading.problem or SheetError("The Inventory tab could not be read.")
    tab, scratch, columns = reading.tab, reading.scratch, reading.columns
    sheet_id = tab.sheet_id
    managed = columns.managed
    key_cols = (managed[KEY_COLUMNS[0]], managed[KEY_COLUMNS[1]], managed[KEY_COLUMNS[2]])
    header = columns.remap(list(reading.header))
    used = max(len(header), reading.longest, max(managed) + 1)
    cols = max(columns.width, used + ROOM)
    structure = list(columns.requests)
    if cols > columns.width:
        # Appended, not resized: a resize to the row count read would cut off rows people
        # added since.
        structure.append(ops.append_rows(sheet_id, cols - columns.width, dimension="COLUMNS"))

    mine = set(managed)
    theirs = [c for c in range(columns.width) if c not in mine]
    header_spans = _changed_spans(
        [_at(header, m) for m in managed], list(INVENTORY_HEADER), managed
    )
    if reading.identical and not (header_spans or structure or tab.frozen_rows >= tab.rows):
        # Every row holds its number's wanted cells in syncbot's order: nothing to place.
        return Delta(structure, iter(()), False, [], key_cols, managed, tab.rows, cols, scratch)
    reading.settle()
    scratch.place()
    deleted = scratch.count(GONE, DUPLICATE)
    fresh = _fresh_anchors(scratch)
    grid_rows = tab.rows
    # Google refuses to delete every row under the frozen ones: keep one to spare.
    spare = tab.frozen_rows + 1 - (grid_rows - deleted)
    if spare > 0:
        structure.append(ops.append_rows(sheet_id, spare))
        grid_rows += spare
    shape = _Shape(sheet_id, managed, cols, unit_budget)
    changed = scratch.changed()
    first_change = next(changed, None)
    has_units = bool(header_spans or deleted or fresh or first_change is not None)

    def units() -> Iterator[Unit]:
        if header_spans:
            yield Unit(_span_requests(sheet_id, 0, header_spans, [header_spans]))
        yield from _deletions(sheet_id, scratch.deleted())
        yield from _insertions(shape, scratch, grid_rows - deleted)
        if first_change is not None:
            yield from _updates(shape, scratch, itertools.chain([first_change], changed))

    removed = [
        (key, _labels(header, decode(people), theirs), duplicate)
        for key, people, duplicate in scratch.removed()
    ]
    return Delta(
        structure,
        units(),
        has_units,
        [entry for entry in removed if entry[1]],
        key_cols,
        managed,
        grid_rows - deleted + fresh,
        cols,
        scratch,
    )


def _at(row: Sequence[Value], c: int) -> Value:
    return row[c] if c < len(row) else ""


def _fresh_anchors(scratch: Scratch) -> int:
    """Place the new numbers' rows; returns how many there are.

    A number whose phone number changed sorts elsewhere now but keeps its row: a few rows
    out of place still mean syncbot's order, and new rows go under the number before them
    in it; people's own sort leaves half of them out of place, and new rows go under the
    data.
    """
    descents = kept = 0
    previous = -1
    for d in scratch.kept_order():
        descents += previous > d
        previous = d
        kept += 1
    if descents > max(_OUT_OF_PLACE, kept // 100):
        return scratch.place_fresh(below=scratch.last_filled_survivor())
    return scratch.place_fresh(below=None)


@dataclass(frozen=True, slots=True)
class _Shape:
    sheet_id: int
    managed: Sequence[int]
    cols: int
    budget: int


def _deletions(sheet_id: int, bottom_up: Iterable[int]) -> Iterator[Unit]:
    """Each run of rows to delete, the lowest run first (so the others keep their indices)."""
    run: list[int] = []
    for i in itertools.chain(bottom_up, [-2]):
        if run and i == run[0] - 1:
            run[0] = i
            continue
        if run:
            start, end = run[0], run[1]
            yield Unit(
                [ops.delete_dimension(sheet_id, "ROWS", start + 1, end + 1)], deletes=(start, end)
            )
        run = [i, i + 1]


def _insertions(shape: _Shape, scratch: Scratch, grid_rows: int) -> Iterator[Unit]:
    """Each run of new rows: inserted where it goes, its cells written in the same unit."""
    cells = scratch.fresh_rows()
    pending: list[bytes] = []
    size = 0
    at = 0

    def unit() -> Unit:
        nonlocal grid_rows
        count = len(pending)
        insert = ops.insert_rows(shape.sheet_id, at, count, after_last=at == grid_rows)
        body = ops.update_cells(
            shape.sheet_id, (at, at + count), (0, shape.cols), pending, fields=_NEW_ROW_FIELDS
        )
        grid_rows += count
        return Unit([insert, body])

    for f, (i, d, _) in enumerate(scratch.layout()):
        if i >= 0:
            if pending:
                yield unit()
                pending, size = [], 0
            continue
        found_d, wanted, people = next(cells)
        assert found_d == d, "fresh rows and the layout disagree"
        row = _new_row(unpack(wanted), people, shape.managed)
        if pending and size + len(row) + 1 > shape.budget:
            yield unit()
            pending, size = [], 0
        if not pending:
            at = f + 1
        pending.append(row)
        size += len(row) + 1
    if pending:
        yield unit()


def _new_row(cells: Sequence[Cell], people: str | None, managed: Sequence[int]) -> bytes:
    row: list[dict[str, Any]] = [{}] * (max(managed) + 1)
    for h, value in enumerate(cells):
        row[managed[h]] = ops.ours(value)
    for c, value in decode(people) if people is not None else ():
        row += [{}] * (c + 1 - len(row))
        row[c] = ops.kept(value)
    return ops.row_json(row)


Spans = list[tuple[int, list[Cell]]]


def _changed_spans(old: Sequence[Value], new: Sequence[Cell], managed: Sequence[int]) -> Spans:
    """The managed cells of a row whose values differ (``old`` and ``new`` in header order),
    as runs of adjacent columns."""
    changed = sorted((managed[h], value) for h, value in enumerate(new) if old[h] != value)
    spans: Spans = []
    for column, value in changed:
        if spans and spans[-1][0] + len(spans[-1][1]) == column:
            spans[-1][1].append(value)
        else:
            spans.append((column, [value]))
    return spans


def _updates(
    shape: _Shape, scratch: Scratch, changed: Iterator[tuple[int, bytes, bytes]]
) -> Iterator[Unit]:
    """One ``updateCells`` per span for each block of consecutive rows whose changed columns
    are the same (a source turning stale changes one column of all its rows)."""
    block: list[Spans] = []
    start = size = 0
    upcoming = next(changed, None)
    for f, (i, _, _) in enumerate(scratch.layout()):
        if upcoming is None:
            break
        if i != upcoming[0]:
            continue
        spans = _changed_spans(unpack(upcoming[1]), unpack(upcoming[2]), shape.managed)
        upcoming = next(changed, None)
        if not spans:
            continue
        row_size = sum(len(ops.plain_row(v)) for _, v in spans) + 1
        joins = block and start + len(block) == f and _same(block[0], spans)
        if block and (not joins or size + row_size > shape.budget):
            yield Unit(_span_requests(shape.sheet_id, start + 1, block[0], block))
            block, size = [], 0
        if not block:
            start = f
        block.append(spans)
        size += row_size
    if block:
        yield Unit(_span_requests(shape.sheet_id, start + 1, block[0], block))


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
    header: Sequence[Value], people: Sequence[tuple[int, Value]], theirs: Sequence[int]
) -> list[tuple[str, str]]:
    """People's non-empty cells of a row as (column header, text)."""
    mine = set(theirs)
    pairs = []
    for c, value in people:
        if c in mine and value != "":
            name = display(header[c]) if c < len(header) else ""
            pairs.append((name or f"column {column_letter(c)}", display(value)))
    return pairs
