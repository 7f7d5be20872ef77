"""Charts on the Summary tab: the fake Sheets API's chart requests (driven by plain gspread),
and the writer's two charts, found again and updated on every sync, never added twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import gspread
import pytest
from gspread.exceptions import APIError

from syncbot.models import PhoneNumber, RunResult, SourceResult
from syncbot.sandbox.sheets.kit import SheetsSandbox, phone_number, run_result
from syncbot.sheets import SheetWriter
from syncbot.sheets.charts import HISTORY_TITLE, SOURCES_TITLE, TITLES


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
        ("typo", 'Unknown name "stacked"'),
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
    elif request_ == "typo":
        spec["basicChart"]["stacked"] = "STACKED"
    body = _add(spec, sheet.sheet1.id) if isinstance(request_, str) else request_
    with pytest.raises(APIError, match=message):
        sheet.batch_update({"requests": [body]})
    assert _charts(sheet)["Sheet1"] == []


# --- the writer's charts and the Summary's money ---------------------------------------------

COSTS = '[{"source": "dialnexa", "monthly": 2.5}, {"country": "US", "monthly": 1.15}]'


def _inventory() -> list[PhoneNumber]:
    """Nine orgapi numbers (every third unassigned since day 1), two dialnexa ones."""
    numbers = [phone_number(i) for i in range(1, 10)]
    numbers += [
        phone_number(20, source="dialnexa", country_code="GB", number_type="mobile"),
        phone_number(21, source="dialnexa", country_code=None, agent_id=None, status="unassigned"),
    ]
    return numbers


def _run(run_id: int, *, days: int = 0) -> RunResult:
    run = run_result(run_id, count=11)
    at = run.started_at + dt.timedelta(days=days)
    run.started_at = run.finished_at = at
    run.sources["dialnexa/default"] = SourceResult("dialnexa", "default", count=2, pages=1)
    return run


def _sheet_charts(box: SheetsSandbox) -> dict[str, dict[str, Any]]:
    workbook = box.fake.workbook(box.spreadsheet_id)
    return {c["spec"]["title"]: c for c in workbook.charts}


def _sources(chart: dict[str, Any], part: str) -> list[tuple[Any, ...]]:
    basic = chart["spec"]["basicChart"]
    data = [d["domain"] for d in basic["domains"]] if part == "domain" else basic["series"]
    out = []
    for each in data:
        ranges = each.get("series", each)["sourceRange"]["sources"]
        for r in ranges:
            out.append(
                (r["sheetId"], r["startRowIndex"], r.get("endRowIndex"), r["startColumnIndex"])
            )
    return out


def test_three_syncs_leave_exactly_two_charts_reading_the_right_ranges(
    box: SheetsSandbox,
) -> None:
    writer = SheetWriter(box.settings(NUMBER_COSTS=COSTS), retry_wait_initial=0.01)
    ids: list[set[int]] = []
    for run_id in (1, 2, 3):
        writer.write(inventory=_inventory(), changes=[], run=_run(run_id))
        charts = box.fake.workbook(box.spreadsheet_id).charts
        assert sorted(c["spec"]["title"] for c in charts) == sorted(TITLES)
        ids.append({c["chartId"] for c in charts})
    # Found again and updated each time, never added again.
    assert ids[0] == ids[1] == ids[2]

    workbook = box.fake.workbook(box.spreadsheet_id)
    summary, log = (workbook.sheet_by_title(t) for t in ("Summary", "Sync log"))
    assert summary is not None
    assert log is not None
    charts = _sheet_charts(box)
    history, by_source = charts[HISTORY_TITLE], charts[SOURCES_TITLE]
    assert {c["position"]["overlayPosition"]["anchorCell"]["sheetId"] for c in charts.values()} == {
        summary.sheet_id
    }
    # Every run the Sync log keeps: Finished at against the unassigned numbers and their cost.
    assert _sources(history, "domain") == [(log.sheet_id, 0, None, 2)]
    assert _sources(history, "series") == [(log.sheet_id, 0, None, 5), (log.sheet_id, 0, None, 12)]
    assert history["spec"]["basicChart"]["domains"][0]["reversed"] is True
    assert [row[0] for row in box.fake.values(box.spreadsheet_id, "Sync log")[1:]] == [
        "3",
        "2",
        "1",
    ]
    # The Summary's table of sources: the header and one row per source.
    rows = box.fake.values(box.spreadsheet_id, "Summary")
    assert rows[5][:4] == ["Source / account", "Numbers", "Assigned", "Unassigned"]
    assert [r[:4] for r in rows[6:8]] == [
        ["dialnexa/default", "2", "1", "1"],
        ["orgapi/default", "9", "6", "3"],
    ]
    assert _sources(by_source, "domain") == [(summary.sheet_id, 5, 8, 0)]
    assert _sources(by_source, "series") == [
        (summary.sheet_id, 5, 8, 2),
        (summary.sheet_id, 5, 8, 3),
    ]
    assert by_source["spec"]["basicChart"]["stackedType"] == "STACKED"


def test_a_copied_chart_is_removed_and_a_deleted_one_comes_back(box: SheetsSandbox) -> None:
    writer = SheetWriter(box.settings(), retry_wait_initial=0.01)
    writer.write(inventory=_inventory(), changes=[], run=_run(1))
    sheet = box.spreadsheet()
    charts = _sheet_charts(box)
    copy = {k: v for k, v in charts[HISTORY_TITLE].items() if k != "chartId"}
    gone = charts[SOURCES_TITLE]["chartId"]
    sheet.batch_update(
        {
            "requests": [
                {"addChart": {"chart": copy}},
                {"deleteEmbeddedObject": {"objectId": gone}},
            ]
        }
    )
    writer.write(inventory=_inventory(), changes=[], run=_run(2))
    after = box.fake.workbook(box.spreadsheet_id).charts
    assert sorted(c["spec"]["title"] for c in after) == sorted(TITLES)
    # Without costs, the history chart draws the unassigned numbers alone.
    assert len(_sheet_charts(box)[HISTORY_TITLE]["spec"]["basicChart"]["series"]) == 1


def test_the_summary_says_what_all_unassigned_and_long_idle_numbers_cost(
    box: SheetsSandbox,
) -> None:
    writer = SheetWriter(box.settings(NUMBER_COSTS=COSTS), retry_wait_initial=0.01)
    writer.write(inventory=_inventory(), changes=[], run=_run(1))
    rows = box.fake.values(box.spreadsheet_id, "Summary")
    head = rows.index(["Monthly cost (USD)", "All numbers", "Unassigned", "Unassigned 30+ days"])
    # 9 US numbers at 1.15 (3 unassigned) and 2 dialnexa at 2.5 (1 unassigned); the unassigned
    # became so on day 1 of the sandbox's calendar, a day before this run: none idle 30 days.
    assert rows[head + 1] == ["All", "15.35", "5.95", "0.00"]
    # Amounts show with the currency's decimals. A month later the same numbers have been idle
    # for 30 days and more.
    writer.write(inventory=_inventory(), changes=[], run=_run(2, days=31))
    rows = box.fake.values(box.spreadsheet_id, "Summary")
    assert rows[head + 1] == ["All", "15.35", "5.95", "5.95"]
    by_source = rows.index(["Cost by source / account", *rows[head][1:]])
    assert rows[by_source + 1 : by_source + 3] == [
        ["dialnexa/default", "5.00", "2.50", "2.50"],
        ["orgapi/default", "10.35", "3.45", "3.45"],
    ]
    by_country = rows.index(["Cost by country", *rows[head][1:]])
    assert rows[by_country + 1 : by_country + 4] == [
        ["(none)", "2.50", "2.50", "2.50"],
        ["GB", "2.50", "0.00", "0.00"],
        ["US", "10.35", "3.45", "3.45"],
    ]
    assert ["Cost by type", *rows[head][1:]] in rows
    log = box.fake.values(box.spreadsheet_id, "Sync log")
    assert log[0][12] == "Unassigned monthly cost"
