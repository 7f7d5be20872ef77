"""The sheet writer through real gspread and google-auth, against the fake Sheets API."""

from __future__ import annotations

from collections.abc import Sequence

from gspread.utils import ValueInputOption

from syncbot.models import ChangeKind
from syncbot.sandbox.sheets import Cell, FakeSheets
from syncbot.sandbox.sheets.kit import SheetsSandbox, change, phone_number, run_result
from syncbot.sheets import INVENTORY_HEADER, SheetWriter, inventory_row
from syncbot.sheets.upkeep import UNASSIGNED_RULE

TABS = ["Inventory", "Summary", "Changes", "Sync log"]


def writer_for(box: SheetsSandbox, **options: int) -> SheetWriter:
    return SheetWriter(box.settings(), retry_wait_initial=0.01, retry_wait_max=0.05, **options)


def rows_by_number(box: SheetsSandbox) -> dict[str, list[str]]:
    """Inventory rows keyed by Number ID."""
    rows = box.fake.values(box.spreadsheet_id, "Inventory")[1:]
    return {row[6]: row for row in rows}


def test_first_write_creates_the_tabs_with_the_contract_header_and_one_row_per_number(
    box: SheetsSandbox,
) -> None:
    numbers = [phone_number(i) for i in range(3)]

    result = writer_for(box).write(inventory=numbers, changes=[], run=run_result(count=3))

    assert result.status == "ok"
    assert result.url == f"https://docs.google.com/spreadsheets/d/{box.spreadsheet_id}"
    # No Inventory to read yet: one metadata read, one batchUpdate.
    assert result.calls == 2
    inventory = box.fake.values(box.spreadsheet_id, "Inventory")
    assert inventory[0] == list(INVENTORY_HEADER)
    assert inventory[1:] == [_trimmed(inventory_row(n, None)) for n in numbers]
    workbook = box.fake.workbook(box.spreadsheet_id)
    assert [sheet.title for sheet in workbook.tabs()][:4] == TABS
    sheet = workbook.sheet_by_title("Inventory")
    assert sheet is not None
    assert sheet.frozen_rows == 1
    # Five empty columns right of syncbot's, for people's own.
    assert (sheet.row_count, sheet.col_count) == (4, len(INVENTORY_HEADER) + 5)
    assert sheet.basic_filter is not None
    assert sheet.basic_filter["range"]["endRowIndex"] == 4
    assert sheet.col_sizes[0]["pixelSize"] > 0
    assert sheet.get(0, 0) == Cell("Phone number", fmt={"textFormat": {"bold": True}})


