"""The fake's spreadsheet model: tabs of cells with Google's limits and error messages.

A batchUpdate works on ``Workbook.clone()`` and is committed only when every request passed,
which is what makes Google's batchUpdate all-or-nothing. Cells are immutable, so a clone
copies row lists, not cells.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from syncbot.sandbox.sheets import a1

CELL_LIMIT = 10_000_000
CHAR_LIMIT = 50_000
MAX_COLUMNS = 18_278
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26

STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


class ApiError(Exception):
    """An answer in Google's error shape: ``{"error": {"code", "message", "status"}}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        status = STATUS.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status}}


def invalid(message: str) -> ApiError:
    return ApiError(400, message)


Value = str | float | bool


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell: a constant or a formula (never evaluated), with its format and note."""

    value: Value | None = None
    formula: str | None = None
    fmt: Mapping[str, Any] | None = None
    note: str | None = None

    @property
    def has_value(self) -> bool:
        return self.value is not None or self.formula is not None

    def user_entered(self) -> dict[str, Any] | None:
        if self.formula is not None:
            return {"formulaValue": self.formula}
        if isinstance(self.value, bool):
            return {"boolValue": self.value}
        if isinstance(self.value, float):
            return {"numberValue": _json_number(self.value)}
        if isinstance(self.value, str):
            return {"stringValue": self.value}
        return None

    def shown(self) -> str:
        """The text a person sees in the cell (a formula shows as its text: never evaluated)."""
        if self.formula is not None:
            return self.formula
        return "" if self.value is None else format_value(self.value, self.fmt)

    def rendered(self, option: str) -> Value | int | None:
        """The cell as values.get shows it for ``valueRenderOption``.

        Formulas are not evaluated: every rendering shows the formula's text.
        """
        if self.formula is not None:
            return self.formula
        if self.value is None or isinstance(self.value, str):
            return self.value
        if option == "FORMATTED_VALUE":
            return format_value(self.value, self.fmt)
        if isinstance(self.value, float):
            return _json_number(self.value)
        return self.value


def _json_number(value: float) -> float | int:
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


# The number formats the fake renders: thousands separators and a fixed count of decimals.
_GROUPED_FORMAT = re.compile(r"^#,##0(?:\.(0+))?$")


def format_value(value: Value, fmt: Mapping[str, Any] | None = None) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        pattern = ((fmt or {}).get("numberFormat") or {}).get("pattern", "")
        grouped = _GROUPED_FORMAT.match(pattern)
        if grouped:
            return f"{value:,.{len(grouped.group(1) or '')}f}"
        return str(_json_number(value))
    return value


def check_text(text: str) -> None:
    # Counted in UTF-16 code units, the stricter reading of Google's limit (its documentation
    # says characters; an emoji is one character but two units). Counted here on its own, not
    # with the writer's helper, so that a fault there cannot hide from this check.
    if len(text) * 2 > CHAR_LIMIT and len(text.encode("utf-16-le")) // 2 > CHAR_LIMIT:
        raise invalid(
            f"Your input contains more than the maximum of {CHAR_LIMIT} characters in a single "
            "cell."
        )


def parse_user_entered(value: object) -> Cell | None:
    """A value as if typed by a person (``valueInputOption=USER_ENTERED``)."""
    if not isinstance(value, str) or value == "":
        return parse_raw(value)
    check_text(value)
    return Cell(formula=value) if value.startswith("=") and len(value) > 1 else Cell(_typed(value))


def _typed(value: str) -> Value:
    """What Sheets makes of typed text: a leading ' forces text; numbers and booleans parse."""
    text = value.strip()
    parsed: Value = value
    if value.startswith("'"):
        parsed = value[1:]
    elif text.upper() in {"TRUE", "FALSE"}:
        parsed = text.upper() == "TRUE"
    elif _NUMBER.match(text) or _GROUPED.match(text):
        parsed = float(text.replace(",", ""))
    elif text.endswith("%") and _NUMBER.match(text[:-1]):
        parsed = float(text[:-1]) / 100
    return parsed


def parse_raw(value: object) -> Cell | None:
    """A value stored as given (``valueInputOption=RAW``): text stays text."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Cell(value=value)
    if isinstance(value, int | float):
        return Cell(value=float(value))
    if isinstance(value, str):
        check_text(value)
        return Cell(value=value)
    raise invalid(f"Invalid values: {value!r} is not a string, number or boolean")


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

    def clone(self) -> Sheet:
        return replace(
            self,
            rows=[list(row) for row in self.rows],
            col_sizes=copy.deepcopy(self.col_sizes),
            conditional_formats=copy.deepcopy(self.conditional_formats),
            basic_filter=copy.deepcopy(self.basic_filter),
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
        return props

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
        formats, as Google's insertDimension does."""
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
            self.col_sizes = {
                (i + count if i >= start else i): v for i, v in self.col_sizes.items()
            }
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
