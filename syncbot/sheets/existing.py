"""What the spreadsheet holds before a write: its tabs, the Inventory's cells, the newest run.

Pure functions over the JSON of ``spreadsheets.get`` and ``values.batchGet``; the writer does
the calls. The Inventory is read a window of rows at a time with
``valueRenderOption=FORMULA``, so that a changed cell is found by comparing what the sheet
holds with what it should hold, and a formula people typed is kept as a formula; a date
people typed comes as the text they see.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gspread.utils import rowcol_to_a1

from syncbot.models import Key

# One cell as values.get renders it with FORMULA: JSON gives str, int, float or bool.
Value = str | int | float | bool

# The fields of spreadsheets.get the writer needs, and nothing else (no grid data).
METADATA_FIELDS = (
    "properties.title,"
    "sheets(properties(sheetId,title,"
    "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount)),"
    "conditionalFormats,basicFilter,charts(chartId,spec(title)))"
)
# The tab a new spreadsheet comes with; it goes once it is empty and syncbot's tabs exist.
DEFAULT_TAB = "Sheet1"


@dataclass(frozen=True, slots=True)
class Tab:
    sheet_id: int
    title: str
    rows: int
    cols: int
    frozen_rows: int = 0
    frozen_cols: int = 0
    conditional_formats: tuple[Mapping[str, Any], ...] = ()
    basic_filter: Mapping[str, Any] | None = None
    # The charts floating over the tab: their ids and titles.
    charts: tuple[Mapping[str, Any], ...] = ()

    @property
    def cells(self) -> int:
        return self.rows * self.cols


def parse_tabs(metadata: Mapping[str, Any]) -> list[Tab]:
    tabs = []
    for sheet in metadata.get("sheets", []):
        props = sheet["properties"]
        grid = props.get("gridProperties", {})
        tabs.append(
            Tab(
                sheet_id=int(props.get("sheetId", 0)),
                title=props["title"],
                rows=int(grid.get("rowCount", 0)),
                cols=int(grid.get("columnCount", 0)),
                frozen_rows=int(grid.get("frozenRowCount", 0)),
                frozen_cols=int(grid.get("frozenColumnCount", 0)),
                conditional_formats=tuple(sheet.get("conditionalFormats", ())),
                basic_filter=sheet.get("basicFilter"),
                charts=tuple(sheet.get("charts", ())),
            )
        )
    return tabs


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA`` (gspread's A1 helper, without the row)."""
    return rowcol_to_a1(1, index + 1)[:-1]


def display(value: Value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


@dataclass(frozen=True, slots=True)
class FirstWindow:
    """The top of the Inventory tab as read: row 1, then the first window's rows (trailing
    empty cells dropped, as Google does)."""

    tab: Tab
    header: list[Value]
    rows: list[list[Value]]


@dataclass(frozen=True, slots=True)
class SheetState:
    """What a write needs to know: the tabs, the Inventory (when there is one), the newest
    ``Sync log`` row's run and start, and whether the default tab is empty."""

    tabs: list[Tab]
    inventory: FirstWindow | None
    logged: tuple[str, str] | None
    default_tab_blank: bool

    def tab(self, title: str) -> Tab | None:
        return next((tab for tab in self.tabs if tab.title == title), None)


@dataclass(frozen=True, slots=True)
class Reads:
    """The ranges of the one ``values.batchGet`` a write starts with (none: no call)."""

    inventory: str | None
    sync_log: str | None
    default_tab: str | None

    @property
    def ranges(self) -> list[str]:
        return [r for r in (self.inventory, self.sync_log, self.default_tab) if r is not None]


def window_range(title: str, start: int, rows: int) -> str:
    """Whole rows ``[start, start + rows)`` of a tab (0-based, row 1 is 0), every column."""
    return f"{quote_title(title)}!{start + 1}:{start + rows}"


def reads(tabs: Sequence[Tab], *, inventory: str, sync_log: str, window: int) -> Reads:
    """The first read: row 1 and the first ``window`` data rows of the Inventory, the newest
    ``Sync log`` row, and whether the default tab is empty."""
    titles = {tab.title for tab in tabs}
    # Google refuses a range past the tab's last row.
    rows = next((tab.rows for tab in tabs if tab.title == inventory), 0)
    return Reads(
        inventory=window_range(inventory, 0, min(window + 1, rows)) if rows else None,
        sync_log=f"{quote_title(sync_log)}!A2:B2" if sync_log in titles else None,
        # Only once syncbot's tabs exist: the first write moves it aside, the next deletes it.
        default_tab=(
            quote_title(DEFAULT_TAB) if DEFAULT_TAB in titles and inventory in titles else None
        ),
    )


def sheet_state(
    tabs: list[Tab], wanted: Reads, value_ranges: Sequence[Mapping[str, Any]], *, inventory: str
) -> SheetState:
    answers = iter(value_ranges)
    old = logged = None
    blank_default = False
    if wanted.inventory is not None:
        grid = values(next(answers))
        tab = next(tab for tab in tabs if tab.title == inventory)
        old = FirstWindow(tab, grid[0] if grid else [], grid[1:])
    if wanted.sync_log is not None:
        newest = values(next(answers))
        if newest and len(newest[0]) >= 2:
            logged = (display(newest[0][0]), display(newest[0][1]))
    if wanted.default_tab is not None:
        blank_default = not values(next(answers))
    return SheetState(tabs, old, logged, blank_default)


def values(value_range: Mapping[str, Any]) -> list[list[Value]]:
    """The rows of a ``ValueRange`` (JSON arrays already, not copied: a window is large)."""
    rows: list[list[Value]] = value_range.get("values", [])
    return rows


def row_key(row: Sequence[Value], key_cols: Sequence[int]) -> Key:
    a, b, c = key_cols
    if len(row) > max(key_cols):
        source, account, number_id = row[a], row[b], row[c]
        # The common case, without a call per cell: the sheet's keys are text, as written.
        if type(source) is str and type(account) is str and type(number_id) is str:
            return (source, account, number_id)
    source, account, number_id = (display(row[i]) if i < len(row) else "" for i in key_cols)
    return (source, account, number_id)
