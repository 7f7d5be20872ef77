"""Embedded charts: ``addChart``, ``updateChartSpec``, ``deleteEmbeddedObject``, and the
``sheets[].charts`` that ``spreadsheets.get`` reports (Sheets API v4's ``EmbeddedChart``).

A chart floats over one tab (its ``overlayPosition``'s anchor cell) and reads its data from
``sourceRange`` grid ranges on any tab. As Google does, the fake moves those ranges with the
rows and columns inserted or deleted under them, and drops the charts of a deleted tab. Only
basic charts (line, bar, column, area...) are modelled: the ones syncbot makes.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator, Mapping
from typing import Any

from syncbot.sandbox.sheets.grid import Workbook, invalid, shift_range

CHART_TYPES = frozenset({"BAR", "LINE", "AREA", "COLUMN", "SCATTER", "COMBO", "STEPPED_AREA"})
STACKED_TYPES = frozenset({"NOT_STACKED", "STACKED", "PERCENT_STACKED"})
AXES = frozenset({"BOTTOM_AXIS", "LEFT_AXIS", "RIGHT_AXIS"})
LEGENDS = frozenset({"BOTTOM_LEGEND", "LEFT_LEGEND", "RIGHT_LEGEND", "TOP_LEGEND", "NO_LEGEND"})
# What Google gives a chart added without a size.
DEFAULT_WIDTH, DEFAULT_HEIGHT = 600, 371


def add_chart(workbook: Workbook, args: dict[str, Any]) -> dict[str, Any]:
    chart = copy.deepcopy(args["chart"])
    _check_spec(workbook, chart.get("spec"))
    taken = {c["chartId"] for c in workbook.charts}
    chart_id = chart.get("chartId")
    if chart_id is not None and (chart_id in taken or not 0 <= int(chart_id) < 2**31):
        raise invalid(f"Invalid chartId {chart_id}: it must be unique and non-negative.")
    while chart_id is None or chart_id in taken:
        chart_id = random.randint(1, 2**31 - 1)
    chart["chartId"] = int(chart_id)
    chart["position"] = _position(workbook, chart.get("position"))
    workbook.charts.append(chart)
    return {"addChart": {"chart": copy.deepcopy(chart)}}


def update_chart_spec(workbook: Workbook, args: dict[str, Any]) -> None:
    chart = _chart(workbook, args.get("chartId"))
    _check_spec(workbook, args.get("spec"))
    chart["spec"] = copy.deepcopy(args["spec"])


def delete_embedded_object(workbook: Workbook, args: dict[str, Any]) -> None:
    workbook.charts.remove(_chart(workbook, args.get("objectId")))


def on_sheet(workbook: Workbook, sheet_id: int) -> list[dict[str, Any]]:
    """The charts floating over a tab, as ``spreadsheets.get`` lists them."""
    return [c for c in workbook.charts if _anchor_sheet(c) == sheet_id]


def moved(workbook: Workbook, sheet_id: int, dimension: str, start: int, delta: int) -> None:
    """Rows or columns were inserted (``delta`` > 0) or deleted at ``start`` of a tab."""
    for chart in workbook.charts:
        for grid_range in _sources(chart["spec"]):
            if grid_range.get("sheetId", 0) == sheet_id:
                shift_range(grid_range, dimension, start, delta)


def sheet_deleted(workbook: Workbook, sheet_id: int) -> None:
    workbook.charts[:] = [c for c in workbook.charts if _anchor_sheet(c) != sheet_id]


def _chart(workbook: Workbook, chart_id: object) -> dict[str, Any]:
    for chart in workbook.charts:
        if chart["chartId"] == chart_id:
            return chart
    raise invalid(f"No chart with id {chart_id}.")


def _anchor_sheet(chart: Mapping[str, Any]) -> int:
    return int(chart["position"]["overlayPosition"]["anchorCell"].get("sheetId", 0))


def _position(workbook: Workbook, position: Mapping[str, Any] | None) -> dict[str, Any]:
    if not position or "overlayPosition" not in position:
        raise invalid("chart.position.overlayPosition is required (newSheet is not supported).")
    overlay = copy.deepcopy(dict(position["overlayPosition"]))
    anchor = overlay.get("anchorCell") or {}
    sheet = workbook.sheet_by_id(anchor.get("sheetId", 0))
    row, col = int(anchor.get("rowIndex", 0)), int(anchor.get("columnIndex", 0))
    if not (0 <= row < sheet.row_count and 0 <= col < sheet.col_count):
        raise invalid(f"Invalid anchorCell: ({row}, {col}) is outside {sheet.title}'s grid.")
    overlay["anchorCell"] = {"sheetId": sheet.sheet_id, "rowIndex": row, "columnIndex": col}
    overlay.setdefault("widthPixels", DEFAULT_WIDTH)
    overlay.setdefault("heightPixels", DEFAULT_HEIGHT)
    return {"overlayPosition": overlay}


def _check_spec(workbook: Workbook, spec: object) -> None:
    if not isinstance(spec, dict):
        raise invalid("A chart spec is required.")
    basic = spec.get("basicChart")
    if not isinstance(basic, dict):
        raise invalid("Only basicChart specs are supported by the sandbox.")
    if basic.get("chartType") not in CHART_TYPES:
        raise invalid(f"Invalid basicChart.chartType: {basic.get('chartType')!r}")
    if basic.get("stackedType", "NOT_STACKED") not in STACKED_TYPES:
        raise invalid(f"Invalid basicChart.stackedType: {basic.get('stackedType')!r}")
    if basic.get("legendPosition", "BOTTOM_LEGEND") not in LEGENDS:
        raise invalid(f"Invalid basicChart.legendPosition: {basic.get('legendPosition')!r}")
    for axis in basic.get("axis", []):
        if axis.get("position") not in AXES:
            raise invalid(f"Invalid basicChart.axis position: {axis.get('position')!r}")
    if not basic.get("series"):
        raise invalid("A basic chart needs at least one series.")
    for series in basic["series"]:
        if series.get("targetAxis", "LEFT_AXIS") not in AXES:
            raise invalid(f"Invalid series targetAxis: {series.get('targetAxis')!r}")
    for grid_range in _sources(spec):
        sheet = workbook.sheet_by_id(grid_range.get("sheetId", 0))
        row0, col0 = grid_range.get("startRowIndex", 0), grid_range.get("startColumnIndex", 0)
        row1 = grid_range.get("endRowIndex", sheet.row_count)
        col1 = grid_range.get("endColumnIndex", sheet.col_count)
        if not (0 <= row0 < row1 <= sheet.row_count and 0 <= col0 < col1 <= sheet.col_count):
            raise invalid(f"Invalid chart source range {dict(grid_range)} on {sheet.title}.")


def _sources(spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every GridRange a basic chart reads, domains and series alike."""
    basic = spec.get("basicChart") or {}
    data = [d.get("domain") for d in basic.get("domains", [])]
    data += [s.get("series") for s in basic.get("series", [])]
    for each in data:
        if not isinstance(each, dict):
            raise invalid("Each domain and series needs its ChartData.")
        sources = (each.get("sourceRange") or {}).get("sources")
        if not sources:
            raise invalid("Each domain and series needs a sourceRange with sources.")
        yield from sources


HANDLERS = {
    "addChart": add_chart,
    "updateChartSpec": update_chart_spec,
    "deleteEmbeddedObject": delete_embedded_object,
}
