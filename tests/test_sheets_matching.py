"""An unchanged Inventory is compared row for row, not copied (issue 17's CPU target).

While the rows read hold the wanted numbers in syncbot's order with their wanted cells, the
read only counts them; the first row that differs makes the read keep every row, the ones
matched before it included, exactly as a row-by-row read would have kept them (people's cells
too), so the plan's joins see the whole tab.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from syncbot.costs import CostRules
from syncbot.models import Key
from syncbot.sandbox.sheets.kit import phone_number
from syncbot.sheets.delta import plan_delta
from syncbot.sheets.existing import Tab, Value
from syncbot.sheets.layout import INVENTORY_HEADER, inventory_rows
from syncbot.sheets.reading import Reading, desired
from syncbot.sheets.scratch import Scratch
from syncbot.store.base import InventoryBatch

WIDTH = len(INVENTORY_HEADER)
NOW = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
NUMBERS = [phone_number(i) for i in range(1, 61)]
LABEL = INVENTORY_HEADER.index("Label")
NUMBER_ID = INVENTORY_HEADER.index("Number ID")


def as_read(cells: Sequence[Value]) -> list[Value]:
    """A row as Google returns it: JSON values, empty cells at the end left out."""
    row: list[Value] = json.loads(json.dumps(list(cells)))
    while row and row[-1] == "":
        row.pop()
    return row


def the_sheet() -> list[list[Value]]:
    """Every number's row as syncbot wrote it, people's notes in their column on two rows."""
    wanted = inventory_rows(InventoryBatch.of(NUMBERS), [None] * len(NUMBERS), [""] * len(NUMBERS))
    rows = [as_read(cells) for cells in wanted]
    for i in (2, 41):
        rows[i] = rows[i] + [""] * (WIDTH - len(rows[i])) + [f"call Ana about {i}"]
    return rows


def read(scratch: Scratch, rows: list[list[Value]], *, window: int = 16) -> Reading:
    desired(NUMBERS, CostRules(), now=NOW, scratch=scratch)
    tab = Tab(7, "Inventory", len(rows) + 1, WIDTH + 5)
    reading = Reading(tab, list(INVENTORY_HEADER), scratch)
    for start in range(0, len(rows), window):
        reading.add(rows[start : start + window])
    reading.finish()
    return reading


def kept(scratch: Scratch) -> list[tuple[int, Key, int, str | None, int]]:
    return [
        (i, (source, account, number_id), digest, theirs, filled)
        for i, source, account, number_id, digest, theirs, filled in scratch.db.execute(
            "SELECT i, source, account, number_id, digest, theirs, filled FROM sheet ORDER BY i"
        )
    ]


def row_by_row(rows: list[list[Value]]) -> list[tuple[int, Key, int, str | None, int]]:
    """What a read keeping each row would hold: key, digest of the managed cells, people's
    cells as (column, value) JSON, whether the row holds a value."""
    out = []
    for i, row in enumerate(rows):
        mine = (row + [""] * WIDTH)[:WIDTH]
        key = (str(mine[4]), str(mine[5]), str(mine[6]))
        theirs = [[c, row[c]] for c in range(WIDTH, len(row)) if row[c] != ""]
        people = json.dumps(theirs, separators=(",", ":")) if theirs else None
        out.append((i, key, hash(tuple(mine)), people, int(any(v != "" for v in row))))
    return out


def test_an_unchanged_inventory_is_only_compared_and_plans_nothing() -> None:
    rows = [*the_sheet(), [], [], [""] * 3]
    with Scratch() as scratch:
        reading = read(scratch, rows)
        assert reading.identical
        assert reading.rows == len(rows)
        assert reading.filled == len(NUMBERS)
        assert kept(scratch) == []
        delta = plan_delta(reading, unit_budget=1_000_000)
        assert not delta.has_units
        assert delta.rows == len(rows) + 1


def test_a_read_that_stops_matching_keeps_every_row_as_a_row_by_row_read_would() -> None:
    rows = the_sheet()
    rows[37][LABEL] = "a person edited this label"
    rows.insert(50, ["", "", "", "a row a person typed"])
    rows += [[], []]
    with Scratch() as scratch:
        reading = read(scratch, rows)
        assert not reading.identical
        assert kept(scratch) == row_by_row(rows)
        people = scratch.db.execute("SELECT number_id, theirs FROM people ORDER BY 1").fetchall()
        assert people == [
            ("pn_0000003", '[[20,"call Ana about 2"]]'),
            ("pn_0000042", '[[20,"call Ana about 41"]]'),
        ]
        scratch.place()
        assert [i for i, _, _ in scratch.changed()] == [37]


def test_blank_rows_then_a_value_past_the_last_number_are_kept_where_they_are() -> None:
    rows = [*the_sheet(), [], [""], ["", "", "", "", "", "", "", "", "", "", "", "", "", "x"]]
    with Scratch() as scratch:
        reading = read(scratch, rows, window=7)
        assert not reading.identical
        assert kept(scratch) == row_by_row(rows)


def test_a_new_number_at_the_end_and_a_renamed_id_are_not_taken_as_unchanged() -> None:
    with Scratch() as scratch:
        reading = read(scratch, the_sheet()[:-1])
        assert not reading.identical
        assert kept(scratch) == row_by_row(the_sheet()[:-1])
    rows = the_sheet()
    rows[10][NUMBER_ID] = "pn_renamed"
    with Scratch() as scratch:
        reading = read(scratch, rows)
        assert not reading.identical
        assert kept(scratch) == row_by_row(rows)
