"""The fake Sheets API behaves like Google's where the writer depends on it (plain gspread)."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
import requests
from google.auth.exceptions import RefreshError
from gspread.exceptions import APIError
from gspread.utils import ValueInputOption, ValueRenderOption

from syncbot.sandbox.sheets import Cell, FakeSheets, schema
from syncbot.sandbox.sheets.auth import mint_key
from syncbot.sandbox.sheets.batch import HANDLERS
from syncbot.sandbox.sheets.kit import SheetsSandbox


@pytest.fixture
def sheet(box: SheetsSandbox) -> gspread.Spreadsheet:
    return box.spreadsheet()


def test_user_entered_parses_formulas_and_numbers_while_raw_keeps_text(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    worksheet = sheet.sheet1
    typed = ["=1+1", "+15551234567", "TRUE", "'0012", "1,234.5"]
    worksheet.update([typed], "A1", value_input_option=ValueInputOption.user_entered)
    worksheet.update([typed], "A2", value_input_option=ValueInputOption.raw)

    grid = box.fake.workbook(box.spreadsheet_id).sheets[0]
    user = [grid.get(0, c) for c in range(5)]
    raw = [grid.get(1, c) for c in range(5)]
    assert [(c.formula, c.value) for c in user if c] == [
        ("=1+1", 2.0),
        (None, 15551234567.0),
        (None, True),
        (None, "0012"),
        (None, 1234.5),
    ]
    assert [c.value for c in raw if c] == typed
    assert worksheet.get("A1:E1", value_render_option=ValueRenderOption.unformatted) == [
        [2, 15551234567, True, "0012", 1234.5]
    ]
    assert worksheet.get("A1:E1", value_render_option=ValueRenderOption.formula) == [
        ["=1+1", 15551234567, True, "0012", 1234.5]
    ]


def test_values_get_drops_trailing_empty_cells_and_rows(sheet: gspread.Spreadsheet) -> None:
    worksheet = sheet.sheet1
    worksheet.update([["a", "", "c", ""], ["", "", "", ""], ["d"], ["", ""]], "A1")

    answer = sheet.values_get("Sheet1!A1:D10")

    assert answer["values"] == [["a", "", "c"], [], ["d"]]
    assert answer["range"] == "Sheet1!A1:D10"


def test_quoted_sheet_names_and_open_ended_ranges_read_like_google(
    sheet: gspread.Spreadsheet,
) -> None:
    worksheet = sheet.add_worksheet("Sync log", rows=5, cols=3)
    worksheet.update([["run", "at"], ["1", "now"]], "A1")

    answer = sheet.values_get("'Sync log'!A1:C")

    assert answer["range"] == "'Sync log'!A1:C5"
    assert answer["values"] == [["run", "at"], ["1", "now"]]
    with pytest.raises(APIError, match="Unable to parse range"):
        sheet.values_get("'No such tab'!A1")


def test_writing_past_the_grid_fails_with_exceeds_grid_limits(sheet: gspread.Spreadsheet) -> None:
    worksheet = sheet.add_worksheet("Small", rows=2, cols=2)

    with pytest.raises(APIError, match="exceeds grid limits"):
        worksheet.update([["a"], ["b"], ["c"]], "A1")
    with pytest.raises(APIError, match="exceeds grid limits"):
        sheet.batch_update(
            {
                "requests": [
                    {
                        "updateCells": {
                            "start": {"sheetId": worksheet.id, "rowIndex": 2},
                            "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}],
                            "fields": "userEnteredValue",
                        }
                    }
                ]
            }
        )


def test_append_writes_after_the_table_and_grows_the_grid(sheet: gspread.Spreadsheet) -> None:
    worksheet = sheet.add_worksheet("Log", rows=2, cols=2)
    worksheet.append_rows([["a", "1"], ["b", "2"]])

    worksheet.append_rows([["c", "3"], ["d", "4"]])

    assert worksheet.get_all_values() == [["a", "1"], ["b", "2"], ["c", "3"], ["d", "4"]]
    assert sheet.worksheet("Log").row_count == 4


def test_a_failing_request_leaves_the_whole_batch_unapplied(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    before = box.fake.workbook(box.spreadsheet_id)

    with pytest.raises(APIError, match=r"requests\[1\]\.deleteSheet"):
        sheet.batch_update(
            {
                "requests": [
                    {"addSheet": {"properties": {"title": "New"}}},
                    {"deleteSheet": {"sheetId": 999}},
                ]
            }
        )

    after = box.fake.workbook(box.spreadsheet_id)
    assert [s.title for s in after.tabs()] == [s.title for s in before.tabs()]
    assert after.version == before.version


def test_the_10_million_cell_limit_and_frozen_rows_are_enforced(sheet: gspread.Spreadsheet) -> None:
    worksheet = sheet.sheet1

    with pytest.raises(APIError, match="above the limit of 10000000 cells"):
        worksheet.add_rows(400_000)
    worksheet.freeze(rows=1)
    with pytest.raises(APIError, match="not possible to delete all non-frozen rows"):
        worksheet.resize(rows=1)


def test_cells_over_50000_characters_are_refused(sheet: gspread.Spreadsheet) -> None:
    with pytest.raises(APIError, match="maximum of 50000 characters"):
        sheet.sheet1.update([["x" * 50_001]], "A1")


def test_the_cell_limit_counts_utf16_units_so_25001_emoji_are_refused(
    sheet: gspread.Spreadsheet,
) -> None:
    emoji = "\N{GRINNING FACE}"
    sheet.sheet1.update([[emoji * 25_000]], "A1")

    with pytest.raises(APIError, match="maximum of 50000 characters"):
        sheet.sheet1.update([[emoji * 25_001]], "A1")


def test_a_sheet_shared_with_someone_else_answers_403(
    fake: FakeSheets, key: dict[str, str]
) -> None:
    other = fake.create_spreadsheet(writers=["someone@example.com"])
    box = SheetsSandbox(fake, fake.url or "", key, other)

    # gspread turns the 403 of opening a spreadsheet into PermissionError.
    with pytest.raises(PermissionError) as caught:
        box.spreadsheet()

    cause = caught.value.__cause__
    assert isinstance(cause, APIError)
    assert cause.response.status_code == 403
    assert cause.error["status"] == "PERMISSION_DENIED"


def test_the_token_endpoint_checks_the_assertion_signature(box: SheetsSandbox) -> None:
    forged, _ = mint_key(email=box.email, token_uri=box.key["token_uri"])

    with pytest.raises(RefreshError, match="Invalid JWT Signature"):
        box.spreadsheet(key=forged)

    assert box.fake.token_calls()[-1].status == 400


def test_calls_without_a_token_get_401_and_faults_answer_with_retry_after(
    box: SheetsSandbox,
) -> None:
    url = f"{box.url}/v4/spreadsheets/{box.spreadsheet_id}"

    anonymous = requests.get(url, timeout=5)
    box.fake.fail_next("spreadsheets.get", 429, retry_after=3, spreadsheet_id=box.spreadsheet_id)
    limited = requests.get(url, timeout=5)

    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    assert limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"


def test_every_call_is_counted_with_its_bytes_and_snapshotted(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    sheet.sheet1.update([["hello"]], "A1")

    calls = box.fake.calls(box.spreadsheet_id)
    snapshots = box.fake.snapshots(box.spreadsheet_id)
    # Opening the spreadsheet and picking its first tab each read its metadata.
    assert [c.route for c in calls] == ["spreadsheets.get", "spreadsheets.get", "values.update"]
    assert calls[-1].request_bytes > len('"hello"')
    assert len(snapshots) == len(calls)
    assert snapshots[0].tabs["Sheet1"] == ()
    assert snapshots[-1].tabs["Sheet1"] == (("hello",),)


def test_spreadsheets_get_applies_fields_ranges_and_grid_data(sheet: gspread.Spreadsheet) -> None:
    sheet.sheet1.update([["=1+1", "x"]], "A1", value_input_option=ValueInputOption.user_entered)
    sheet.add_worksheet("Other", rows=3, cols=3)

    answer = sheet.fetch_sheet_metadata(
        params={
            "includeGridData": "true",
            "ranges": "Sheet1!A1:B2",
            "fields": "sheets(properties.title,data.rowData.values(userEnteredValue))",
        }
    )

    assert answer == {
        "sheets": [
            {
                "properties": {"title": "Sheet1"},
                "data": [
                    {
                        "rowData": [
                            {
                                "values": [
                                    {"userEnteredValue": {"formulaValue": "=1+1"}},
                                    {"userEnteredValue": {"stringValue": "x"}},
                                ]
                            }
                        ]
                    }
                ],
            }
        ]
    }


YELLOW = {"backgroundColor": {"red": 1.0, "green": 1.0, "blue": 0.0}}
BLUE = {"backgroundColor": {"red": 0.0, "green": 0.0, "blue": 1.0}}


def _column(box: SheetsSandbox, column: int = 0) -> list[tuple[str, object, str | None]]:
    """(value, format, note) down one column of the first tab."""
    grid = box.fake.workbook(box.spreadsheet_id).sheets[0]
    cells = [grid.get(r, column) for r in range(grid.row_count)]
    return [(c.shown(), c.fmt, c.note) if c else ("", None, None) for c in cells]


def test_inserted_rows_take_the_formats_of_the_neighbour_inherit_from_before_names(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    worksheet = sheet.sheet1
    worksheet.update([["above"], ["below"]], "A1")
    worksheet.format("A1", YELLOW)
    worksheet.format("A2", BLUE)
    worksheet.insert_note("A1", "a note stays put")

    for start, inherit in ((1, True), (2, False)):
        where = {"sheetId": 0, "dimension": "ROWS", "startIndex": start, "endIndex": start + 1}
        insert = {"range": where, "inheritFromBefore": inherit}
        sheet.batch_update({"requests": [{"insertDimension": insert}]})

    assert _column(box)[:4] == [
        ("above", YELLOW, "a note stays put"),
        ("", YELLOW, None),
        ("", BLUE, None),
        ("below", BLUE, None),
    ]


def test_deleting_and_sorting_rows_move_their_formats_and_notes_with_their_values(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    worksheet = sheet.sheet1
    worksheet.update([["c"], ["gone"], ["a"], ["b"]], "A1")
    worksheet.format("A1", YELLOW)
    worksheet.insert_note("A4", "on b")

    worksheet.delete_rows(2)
    worksheet.sort((1, "asc"), range="A1:Z3")

    assert _column(box)[:3] == [("a", None, None), ("b", None, "on b"), ("c", YELLOW, None)]


def test_writing_values_keeps_the_cells_formats_and_notes(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    worksheet = sheet.sheet1
    worksheet.update([["old"], ["old"]], "A1")
    worksheet.format("A1", YELLOW)
    worksheet.insert_note("A2", "kept")

    worksheet.update([["new"], ["new"]], "A1")

    assert _column(box)[:2] == [("new", YELLOW, None), ("new", None, "kept")]


def test_a_fault_after_the_write_applies_it_and_a_person_may_edit_between_calls(
    box: SheetsSandbox, sheet: gspread.Spreadsheet
) -> None:
    worksheet = sheet.sheet1
    box.fake.fail_next("values.update", 500, applied=True, spreadsheet_id=box.spreadsheet_id)
    box.fake.before_next(
        "values.get", lambda workbook: workbook.sheets[0].put(1, 0, Cell("typed by a person"))
    )

    with pytest.raises(APIError):
        sheet.sheet1.update([["landed"]], "A1")

    assert worksheet.col_values(1) == ["landed", "typed by a person"]


def test_a_request_field_google_does_not_know_is_refused_with_googles_message(
    sheet: gspread.Spreadsheet,
) -> None:
    where = {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
    typo = {"insertDimension": {"range": where, "inheritFromBefor": True}}

    with pytest.raises(APIError) as caught:
        sheet.batch_update({"requests": [typo]})

    assert caught.value.response.status_code == 400
    assert caught.value.error["message"] == (
        'Invalid JSON payload received. Unknown name "inheritFromBefor" at '
        "'requests[0].insert_dimension': Cannot find field."
    )


def test_every_request_the_fake_carries_out_has_its_fields_checked() -> None:
    assert set(HANDLERS) == set(schema.FIELDS["Request"])


def test_inserted_columns_take_the_width_of_the_neighbour_inherit_from_before_names(
    sheet: gspread.Spreadsheet,
) -> None:
    """Google's insertDimension extends the neighbour's dimension properties (its width)."""
    wide = {"properties": {"pixelSize": 150}, "fields": "pixelSize"}
    column_b = {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}
    sheet.batch_update({"requests": [{"updateDimensionProperties": {**wide, "range": column_b}}]})
    for start, inherit in ((2, True), (1, False)):
        where = {"sheetId": 0, "dimension": "COLUMNS", "startIndex": start, "endIndex": start + 1}
        sheet.batch_update(
            {"requests": [{"insertDimension": {"range": where, "inheritFromBefore": inherit}}]}
        )

    answer = sheet.fetch_sheet_metadata({"fields": "sheets.data.columnMetadata", "ranges": "A1:E1"})

    widths = [c["pixelSize"] for c in answer["sheets"][0]["data"][0]["columnMetadata"]]
    assert widths == [100, 150, 150, 150, 100]


def test_update_conditional_format_rule_answers_the_rule_it_replaced_or_the_index_it_moved(
    sheet: gspread.Spreadsheet,
) -> None:
    def rule(formula: str) -> dict[str, Any]:
        condition = {"type": "CUSTOM_FORMULA", "values": [{"userEnteredValue": formula}]}
        return {
            "ranges": [{"sheetId": 0, "startRowIndex": 0, "endRowIndex": 5}],
            "booleanRule": {"condition": condition, "format": {"textFormat": {"bold": True}}},
        }

    for formula in ("=A1>1", "=A1>2"):
        sheet.batch_update({"requests": [{"addConditionalFormatRule": {"rule": rule(formula)}}]})
    replaced = {"sheetId": 0, "index": 1, "rule": rule("=A1>3")}
    moved = {"sheetId": 0, "index": 1, "newIndex": 0}

    answer = sheet.batch_update(
        {
            "requests": [
                {"updateConditionalFormatRule": replaced},
                {"updateConditionalFormatRule": moved},
            ]
        }
    )

    first, second = (r["updateConditionalFormatRule"] for r in answer["replies"])
    assert first["oldRule"]["booleanRule"]["condition"]["values"] == [{"userEnteredValue": "=A1>1"}]
    assert first["newIndex"] == 1
    assert first["newRule"]["booleanRule"]["condition"]["values"] == [{"userEnteredValue": "=A1>3"}]
    # Moved to index 0: proto3 JSON leaves the zero out.
    assert second == {"newRule": first["newRule"], "oldIndex": 1}
