"""Deleting a row can never hit the wrong one (issue 17): people insert, delete and sort rows
between syncbot's read and its write, and a row is deleted only while it still holds the
number being removed; a row without a key is never deleted; a row that goes without having
been planned lands in ``Changes`` with what people wrote in it.

Each case runs on a small tab (one read) and on a tab read in windows (more rows than one
window), and each failed with the writer that deleted by the index it had read.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syncbot.models import ChangeKind, PhoneNumber
from syncbot.sandbox.sheets import Cell, Workbook
from syncbot.sandbox.sheets.grid import Sheet
from syncbot.sandbox.sheets.kit import SheetsSandbox, change, run_result
from syncbot.sheets import INVENTORY_HEADER, SheetWriter, inventory_row
from tests.test_sheets_rows import OWNER, PINK, inventory, mark, numbers, rows_by_id

# (numbers, Inventory rows per read): one read, and six windows of 40 rows.
SIZES = [pytest.param(30, None, id="one-read"), pytest.param(230, 40, id="windowed")]
PHONE = INVENTORY_HEADER.index("Phone number")


def writer_for(box: SheetsSandbox, window: int | None) -> SheetWriter:
    options = {} if window is None else {"window_rows": window}
    return SheetWriter(box.settings(), retry_wait_initial=0.01, retry_wait_max=0.05, **options)


def inventory_sheet(workbook: Workbook) -> Sheet:
    sheet = workbook.sheet_by_title("Inventory")
    assert sheet is not None
    return sheet


def right_after_the_first_read(box: SheetsSandbox, edit: Callable[[Workbook], None]) -> None:
    """``edit`` the Inventory as a person would, just after the writer's first read of it:
    before whatever call comes next (a write, or another read)."""
    box.fake.before_next("spreadsheets.get", lambda workbook: None)
    box.fake.before_next("values.batchGet", lambda workbook: None)
    box.fake.before_next("*", edit)


def row_of(box: SheetsSandbox, n: PhoneNumber) -> int:
    """The 1-based sheet row holding ``n``."""
    ids = [row[INVENTORY_HEADER.index("Number ID")] for row in _values(box)]
    return ids.index(n.number_id) + 1


def _values(box: SheetsSandbox) -> list[list[str]]:
    return [row + [""] * 30 for row in box.fake.values(box.spreadsheet_id, "Inventory")]


@pytest.mark.parametrize(("size", "window"), SIZES)
def test_a_row_a_person_types_just_above_a_removed_number_is_never_deleted(
    box: SheetsSandbox, size: int, window: int | None
) -> None:
    writer = writer_for(box, window)
    before = numbers(range(size))
    writer.write(inventory=before, changes=[], run=run_result(1))
    doomed = before[size - 7]
    at = row_of(box, doomed) - 1

    def person_types_a_row(workbook: Workbook) -> None:
        sheet = inventory_sheet(workbook)
        sheet.insert("ROWS", at, 1)
        sheet.put(at, PHONE, Cell("call the carrier back"))

    right_after_the_first_read(box, person_types_a_row)
    after = [n for n in before if n != doomed]

    writer.write(inventory=after, changes=[change(ChangeKind.REMOVED, doomed)], run=run_result(2))

    assert set(rows_by_id(box)) == {n.number_id for n in after}
    assert ["call the carrier back"] in [row[:1] for row in _values(box)[1:] if not row[6]]


@pytest.mark.parametrize(("size", "window"), SIZES)
def test_a_row_a_person_deletes_above_never_shifts_a_deletion_onto_the_next_number(
    box: SheetsSandbox, size: int, window: int | None
) -> None:
    writer = writer_for(box, window)
    before = numbers(range(size))
    writer.write(inventory=before, changes=[], run=run_result(1))
    doomed, neighbour = before[size - 7], before[size - 6]
    mark(inventory(box), row_of(box, neighbour), "ana")

    def person_deletes_the_second_row(workbook: Workbook) -> None:
        inventory_sheet(workbook).delete("ROWS", 2, 3)

    right_after_the_first_read(box, person_deletes_the_second_row)
    after = [n for n in before if n != doomed]

    writer.write(inventory=after, changes=[change(ChangeKind.REMOVED, doomed)], run=run_result(2))

    rows = rows_by_id(box)
    assert set(rows) == {n.number_id for n in after}
    kept = rows[neighbour.number_id]
    assert kept[0] is not None
    assert kept[0].fmt == PINK
    assert kept[INVENTORY_HEADER.index("Label")] is not None
    assert kept[INVENTORY_HEADER.index("Label")].note == "ask ana"  # type: ignore[union-attr]
    assert kept[OWNER] == Cell("ana", fmt=PINK)


@pytest.mark.parametrize(("size", "window"), SIZES)
def test_a_sort_between_read_and_write_deletes_only_the_removed_numbers(
    box: SheetsSandbox, size: int, window: int | None
) -> None:
    writer = writer_for(box, window)
    before = numbers(range(size))
    writer.write(inventory=before, changes=[], run=run_result(1))
    worksheet = inventory(box)
    worksheet.update([["Owner"]], "U1")
    # Odd rows marked, even ones removed: in the reversed tab, each removed number's old
    # index holds a marked one.
    marked = before[1::2]
    for n in marked:
        mark(worksheet, row_of(box, n), f"owner of {n.number_id}")
    doomed = before[::6]

    def person_sorts_newest_first(workbook: Workbook) -> None:
        sheet = inventory_sheet(workbook)
        sheet.rows[1:] = list(reversed(sheet.rows[1:]))

    right_after_the_first_read(box, person_sorts_newest_first)
    after = [n for n in before if n not in doomed]

    writer.write(
        inventory=after,
        changes=[change(ChangeKind.REMOVED, n) for n in doomed],
        run=run_result(2),
    )

    rows = rows_by_id(box)
    assert set(rows) == {n.number_id for n in after}
    assert all(
        rows[n.number_id][OWNER] == Cell(f"owner of {n.number_id}", fmt=PINK) for n in marked
    )
    assert all(rows[n.number_id][0].fmt == PINK for n in marked)  # type: ignore[union-attr]


@pytest.mark.parametrize(("size", "window"), SIZES)
def test_a_row_a_person_pasted_during_the_write_goes_to_changes_with_its_values(
    box: SheetsSandbox, size: int, window: int | None
) -> None:
    writer = writer_for(box, window)
    before = numbers(range(size))
    writer.write(inventory=before, changes=[], run=run_result(1))
    inventory(box).update([["Owner"]], "U1")
    copied = before[size // 2]
    at = row_of(box, copied)

    def person_pastes_a_copy_of_a_row(workbook: Workbook) -> None:
        sheet = inventory_sheet(workbook)
        sheet.insert("ROWS", at, 1)
        for c, value in enumerate(inventory_row(copied, None)):
            sheet.put(at, c, Cell(value) if value != "" else None)
        sheet.put(at, OWNER, Cell("bo"))

    right_after_the_first_read(box, person_pastes_a_copy_of_a_row)
    after = numbers(range(size), agent_id="agent_new")

    writer.write(inventory=after, changes=[], run=run_result(2))

    assert set(rows_by_id(box)) == {n.number_id for n in after}
    lines = box.fake.values(box.spreadsheet_id, "Changes")[1:]
    assert [(line[2], line[5], line[10]) for line in lines] == [
        ("duplicate row", copied.number_id, "Owner: bo")
    ]
