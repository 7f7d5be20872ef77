"""The fake's spreadsheet model: tabs of cells with Google's limits and error messages.

A batchUpdate works on ``Workbook.clone()`` and is committed only when every request passed,
which is what makes Google's batchUpdate all-or-nothing. Cells are immutable, so a clone
copies row lists, not cells.
"""

from __future__ import annotations

import copy
import math
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from syncbot.sandbox.sheets import a1
from syncbot.sandbox.sheets.errors import ApiError, invalid
from syncbot.sandbox.sheets.typed import (
    CHAR_LIMIT,
    Cell,
    check_text,
    format_value,
    json_number,
    parse_raw,
    parse_user_entered,
)

__all__ = [
    "CHAR_LIMIT",
    "ApiError",
    "Cell",
    "check_text",
    "format_value",
    "invalid",
    "parse_raw",
    "parse_user_entered",
]

CELL_LIMIT = 10_000_000
MAX_COLUMNS = 18_278
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26


_MODELLED = {"sheetId", "title", "index", "sheetType", "gridProperties", "hidden"}
_MODELLED_GRID = {"rowCount", "columnCount", "frozenRowCount", "frozenColumnCount"}


def _color_style(style: Any) -> dict[str, Any]:
    """A ColorStyle as Google keeps it: 8 bits a channel, zero channels left out."""
    if not isinstance(style, Mapping):
        return {}
    if style.get("themeColor"):
        return {"themeColor": style["themeColor"]}
    rgb = style.get("rgbColor") or {}
    channels = {
        name: _channel(float(rgb[name]))
        for name in ("red", "green", "blue", "alpha")
        if rgb.get(name) and (name != "alpha" or float(rgb[name]) != 1)
    }
    return {"rgbColor": channels} if rgb else {}


def _channel(value: float) -> float | int:
    """``value`` cut to 1/255 and shown as Google shows a float32: 0.5 -> 0.49803922."""
    # Google truncates to 8 bits (0.5 is 127/255), whatever float noise the client sent.
    stored = struct.pack("f", math.floor(value * 255 + 1e-6) / 255)
    for digits in range(1, 10):
        short = float(f"{struct.unpack('f', stored)[0]:.{digits}g}")
        if struct.pack("f", short) == stored:
            return json_number(short)
    return json_number(float(struct.unpack("f", stored)[0]))


def _shift(index: int | None, start: int, delta: int, *, is_end: bool) -> int | None:
    """A range edge after ``delta`` rows/columns are inserted (>0) or deleted (<0) at ``start``."""
    if index is None:
        return None
    if delta > 0:
        moves = index > start if is_end else index >= start
        return index + delta if moves else index
    end = start - delta
    if index <= start:
        return index
    return start if index <= end else index + delta


def shift_range(grid_range: dict[str, Any], dimension: str, start: int, delta: int) -> None:
    keys = (
        ("startRowIndex", "endRowIndex")
        if dimension == "ROWS"
        else ("startColumnIndex", "endColumnIndex")
    )
    for key, is_end in zip(keys, (False, True), strict=True):
        if key in grid_range:
            grid_range[key] = _shift(grid_range[key], start, delta, is_end=is_end)


