"""The Summary tab's two native charts: unassigned numbers (and what they cost) over time, and
numbers by source and status. Pure: requests as bytes, no I/O.

Each sync finds its charts again by title, wherever people moved them, and updates their
spec, so they always read the right ranges; a missing one is added once, and a duplicate (a
chart people copied, or one added by a write whose answer was lost) is deleted. People may move
and resize them: ``updateChartSpec`` leaves the position alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncbot.sheets import ops

HISTORY_TITLE = "Unassigned numbers over time"
SOURCES_TITLE = "Numbers by source and status"
TITLES = (HISTORY_TITLE, SOURCES_TITLE)
WIDTH, HEIGHT = 600, 320
# Empty columns right of the Summary's tables for the charts to float over.
CHART_COLUMNS = 8


@dataclass(frozen=True, slots=True)
class History:
    """The ``Sync log`` columns the history chart reads (newest run first, header on row 1)."""

    sheet_id: int
    at: int
    unassigned: int
    # What the unassigned numbers cost a month, when NUMBER_COSTS is set.
    cost: int | None


@dataclass(frozen=True, slots=True)
class BySource:
    """The Summary's table of sources: its rows (header first) and the columns charted."""

    sheet_id: int
    rows: tuple[int, int]
    name: int
    assigned: int
    unassigned: int


def _column(sheet_id: int, col: int, rows: tuple[int, int | None]) -> dict[str, Any]:
    grid: dict[str, Any] = {
        "sheetId": sheet_id,
        "startRowIndex": rows[0],
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }
    if rows[1] is not None:
        grid["endRowIndex"] = rows[1]
    return {"sourceRange": {"sources": [grid]}}


def history_spec(history: History) -> dict[str, Any]:
    """A line per measure, one point per sync; the range is open-ended so that every run the
    ``Sync log`` keeps is charted, and reversed so that time runs left to right."""
    rows = (0, None)
    series = [
        {
            "series": _column(history.sheet_id, history.unassigned, rows),
            "targetAxis": "LEFT_AXIS",
        }
    ]
    axes = [{"position": "BOTTOM_AXIS", "title": "Sync"}, {"position": "LEFT_AXIS"}]
    if history.cost is not None:
        series.append(
            {"series": _column(history.sheet_id, history.cost, rows), "targetAxis": "RIGHT_AXIS"}
        )
        axes.append({"position": "RIGHT_AXIS"})
    return {
        "title": HISTORY_TITLE,
        "basicChart": {
            "chartType": "LINE",
            "legendPosition": "BOTTOM_LEGEND",
            "headerCount": 1,
            "axis": axes,
            "domains": [{"domain": _column(history.sheet_id, history.at, rows), "reversed": True}],
            "series": series,
        },
    }


def sources_spec(table: BySource) -> dict[str, Any]:
    """Stacked bars: each source's assigned and unassigned numbers."""
    return {
        "title": SOURCES_TITLE,
        "basicChart": {
            "chartType": "BAR",
            "stackedType": "STACKED",
            "legendPosition": "BOTTOM_LEGEND",
            "headerCount": 1,
            "axis": [{"position": "BOTTOM_AXIS", "title": "Numbers"}, {"position": "LEFT_AXIS"}],
            "domains": [{"domain": _column(table.sheet_id, table.name, table.rows)}],
            "series": [
                {"series": _column(table.sheet_id, col, table.rows), "targetAxis": "BOTTOM_AXIS"}
                for col in (table.assigned, table.unassigned)
            ],
        },
    }


def found(existing: Iterable[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Our charts' ids by title, among the charts ``spreadsheets.get`` lists on every tab."""
    out: dict[str, list[int]] = {}
    for chart in existing:
        title = chart.get("spec", {}).get("title")
        if title in TITLES:
            out.setdefault(title, []).append(int(chart["chartId"]))
    return out


def chart_requests(
    existing: Mapping[str, Sequence[int]],
    *,
    history: History,
    by_source: BySource,
    anchor_col: int,
) -> list[bytes]:
    """Requests leaving exactly one of each chart, reading the ranges of this sync."""
    out: list[bytes] = []
    for place, spec in enumerate((history_spec(history), sources_spec(by_source))):
        ids = existing.get(spec["title"], [])
        if not ids:
            # Both float from the Summary's first row, one under the other: the tab may be
            # only a few rows long, and an anchor cell must be inside its grid.
            anchor = {"sheetId": by_source.sheet_id, "rowIndex": 0, "columnIndex": anchor_col}
            overlay = {
                "anchorCell": anchor,
                "offsetYPixels": place * (HEIGHT + 20),
                "widthPixels": WIDTH,
                "heightPixels": HEIGHT,
            }
            chart = {"spec": spec, "position": {"overlayPosition": overlay}}
            out.append(ops.op("addChart", {"chart": chart}))
            continue
        out.append(ops.op("updateChartSpec", {"chartId": ids[0], "spec": spec}))
        out += [ops.op("deleteEmbeddedObject", {"objectId": extra}) for extra in ids[1:]]
    return out
