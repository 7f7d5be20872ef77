"""Charts on the Summary tab: the fake Sheets API's chart requests (driven by plain gspread),
and the writer's two charts, found again and updated on every sync, never added twice."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from gspread.exceptions import APIError

from syncbot.sandbox.sheets.kit import SheetsSandbox


@pytest.fixture
def sheet(box: SheetsSandbox) -> gspread.Spreadsheet:
    return box.spreadsheet()


def _range(sheet_id: int, col: int, start: int = 0, end: int | None = None) -> dict[str, Any]:
    grid = {"sheetId": sheet_id, "startRowIndex": start, "startColumnIndex": col}
    grid["endColumnIndex"] = col + 1
    if end is not None:
        grid["endRowIndex"] = end
    return {"sourceRange": {"sources": [grid]}}


def _line(title: str, data_id: int, *, end: int | None = 5) -> dict[str, Any]:
    return {
        "title": title,
        "basicChart": {
            "chartType": "LINE",
            "legendPosition": "BOTTOM_LEGEND",
            "headerCount": 1,
            "domains": [{"domain": _range(data_id, 0, 0, end)}],
            "series": [{"series": _range(data_id, 1, 0, end), "targetAxis": "LEFT_AXIS"}],
        },
    }


def _add(spec: dict[str, Any], on: int, **anchor: int) -> dict[str, Any]:
    cell = {"sheetId": on, "rowIndex": 0, "columnIndex": 0, **anchor}
    return {
        "addChart": {"chart": {"spec": spec, "position": {"overlayPosition": {"anchorCell": cell}}}}
    }


def _charts(sheet: gspread.Spreadsheet) -> dict[str, list[dict[str, Any]]]:
    meta = sheet.fetch_sheet_metadata(
        params={"fields": "sheets(properties(title),charts(chartId,spec,position))"}
    )
    return {s["properties"]["title"]: s.get("charts", []) for s in meta["sheets"]}


def test_add_update_and_delete_a_chart_as_spreadsheets_get_reports_it(
    sheet: gspread.Spreadsheet,
) -> None:
    data = sheet.add_worksheet("Data", rows=10, cols=3)
    reply = sheet.batch_update({"requests": [_add(_line("Trend", data.id), sheet.sheet1.id)]})
    chart = reply["replies"][0]["addChart"]["chart"]
    chart_id = chart["chartId"]
    assert chart["position"]["overlayPosition"]["widthPixels"] == 600

    found = _charts(sheet)
    assert found["Data"] == []
    (listed,) = found["Sheet1"]
    assert listed["chartId"] == chart_id
    assert listed["spec"]["title"] == "Trend"

    spec = _line("Trend, renamed", data.id, end=8)
    sheet.batch_update({"requests": [{"updateChartSpec": {"chartId": chart_id, "spec": spec}}]})
    (listed,) = _charts(sheet)["Sheet1"]
    assert listed["spec"] == spec
    assert listed["chartId"] == chart_id

    sheet.batch_update({"requests": [{"deleteEmbeddedObject": {"objectId": chart_id}}]})
    assert _charts(sheet)["Sheet1"] == []


def test_a_chart_s_ranges_move_with_rows_inserted_or_deleted_under_them(
    sheet: gspread.Spreadsheet,
) -> None:
    data = sheet.add_worksheet("Data", rows=10, cols=3)
    sheet.batch_update({"requests": [_add(_line("Trend", data.id, end=5), sheet.sheet1.id)]})
    rows = {"sheetId": data.id, "dimension": "ROWS"}
    sheet.batch_update(
        {"requests": [{"insertDimension": {"range": {**rows, "startIndex": 1, "endIndex": 3}}}]}
    )
    (chart,) = _charts(sheet)["Sheet1"]
    (domain,) = chart["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"]
    assert (domain["startRowIndex"], domain["endRowIndex"]) == (0, 7)
    sheet.batch_update(
        {"requests": [{"deleteDimension": {"range": {**rows, "startIndex": 0, "endIndex": 1}}}]}
    )
    (chart,) = _charts(sheet)["Sheet1"]
    (domain,) = chart["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"]
    assert (domain["startRowIndex"], domain["endRowIndex"]) == (0, 6)
    # An open-ended range stays open-ended; deleting the tab it floats over drops the chart.
    sheet.batch_update({"requests": [_add(_line("Open", data.id, end=None), data.id)]})
    assert (
        "endRowIndex"
        not in _charts(sheet)["Data"][0]["spec"]["basicChart"]["series"][0]["series"][
            "sourceRange"
        ]["sources"][0]
    )
    sheet.del_worksheet(data)
    assert [c["spec"]["title"] for c in _charts(sheet)["Sheet1"]] == ["Trend"]


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"updateChartSpec": {"chartId": 12345, "spec": {}}}, "No chart with id 12345"),
        ({"deleteEmbeddedObject": {"objectId": 12345}}, "No chart with id 12345"),
        ("bad type", "Invalid basicChart.chartType"),
        ("outside", "Invalid chart source range"),
        ("no series", "at least one series"),
    ],
)
def test_bad_chart_requests_are_refused_and_change_nothing(
    sheet: gspread.Spreadsheet, request_: dict[str, Any] | str, message: str
) -> None:
    data = sheet.add_worksheet("Data", rows=10, cols=3)
    spec = _line("Trend", data.id)
    if request_ == "bad type":
        spec["basicChart"]["chartType"] = "PIE"
    elif request_ == "outside":
        spec["basicChart"]["series"][0] = {"series": _range(data.id, 5, 0, 5)}
    elif request_ == "no series":
        spec["basicChart"]["series"] = []
    body = _add(spec, sheet.sheet1.id) if isinstance(request_, str) else request_
    with pytest.raises(APIError, match=message):
        sheet.batch_update({"requests": [body]})
    assert _charts(sheet)["Sheet1"] == []