@dataclass(slots=True)
class Sheet:
    sheet_id: int
    title: str
    index: int = 0
    row_count: int = DEFAULT_ROWS
    col_count: int = DEFAULT_COLS
    hidden: bool = False
    frozen_rows: int = 0
    frozen_cols: int = 0
    rows: list[list[Cell | None]] = field(default_factory=list)
    col_sizes: dict[int, dict[str, Any]] = field(default_factory=dict)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    # The SheetProperties the fake keeps without acting on them (tabColorStyle, rightToLeft,
    # gridProperties.hideGridlines, ...), as spreadsheets.get reports them.
    kept: dict[str, Any] = field(default_factory=dict)

    def clone(self) -> Sheet:
        return replace(
            self,
            rows=[list(row) for row in self.rows],
            col_sizes=copy.deepcopy(self.col_sizes),
            conditional_formats=copy.deepcopy(self.conditional_formats),
            basic_filter=copy.deepcopy(self.basic_filter),
            kept=copy.deepcopy(self.kept),
        )

    @property
    def cells(self) -> int:
        return self.row_count * self.col_count

    def get(self, row: int, col: int) -> Cell | None:
        if row < len(self.rows) and col < len(self.rows[row]):
            return self.rows[row][col]
        return None

    def get_row(self, row: int | None) -> list[Cell | None]:
        return self.rows[row] if row is not None and 0 <= row < len(self.rows) else []

    def put(self, row: int, col: int, cell: Cell | None) -> None:
        if cell is None and self.get(row, col) is None:
            return
        while len(self.rows) <= row:
            self.rows.append([])
        line = self.rows[row]
        if len(line) <= col:
            line.extend([None] * (col + 1 - len(line)))
        line[col] = cell

    def check_inside(self, row1: int, col1: int, label: str) -> None:
        if row1 > self.row_count or col1 > self.col_count:
            raise invalid(
                f"Range ({label}) exceeds grid limits. Max rows: {self.row_count}, "
                f"max columns: {self.col_count}"
            )

    def properties(self) -> dict[str, Any]:
        grid: dict[str, Any] = {"rowCount": self.row_count, "columnCount": self.col_count}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_cols:
            grid["frozenColumnCount"] = self.frozen_cols
        props: dict[str, Any] = {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }
        if self.hidden:
            props["hidden"] = True
        for key, value in self.kept.items():
            if key == "gridProperties":
                grid.update(value)
            else:
                props[key] = copy.deepcopy(value)
        return props

    def keep(self, props: Mapping[str, Any]) -> None:
        """Keep the properties of ``props`` that the fake does not model, colours as Google
        stores them; what is empty (a colour set to null) is dropped."""
        kept = {k: v for k, v in props.items() if k not in _MODELLED}
        grid = {
            k: v
            for k, v in (props.get("gridProperties") or {}).items()
            if k not in _MODELLED_GRID and v not in (None, False)
        }
        if grid:
            kept["gridProperties"] = grid
        style = _color_style(kept.pop("tabColorStyle", None))
        kept.pop("tabColor", None)
        if style:
            kept["tabColorStyle"] = style
            if "rgbColor" in style:
                kept["tabColor"] = style["rgbColor"]
        self.kept = {k: v for k, v in kept.items() if v not in (None, {}, False)}

    def values(self) -> list[list[str]]:
        """What a person reading the tab sees, trailing empty cells and rows dropped."""
        out: list[list[str]] = []
        for line in self.rows:
            shown = [c.shown() if c is not None else "" for c in line]
            while shown and shown[-1] == "":
                shown.pop()
            out.append(shown)
        while out and not out[-1]:
            out.pop()
        return out

    # -- dimensions --------------------------------------------------------------------------

    def insert(
        self, dimension: str, start: int, count: int, *, inherit_from: int | None = None
    ) -> None:
        """Insert ``count`` empty rows or columns at ``start``; with ``inherit_from`` (the
        index, before the insertion, of the row or column next to them) they take its
        formats and a column its width, as Google's insertDimension does."""
        if dimension == "ROWS":
            model = self.get_row(inherit_from)
            blank = [Cell(fmt=c.fmt) if c is not None and c.fmt else None for c in model]
            if not any(blank):
                blank = []
            if blank or start < len(self.rows):
                self.rows.extend([] for _ in range(start - len(self.rows)))
                self.rows[start:start] = [list(blank) for _ in range(count)]
            self.row_count += count
        else:
            for line in self.rows:
                beside = (
                    line[inherit_from]
                    if inherit_from is not None and inherit_from < len(line)
                    else None
                )
                fill = Cell(fmt=beside.fmt) if beside is not None and beside.fmt else None
                if start < len(line) or fill is not None:
                    line.extend([None] * (start - len(line)))
                    line[start:start] = [fill] * count
            self.col_count += count
            size = self.col_sizes.get(inherit_from) if inherit_from is not None else None
            self.col_sizes = {
                (i + count if i >= start else i): v for i, v in self.col_sizes.items()
            }
            # The neighbour's dimension properties (its width) extend to the new columns.
            if size is not None:
                for column in range(start, start + count):
                    self.col_sizes[column] = copy.deepcopy(size)
        self._shift_ranges(dimension, start, count)

    def delete(self, dimension: str, start: int, end: int) -> None:
        count = end - start
        if dimension == "ROWS":
            if self.row_count - count <= self.frozen_rows:
                raise invalid("Sorry, it is not possible to delete all non-frozen rows.")
            del self.rows[start:end]
            self.row_count -= count
        else:
            if self.col_count - count <= self.frozen_cols:
                raise invalid("Sorry, it is not possible to delete all non-frozen columns.")
            for line in self.rows:
                del line[start:end]
            self.col_count -= count
            self.col_sizes = {
                (i - count if i >= end else i): v
                for i, v in self.col_sizes.items()
                if not start <= i < end
            }
        self._shift_ranges(dimension, start, -count)

    def resize(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1:
            raise invalid("Invalid grid size: rowCount and columnCount must be at least 1")
        if cols > MAX_COLUMNS:
            raise invalid(f"This action would increase the number of columns above {MAX_COLUMNS}.")
        if cols < self.col_count:
            self.delete("COLUMNS", cols, self.col_count)
        elif cols > self.col_count:
            self.insert("COLUMNS", self.col_count, cols - self.col_count)
        if rows < self.row_count:
            self.delete("ROWS", rows, self.row_count)
        elif rows > self.row_count:
            self.insert("ROWS", self.row_count, rows - self.row_count)

    def _shift_ranges(self, dimension: str, start: int, delta: int) -> None:
        # Google moves the ranges of rules and filters with the cells they cover.
        for rule in self.conditional_formats:
            for grid_range in rule.get("ranges", []):
                shift_range(grid_range, dimension, start, delta)
        if self.basic_filter is not None:
            shift_range(self.basic_filter.setdefault("range", {}), dimension, start, delta)


@dataclass(slots=True)
class Workbook:
    spreadsheet_id: str
    title: str
    sheets: list[Sheet] = field(default_factory=list)
    # e-mail -> "writer" | "reader"
    shared_with: dict[str, str] = field(default_factory=dict)
    version: int = 0
    # Embedded charts (see ``charts``), each floating over one tab and reading any tabs.
    charts: list[dict[str, Any]] = field(default_factory=list)

    def clone(self) -> Workbook:
        return replace(
            self,
            sheets=[sheet.clone() for sheet in self.sheets],
            shared_with=dict(self.shared_with),
            charts=copy.deepcopy(self.charts),
        )

    def sheet_by_id(self, sheet_id: object) -> Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise invalid(f"No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> Sheet | None:
        return next((sheet for sheet in self.sheets if sheet.title == title), None)

    def reindex(self) -> None:
        self.sheets.sort(key=lambda sheet: sheet.index)
        for position, sheet in enumerate(self.sheets):
            sheet.index = position

    def total_cells(self) -> int:
        return sum(sheet.cells for sheet in self.sheets)

    def check_cells(self) -> None:
        if self.total_cells() > CELL_LIMIT:
            raise invalid(
                "This action would increase the number of cells in the workbook above the "
                f"limit of {CELL_LIMIT} cells."
            )

    def resolve(self, text: str) -> tuple[Sheet, a1.A1]:
        """The tab and cells an A1 range names; the first tab when it names none."""
        try:
            title, cells = a1.split_sheet(text)
            if title is None and cells is not None and self.sheet_by_title(cells) is not None:
                title, cells = cells, None
            first = min(self.sheets, key=lambda each: each.index) if self.sheets else None
            sheet = self.sheet_by_title(title) if title is not None else first
            if sheet is None:
                raise ValueError(text)
            found = (
                a1.A1(sheet.title)
                if cells is None
                else replace(a1.parse_cells(cells), sheet=sheet.title)
            )
        except ValueError:
            raise invalid(f"Unable to parse range: {text}") from None
        return sheet, found

    def tabs(self) -> Iterator[Sheet]:
        return iter(sorted(self.sheets, key=lambda sheet: sheet.index))


def corners(workbook: Workbook, spec: Mapping[str, Any]) -> tuple[Sheet, int, int, int, int]:
    """A GridRange's tab and bounded corners; missing indices reach the grid's edges."""
    sheet = workbook.sheet_by_id(spec.get("sheetId", 0))
    row0, col0 = int(spec.get("startRowIndex", 0)), int(spec.get("startColumnIndex", 0))
    row1 = int(spec.get("endRowIndex", sheet.row_count))
    col1 = int(spec.get("endColumnIndex", sheet.col_count))
    if min(row0, col0) < 0 or row1 < row0 or col1 < col0:
        raise invalid(f"Invalid range: {dict(spec)}")
    sheet.check_inside(row1, col1, f"{sheet.title} rows {row0}-{row1}, columns {col0}-{col1}")
    return sheet, row0, col0, row1, col1
