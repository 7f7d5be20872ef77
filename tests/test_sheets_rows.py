"""A number's row never moves: what people attach to it stays with it (CONTRACT section 5).

People act through plain gspread, as the Sheets UI would; the writer syncs after them.
"""

from __future__ import annotations

from collections.abc import Sequence

import gspread
import pytest

from syncbot.models import ChangeKind, PhoneNumber
from syncbot.sandbox.sheets import Cell, Workbook
from syncbot.sandbox.sheets.kit import SheetsSandbox, change, phone_number, run_result
from syncbot.sheets import INVENTORY_HEADER, SheetWriter, inventory_row

PINK = {"backgroundColor": {"red": 1.0, "green": 0.8, "blue": 0.9}}
NUMBER_ID = INVENTORY_HEADER.index("Number ID")
LABEL = INVENTORY_HEADER.index("Label")
OWNER = len(INVENTORY_HEADER)  # the first column right of syncbot's


def writer_for(box: SheetsSandbox, **options: int) -> SheetWriter:
    return SheetWriter(box.settings(), retry_wait_initial=0.01, retry_wait_max=0.05, **options)


def numbers(ids: Sequence[int], **changes: object) -> list[PhoneNumber]:
    return [phone_number(i, **changes) for i in ids]


def added_between(i: int) -> PhoneNumber:
    """A new number whose key sorts right after number ``i``'s."""
    return phone_number(i, number_id=f"pn_{i:07d}b")


def rows_by_id(box: SheetsSandbox) -> dict[str, list[Cell | None]]:
    """Every Inventory row's cells (value, format, note), keyed by Number ID."""
    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    out: dict[str, list[Cell | None]] = {}
    for r in range(1, sheet.row_count):
        cells = [sheet.get(r, c) for c in range(sheet.col_count)]
        key = cells[NUMBER_ID]
        if key is not None and key.value:
            assert str(key.value) not in out, f"{key.value} has two rows"
            out[str(key.value)] = cells
    return out


def inventory(box: SheetsSandbox) -> gspread.Worksheet:
    return box.spreadsheet().worksheet("Inventory")


def mark(worksheet: gspread.Worksheet, row: int, owner: str) -> None:
    """What a person does to one row: highlight it, note its label, fill in their column."""
    worksheet.format(f"A{row}:U{row}", PINK)
    worksheet.insert_note(f"D{row}", f"ask {owner}")
    worksheet.update([[owner]], f"U{row}")


# A read of the whole tab at once, and reads of 40 rows at a time (more rows than one window).
WINDOWS = [pytest.param({}, id="one-read"), pytest.param({"window_rows": 40}, id="windowed")]


@pytest.mark.parametrize("window", WINDOWS)
def test_highlights_notes_and_peoples_values_stay_with_their_numbers_through_inserts_and_deletes(
    box: SheetsSandbox, window: dict[str, int]
) -> None:
    writer = writer_for(box, **window)
    before = numbers(range(200))
    writer.write(inventory=before, changes=[], run=run_result(1))
    worksheet = inventory(box)
    worksheet.update([["Owner"]], "U1")
    marked = {n.number_id: f"owner {i}" for i, n in enumerate(before) if i % 5 == 2}
    for i, n in enumerate(before):
        if n.number_id in marked:
            mark(worksheet, i + 2, marked[n.number_id])
    # New numbers land above and below marked ones; unmarked ones go; marked ones change.
    after = [
        added_between(0),
        *numbers([1]),
        *numbers([2], agent_id="agent_new"),
        *[n for i, n in enumerate(before[3:], start=3) if i % 5 != 4],
        *[added_between(i) for i in range(1, 200, 5)],
        *[added_between(i) for i in range(2, 200, 10)],
    ]
    after.sort(key=lambda n: n.key)

    writer.write(inventory=after, changes=[], run=run_result(2))

    rows = rows_by_id(box)
    assert set(rows) == {n.number_id for n in after}
    kept = [
        number_id
        for number_id, owner in marked.items()
        if _looks(rows[number_id][0])[1] == PINK
        and _looks(rows[number_id][LABEL])[2] == f"ask {owner}"
        and _looks(rows[number_id][OWNER]) == (owner, PINK, None)
    ]
    assert len(kept) == len(marked) == 40
    assert rows["pn_0000002"][2] == Cell("agent_new", fmt=PINK)
    # A new number never wears the highlight of the row it was inserted next to.
    fresh = [rows[n.number_id] for n in after if n.number_id.endswith("b")]
    assert fresh
    assert all(cell is None or cell.fmt is None for row in fresh for cell in row)
    assert all(
        rows[n.number_id][: len(INVENTORY_HEADER)] == _plain(n)
        for n in after
        if n.number_id not in marked
    )