def test_unassigned_rows_are_highlighted_by_one_rule_whatever_the_row_count(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    writer.write(inventory=[phone_number(i) for i in range(30)], changes=[], run=run_result(1))
    writer.write(inventory=[phone_number(i) for i in range(7)], changes=[], run=run_result(2))

    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    (rule,) = sheet.conditional_formats
    condition = rule["booleanRule"]["condition"]
    assert condition == {
        "type": "CUSTOM_FORMULA",
        "values": [{"userEnteredValue": UNASSIGNED_RULE}],
    }
    assert rule["ranges"] == [
        {
            "sheetId": sheet.sheet_id,
            "startRowIndex": 1,
            "endRowIndex": 8,
            "startColumnIndex": 0,
            "endColumnIndex": len(INVENTORY_HEADER) + 5,
        }
    ]


def test_a_second_write_adds_no_duplicate_rule_filter_tab_or_blank_rows(box: SheetsSandbox) -> None:
    writer = writer_for(box)
    numbers = [phone_number(i) for i in range(5)]
    writer.write(inventory=numbers, changes=[], run=run_result(1))
    before = box.fake.workbook(box.spreadsheet_id)
    values_before = box.fake.values(box.spreadsheet_id, "Inventory")

    result = writer.write(inventory=numbers, changes=[], run=run_result(2))

    after = box.fake.workbook(box.spreadsheet_id)
    # The new spreadsheet's empty default tab went once syncbot's tabs were there.
    assert [s.title for s in before.tabs()] == [*TABS, "Sheet1"]
    assert [s.title for s in after.tabs()] == TABS
    inventory = after.sheet_by_title("Inventory")
    assert inventory is not None
    assert len(inventory.conditional_formats) == 1
    assert inventory.row_count == 6
    assert box.fake.values(box.spreadsheet_id, "Inventory") == values_before
    # Metadata read, Inventory read, one batchUpdate.
    assert result.calls == 3


def test_an_empty_inventory_leaves_the_header_over_one_blank_row(box: SheetsSandbox) -> None:
    writer = writer_for(box)
    writer.write(inventory=[phone_number(i) for i in range(4)], changes=[], run=run_result(1))

    writer.write(inventory=[], changes=[], run=run_result(2))

    assert box.fake.values(box.spreadsheet_id, "Inventory") == [list(INVENTORY_HEADER)]
    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    # Google refuses a grid whose every row is frozen.
    assert (sheet.row_count, sheet.frozen_rows) == (2, 1)


def test_provider_text_that_looks_like_a_formula_or_a_number_stays_text(box: SheetsSandbox) -> None:
    tricky = phone_number(
        1,
        label='=HYPERLINK("https://evil.example","click")',
        phone_number="+15551234567",
        agent_id="-42",
        provider_status="@risk",
        number_id="0012",
    )

    writer_for(box).write(inventory=[tricky], changes=[], run=run_result())

    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    for column, expected in (
        (0, "+15551234567"),
        (2, "-42"),
        (3, '=HYPERLINK("https://evil.example","click")'),
        (6, "0012"),
        (12, "@risk"),
    ):
        cell = sheet.get(1, column)
        assert cell is not None
        assert cell.formula is None
        assert cell.value == expected


def test_peoples_columns_follow_their_number_and_a_removed_numbers_notes_land_in_changes(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    a, b, c, d = (phone_number(i) for i in range(4))
    writer.write(inventory=[a, b, c], changes=[], run=run_result(1))
    # A person adds two columns and types into them, as in the Sheets UI.
    worksheet = box.spreadsheet().worksheet("Inventory")
    worksheet.add_cols(2)
    worksheet.update(
        [
            ["Notes", "Cost"],
            ["port out pending", 3],
            ["VIP customer", "=2+2"],
            ["", 12.5],
        ],
        "U1:V4",
        value_input_option=ValueInputOption.user_entered,
    )

    result = writer.write(
        inventory=[d, c, b], changes=[change(ChangeKind.REMOVED, a, run_id=2)], run=run_result(2)
    )

    assert result.status == "ok"
    rows = rows_by_number(box)
    assert set(rows) == {d.number_id, c.number_id, b.number_id}
    assert rows[b.number_id][20:] == ["VIP customer", "4"]
    assert rows[c.number_id][20:] == ["", "12.5"]
    assert rows[d.number_id][20:] == []
    header = box.fake.values(box.spreadsheet_id, "Inventory")[0]
    assert header[20:] == ["Notes", "Cost"]
    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    b_row = [row[6] for row in box.fake.values(box.spreadsheet_id, "Inventory")].index(b.number_id)
    assert sheet.get(b_row, 21) == Cell(4.0, formula="=2+2")
    changes = box.fake.values(box.spreadsheet_id, "Changes")
    (removed,) = [row for row in changes if row[5] == a.number_id]
    assert removed[2] == "removed"
    assert removed[10] == "Notes: port out pending | Cost: 3"


def test_peoples_cells_keep_their_kind_through_a_large_sync_split_over_calls(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box, max_request_bytes=200_000)
    numbers = [phone_number(i) for i in range(3_000)]
    writer.write(inventory=numbers, changes=[], run=run_result(1))
    worksheet = box.spreadsheet().worksheet("Inventory")
    typed: list[list[str | int]] = [["Notes", "Code", "Sum"], ["'0012", 7, "=1+2"]]
    worksheet.update(typed, "U1:W2", value_input_option=ValueInputOption.user_entered)
    changed = [phone_number(i, label="relabelled " * 20) for i in range(3_000)]

    result = writer.write(inventory=changed, changes=[], run=run_result(2))

    assert result.calls > 4
    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    assert sheet.get(1, 3) == Cell("relabelled " * 20)
    assert [sheet.get(1, c) for c in (20, 21, 22)] == [
        Cell("0012"),
        Cell(7.0),
        Cell(3.0, formula="=1+2"),
    ]


def test_columns_a_person_moved_are_found_by_their_header_and_left_where_they_are(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    numbers = [phone_number(i) for i in range(3)]
    writer.write(inventory=numbers, changes=[], run=run_result(1))
    worksheet = box.spreadsheet().worksheet("Inventory")
    worksheet.insert_cols([["Owner", "ana", "", "bo"]], col=2)
    changed = [phone_number(i, agent_id=f"agent_{i}x", status="assigned") for i in range(3)]

    writer.write(inventory=changed, changes=[], run=run_result(2))

    inventory = box.fake.values(box.spreadsheet_id, "Inventory")
    assert inventory[0] == [INVENTORY_HEADER[0], "Owner", *INVENTORY_HEADER[1:]]
    assert [row[1] for row in inventory[1:]] == ["ana", "", "bo"]
    for row, number in zip(inventory[1:], changed, strict=True):
        assert [row[0], *row[2:]] == _trimmed([str(v) for v in inventory_row(number, None)])
    sheet = box.fake.workbook(box.spreadsheet_id).sheet_by_title("Inventory")
    assert sheet is not None
    (rule,) = sheet.conditional_formats
    # The highlight follows the Status column to where it went.
    assert rule["booleanRule"]["condition"]["values"] == [{"userEnteredValue": '=$C2="unassigned"'}]


def test_changes_are_listed_newest_first_and_the_sync_log_gets_one_row_per_run(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    a, b = phone_number(1), phone_number(2)
    writer.write(
        inventory=[a, b],
        changes=[change(ChangeKind.ADDED, a, run_id=1), change(ChangeKind.ADDED, b, run_id=1)],
        run=run_result(1, count=2),
    )
    writer.write(
        inventory=[a], changes=[change(ChangeKind.REMOVED, b, run_id=2)], run=run_result(2, count=1)
    )

    changes = box.fake.values(box.spreadsheet_id, "Changes")
    assert [row[1:3] for row in changes[1:]] == [["2", "removed"], ["1", "added"], ["1", "added"]]
    log = box.fake.values(box.spreadsheet_id, "Sync log")
    assert [row[0] for row in log[1:]] == ["2", "1"]
    assert log[1][11] == "orgapi/default ok: 1 number in 1 page"
    summary = box.fake.values(box.spreadsheet_id, "Summary")
    assert ["Numbers", "1"] in summary
    assert ["orgapi/default", "1", "1", "0", "0", "ok", "2024-01-03T00:02:00Z"] in summary


def test_cell_text_over_50000_characters_is_cut_with_a_visible_marker(box: SheetsSandbox) -> None:
    long_label = "x" * 60_000

    writer_for(box).write(
        inventory=[phone_number(1, label=long_label)], changes=[], run=run_result()
    )

    label = box.fake.values(box.spreadsheet_id, "Inventory")[1][3]
    assert len(label) <= 50_000
    assert label.startswith("xxxx")
    assert label.endswith("characters]")
    assert "cut by syncbot" in label


def test_a_label_of_30000_emoji_is_cut_to_50000_utf16_units_without_splitting_one(
    box: SheetsSandbox,
) -> None:
    """30,000 emoji are 30,000 characters but 60,000 UTF-16 units: cut by units, so the cell
    fits Google's limit whichever way it counts, and no emoji is split into a lone surrogate."""
    emoji = "\N{GRINNING FACE}"

    writer_for(box).write(
        inventory=[phone_number(1, label=emoji * 30_000)], changes=[], run=run_result()
    )

    label = box.fake.values(box.spreadsheet_id, "Inventory")[1][3]
    kept, marker = label.split(" …[cut by syncbot: ")
    assert len(label.encode("utf-16-le")) // 2 <= 50_000
    assert kept == emoji * len(kept)
    assert len(kept) > 24_900
    assert marker == f"{30_000 - len(kept)} more characters]"


def test_call_count_is_the_same_for_100_and_10000_numbers_when_each_fits_one_request(
    fake: FakeSheets, key: dict[str, str]
) -> None:
    counts = []
    for size in (100, 10_000):
        box = SheetsSandbox.create(fake, key=key)
        # Google's hard cap is 10 MiB per request; 10,000 rows take about 8.8 MB.
        writer = writer_for(box, max_request_bytes=9_500_000)
        numbers = [phone_number(i) for i in range(size)]
        first = writer.write(inventory=numbers, changes=[], run=run_result(1))
        second = writer.write(inventory=numbers, changes=[], run=run_result(2))
        counts.append((first.calls, second.calls))
    assert counts[0] == counts[1] == (2, 3)


def test_a_first_sync_past_2mb_sizes_the_tab_then_writes_rows_in_requests_under_2mb(
    fake: FakeSheets, key: dict[str, str]
) -> None:
    box = SheetsSandbox.create(fake, key=key)
    numbers = [phone_number(i) for i in range(10_000)]

    result = writer_for(box).write(inventory=numbers, changes=[], run=run_result())

    calls = fake.calls(box.spreadsheet_id)
    assert all(c.request_bytes <= 2_000_000 for c in calls)
    routes = [c.route for c in calls]
    fills = routes.count("values.batchUpdate")
    assert (
        routes == ["spreadsheets.get", "spreadsheets.batchUpdate"] + ["values.batchUpdate"] * fills
    )
    filled = [c.request_bytes for c in calls if c.route == "values.batchUpdate"]
    assert fills > 1
    assert all(size > 1_990_000 for size in filled[:-1])
    assert result.calls == len(calls)
    inventory = box.fake.values(box.spreadsheet_id, "Inventory")
    assert inventory[1:] == [_trimmed(inventory_row(n, None)) for n in numbers]


def _trimmed(row: Sequence[str | float]) -> list[str]:
    texts = [str(v) for v in row]
    while texts and texts[-1] == "":
        texts.pop()
    return texts
