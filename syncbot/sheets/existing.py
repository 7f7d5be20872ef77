"""What the spreadsheet holds before a write: its tabs, and the columns people added to Inventory.

Pure functions over the JSON of ``spreadsheets.get`` and ``values.batchGet``; the writer does
the calls. People's cells are read with ``valueRenderOption=FORMULA`` so that a formula they
typed is written back as a formula, and a number as a number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gspread.utils import rowcol_to_a1

from syncbot.models import Key
from syncbot.sheets.layout import INVENTORY_HEADER, KEY_COLUMNS

# One cell as values.get renders it with FORMULA: JSON gives str, int, float or bool.
Value = str | int | float | bool

# The fields of spreadsheets.get the writer needs, and nothing else (no grid data).
METADATA_FIELDS = (
    "properties.title,"
    "sheets(properties(sheetId,title,"
    "gridProperties(rowCount,columnCount,frozenRowCount,frozenColumnCount)),"
    "conditionalFormats,basicFilter)"
)


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
            )
        )
    return tabs


def quote_title(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA`` (gspread's A1 helper, without the row)."""
    return rowcol_to_a1(1, index + 1)[:-1]


@dataclass(frozen=True, slots=True)
class OldRow:
    key: Key
    extras: tuple[Value, ...]

    @property
    def has_notes(self) -> bool:
        return any(value != "" for value in self.extras)


@dataclass(frozen=True, slots=True)
class OldInventory:
    """The Inventory rows before the write, reduced to each row's key and people's cells."""

    headers: tuple[str, ...] = ()
    rows: tuple[OldRow, ...] = ()
    by_key: dict[Key, OldRow] = field(default_factory=dict)
    # How many people's columns there are (some may have data but no header).
    width: int = 0

    def notes(self, row: OldRow) -> list[tuple[str, str]]:
        """The non-empty people's cells of ``row`` as (column header, text) pairs."""
        pairs = []
        for position, value in enumerate(row.extras):
            if value == "":
                continue
            header = self.headers[position] if position < len(self.headers) else ""
            label = header or f"column {column_letter(len(INVENTORY_HEADER) + position)}"
            pairs.append((label, display(value)))
        return pairs


def display(value: Value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def targeted_ranges(tab: Tab) -> list[str]:
    """The header row, the key columns and people's columns: all a write needs from Inventory.

    Valid only while the managed columns sit where the writer puts them; ``fits`` checks it.
    """
    title = quote_title(tab.title)
    last = column_letter(max(tab.cols, 1) - 1)
    ranges = [f"{title}!A1:{last}1"]
    if tab.rows < 2:
        return ranges
    first_key, last_key = column_letter(KEY_COLUMNS[0]), column_letter(KEY_COLUMNS[-1])
    ranges.append(f"{title}!{first_key}2:{last_key}{tab.rows}")
    if tab.cols > len(INVENTORY_HEADER):
        ranges.append(f"{title}!{column_letter(len(INVENTORY_HEADER))}2:{last}{tab.rows}")
    return ranges


def whole_range(tab: Tab) -> str:
    return quote_title(tab.title)


def _values(value_range: Mapping[str, Any]) -> list[list[Value]]:
    return [list(row) for row in value_range.get("values", [])]


def fits(value_ranges: Sequence[Mapping[str, Any]]) -> bool:
    """Whether row 1 starts with the managed header, so the targeted ranges mean what we think."""
    header = _values(value_ranges[0]) if value_ranges else []
    first = [display(v) for v in header[0]] if header else []
    return tuple(first[: len(INVENTORY_HEADER)]) == INVENTORY_HEADER


def from_targeted(value_ranges: Sequence[Mapping[str, Any]]) -> OldInventory:
    """Read the answer to ``targeted_ranges`` (when ``fits`` holds)."""
    header = [display(v) for v in (_values(value_ranges[0]) or [[]])[0]]
    keys = _values(value_ranges[1]) if len(value_ranges) > 1 else []
    extras = _values(value_ranges[2]) if len(value_ranges) > 2 else []
    width = max([len(header) - len(INVENTORY_HEADER), *(len(row) for row in extras), 0])
    # Google drops trailing empty cells, so a row may come back shorter than its range.
    rows = [
        _pad(keys[i] if i < len(keys) else [], len(KEY_COLUMNS))
        + _pad(extras[i] if i < len(extras) else [], width)
        for i in range(max(len(keys), len(extras)))
    ]
    extra_headers = header[len(INVENTORY_HEADER) :]
    keys_at = list(range(len(KEY_COLUMNS)))
    return _build(
        extra_headers, rows, keys_at, list(range(len(KEY_COLUMNS), len(KEY_COLUMNS) + width))
    )


def from_grid(value_range: Mapping[str, Any]) -> OldInventory:
    """Read a whole Inventory whose columns were moved: map them by their header."""
    grid = _values(value_range)
    if not grid:
        return OldInventory()
    header = [display(v) for v in grid[0]]
    width = max(len(row) for row in grid)
    header += [""] * (width - len(header))
    managed: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in INVENTORY_HEADER:
            managed.setdefault(name, position)
    key_names = [INVENTORY_HEADER[c] for c in KEY_COLUMNS]
    key_cols = tuple(managed.get(name, -1) for name in key_names)
    taken = set(managed.values())
    extra_cols = [
        c
        for c in range(width)
        if c not in taken and (header[c] or any(c < len(row) and row[c] != "" for row in grid))
    ]
    return _build([header[c] for c in extra_cols], grid[1:], key_cols, extra_cols)


def _pad(row: list[Value], width: int) -> list[Value]:
    return row + [""] * (width - len(row))


def _build(
    headers: Sequence[str],
    grid: Iterable[list[Value]],
    key_cols: Sequence[int],
    extra_cols: Sequence[int],
) -> OldInventory:
    rows = []
    by_key: dict[Key, OldRow] = {}
    for line in grid:
        source, account, number_id = (
            display(line[c]) if 0 <= c < len(line) else "" for c in key_cols
        )
        extras = tuple(line[c] if c < len(line) else "" for c in extra_cols)
        row = OldRow((source, account, number_id), extras)
        rows.append(row)
        by_key.setdefault(row.key, row)
    return OldInventory(tuple(headers), tuple(rows), by_key, len(extra_cols))