@pytest.mark.parametrize("window", WINDOWS)
def test_a_tab_people_sorted_keeps_their_order_and_new_numbers_go_below_it(
    box: SheetsSandbox, window: dict[str, int]
) -> None:
    writer = writer_for(box, **{k: v // 4 for k, v in window.items()})
    writer.write(inventory=numbers(range(30)), changes=[], run=run_result(1))
    # Sorted by Status (assigned first), then by Phone number, descending.
    inventory(box).sort((2, "asc"), (1, "des"))
    order = [row[NUMBER_ID] for row in box.fake.values(box.spreadsheet_id, "Inventory")[1:]]

    for run, current in enumerate(
        [
            [*numbers(range(1, 30)), added_between(4)],
            [*numbers(range(1, 29)), *numbers([29], agent_id="agent_x"), added_between(4)],
        ],
        start=2,
    ):
        writer.write(
            inventory=sorted(current, key=lambda n: n.key), changes=[], run=run_result(run)
        )

    shown = [row[NUMBER_ID] for row in box.fake.values(box.spreadsheet_id, "Inventory")[1:]]
    assert shown == [i for i in order if i != "pn_0000000"] + ["pn_0000004b"]
    assert rows_by_id(box)["pn_0000029"][2] == Cell("agent_x")


def test_a_number_whose_phone_number_changed_keeps_its_row_and_new_ones_still_sort_in(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    writer.write(inventory=numbers(range(10)), changes=[], run=run_result(1))
    # syncbot lists numbers by phone number: number 2's new one sorts it last.
    moved = phone_number(2, phone_number="+19999999999")
    current = [*numbers([0, 1]), *numbers(range(3, 10)), moved, added_between(5)]
    current.sort(key=lambda n: (n.source, n.account, n.phone_number, n.number_id))

    writer.write(inventory=current, changes=[], run=run_result(2))

    shown = [row[NUMBER_ID] for row in box.fake.values(box.spreadsheet_id, "Inventory")[1:]]
    assert shown == [
        *(f"pn_{i:07d}" for i in range(6)),
        "pn_0000005b",
        *(f"pn_{i:07d}" for i in range(6, 10)),
    ]
    assert rows_by_id(box)["pn_0000002"][0] == Cell("+19999999999")


def test_an_unchanged_sync_leaves_every_inventory_cell_as_it_was_in_three_calls(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    current = numbers(range(50))
    writer.write(inventory=current, changes=[], run=run_result(1))
    mark(inventory(box), 7, "ana")
    # The first sync after a person typed in the last column adds room right of it.
    writer.write(inventory=current, changes=[], run=run_result(2))
    before = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    box.fake.reset_records()

    result = writer.write(inventory=iter(current), changes=[], run=run_result(3))

    after = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert before is not None
    assert after is not None
    assert after.rows == before.rows
    assert (after.row_count, after.col_count) == (before.row_count, before.col_count)
    assert result.calls == 3
    writes = [c for c in box.fake.calls(box.spreadsheet_id) if c.route.endswith("batchUpdate")]
    assert len(writes) == 1
    assert writes[0].request_bytes < 5_000


def test_a_write_google_applied_but_whose_answer_was_lost_is_not_applied_twice(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    writer.write(inventory=numbers(range(10)), changes=[], run=run_result(1))
    current = [*numbers(range(1, 10)), added_between(5)]
    changes = [change(ChangeKind.REMOVED, phone_number(0)), change(ChangeKind.ADDED, current[-1])]
    box.fake.fail_next(
        "spreadsheets.batchUpdate", 503, applied=True, spreadsheet_id=box.spreadsheet_id
    )

    result = writer.write(
        inventory=sorted(current, key=lambda n: n.key), changes=changes, run=run_result(2)
    )

    assert result.status == "ok"
    log = box.fake.values(box.spreadsheet_id, "Sync log")
    assert [row[0] for row in log[1:]] == ["2", "1"]
    lines = box.fake.values(box.spreadsheet_id, "Changes")[1:]
    assert sorted((row[1], row[2], row[5]) for row in lines) == [
        ("2", "added", "pn_0000005b"),
        ("2", "removed", "pn_0000000"),
    ]
    assert set(rows_by_id(box)) == {n.number_id for n in current}


def test_an_old_header_is_migrated_in_place_once_and_peoples_columns_keep_their_data(
    box: SheetsSandbox,
) -> None:
    old_header = [*INVENTORY_HEADER[:15], "Last seen", INVENTORY_HEADER[15], "Valid", "Stale"]
    current = numbers(range(4))
    old_rows = [_old_row(n, f"mine {i}") for i, n in enumerate(current)]
    worksheet = box.spreadsheet().add_worksheet("Inventory", rows=5, cols=21)
    worksheet.update([[*old_header, "Mine"], *old_rows], "A1")
    worksheet.format("T3", PINK)
    writer = SheetWriter(box.settings(NUMBER_COSTS='[{"monthly": 1.15}]'), retry_wait_initial=0.01)

    writer.write(inventory=current, changes=[], run=run_result(1))
    migrated = box.fake.values(box.spreadsheet_id, "Inventory")
    writer.write(inventory=current, changes=[], run=run_result(2))

    assert box.fake.values(box.spreadsheet_id, "Inventory") == migrated
    assert migrated[0] == [*INVENTORY_HEADER, "Mine"]
    rows = rows_by_id(box)
    assert [rows[n.number_id][OWNER] for n in current] == [
        Cell(f"mine {i}", fmt=PINK if i == 1 else None) for i in range(4)
    ]
    assert [row[INVENTORY_HEADER.index("Monthly cost")] for row in migrated[1:]] == ["1.15"] * 4


def test_a_delta_split_over_calls_never_shows_a_number_twice_or_not_at_all(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box, max_request_bytes=20_000)
    old = numbers(range(300), label="old")
    writer.write(inventory=old, changes=[], run=run_result(1))
    first = len(box.fake.snapshots(box.spreadsheet_id))
    new = [
        *[n for n in numbers(range(300), label="new") if n.number_id[-1] not in "37"],
        *[added_between(i) for i in range(0, 300, 3)],
    ]
    new.sort(key=lambda n: n.key)

    result = writer.write(inventory=new, changes=[], run=run_result(2))

    snapshots = box.fake.snapshots(box.spreadsheet_id)[first:]
    assert result.calls > 5
    olds = {n.number_id: _texts(n) for n in old}
    news = {n.number_id: _texts(n) for n in new}
    for snapshot in snapshots:
        rows = [row for row in snapshot.tabs["Inventory"][1:] if row]
        ids = [row[NUMBER_ID] for row in rows]
        assert len(ids) == len(set(ids))
        assert set(olds) & set(news) <= set(ids)
        assert all(list(row)[:19] in (olds.get(row[6]), news.get(row[6])) for row in rows)
    assert [row[NUMBER_ID] for row in snapshots[-1].tabs["Inventory"][1:]] == [
        n.number_id for n in new
    ]


@pytest.mark.parametrize("window", WINDOWS)
def test_rows_a_person_inserts_between_the_read_and_the_write_are_repaired_at_once(
    box: SheetsSandbox, window: dict[str, int]
) -> None:
    writer = writer_for(box, **{k: v // 4 for k, v in window.items()})
    current = numbers(range(20))
    writer.write(inventory=current, changes=[], run=run_result(1))
    worksheet = inventory(box)
    worksheet.update([["Owner"], ["ana"], ["bo"]], "U1:U3")

    def person_inserts_a_row(workbook: Workbook) -> None:
        sheet = workbook.sheet_by_title("Inventory")
        assert sheet is not None
        sheet.insert("ROWS", 1, 1)

    box.fake.before_next("spreadsheets.batchUpdate", person_inserts_a_row)
    changed = [*numbers(range(1, 20), agent_id="agent_z"), added_between(9)]
    changed.sort(key=lambda n: n.key)

    writer.write(inventory=changed, changes=[], run=run_result(2))

    rows = rows_by_id(box)
    assert set(rows) == {n.number_id for n in changed}
    assert all(rows[n.number_id][: len(INVENTORY_HEADER)] == _plain(n) for n in changed)
    assert rows["pn_0000001"][OWNER] == Cell("bo")


def test_people_get_empty_columns_to_type_in_and_the_default_tab_goes(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    writer.write(inventory=numbers(range(3)), changes=[], run=run_result(1))
    worksheet = inventory(box)
    # Five empty columns wait right of syncbot's; a person types in the last of them.
    worksheet.update([["Notes", "", "", "", "Far"]], "U1:Y1")

    writer.write(inventory=numbers(range(3)), changes=[], run=run_result(2))

    workbook = box.fake.workbook(box.spreadsheet_id)
    assert [tab.title for tab in workbook.tabs()] == ["Inventory", "Summary", "Changes", "Sync log"]
    sheet = workbook.sheet_by_title("Inventory")
    assert sheet is not None
    assert sheet.col_count == 25 + 5


def test_changes_rows_carry_the_run_they_belong_to(box: SheetsSandbox) -> None:
    writer = writer_for(box)
    one = phone_number(1)

    writer.write(inventory=[one], changes=[change(ChangeKind.ADDED, one)], run=run_result(7))

    (line,) = box.fake.values(box.spreadsheet_id, "Changes")[1:]
    assert line[1:3] == ["7", "added"]


def _texts(n: PhoneNumber) -> list[str]:
    row = [str(v) for v in inventory_row(n, None)]
    while row and row[-1] == "":
        row.pop()
    return row


def _plain(n: PhoneNumber) -> list[Cell | None]:
    return [Cell(v) if v != "" else None for v in inventory_row(n, None)]


def _looks(cell: Cell | None) -> tuple[str, object, str | None]:
    return ("", None, None) if cell is None else (cell.shown(), cell.fmt, cell.note)


def _old_row(n: PhoneNumber, mine: str) -> list[str]:
    """The row an older syncbot wrote: Last seen before Unassigned since, no Monthly cost."""
    row = [str(v) for v in inventory_row(n, None)]
    return [*row[:15], "2024-01-03T00:00:00Z", row[15], row[17], row[18], mine]
