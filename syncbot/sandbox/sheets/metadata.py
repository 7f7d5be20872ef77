"""``spreadsheets.get``: the spreadsheet's properties, its tabs, and their cells on request.

Cells come with ``includeGridData=true`` or whenever the ``fields`` mask names ``sheets.data``,
as Google's do; what the mask leaves of a cell, a row or a range is then trimmed the way
Google trims it (trailing empty cells and rows go, an empty range is ``{}``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from syncbot.sandbox.sheets import a1, charts, defaults, fields
from syncbot.sandbox.sheets.grid import Cell, Sheet, Workbook

# Google's default row height and column width, in pixels.
_ROW_PIXELS, _COLUMN_PIXELS = 21, 100


def spreadsheet(
    workbook: Workbook, *, ranges: Sequence[str], grid_data: bool, mask: str | None
) -> dict[str, Any]:
    """Every tab (or those ``ranges`` name), with cells on request."""
    tree = fields.parse(mask) if mask else None
    if tree is not None and "data" in tree.get("sheets", {}):
        grid_data = True
    wanted: dict[int, list[a1.A1]] = {}
    for text in ranges:
        sheet, found = workbook.resolve(text)
        wanted.setdefault(sheet.sheet_id, []).append(found)
    sheets = []
    for sheet in workbook.tabs():
        if ranges and sheet.sheet_id not in wanted:
            continue
        entry: dict[str, Any] = {"properties": sheet.properties()}
        if sheet.conditional_formats:
            entry["conditionalFormats"] = [
                {**rule, "ranges": [_grid_range(r) for r in rule.get("ranges", [])]}
                for rule in sheet.conditional_formats
            ]
        if sheet.basic_filter is not None:
            entry["basicFilter"] = {
                **sheet.basic_filter,
                "range": _grid_range(sheet.basic_filter.get("range", {})),
            }
        floating = charts.on_sheet(workbook, sheet.sheet_id)
        if floating:
            entry["charts"] = floating
        if grid_data:
            entry["data"] = [
                _grid_data(sheet, r) for r in wanted.get(sheet.sheet_id, [a1.A1(sheet.title)])
            ]
        sheets.append(entry)
    body = {
        "spreadsheetId": workbook.spreadsheet_id,
        "properties": defaults.spreadsheet_properties(workbook.title),
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{workbook.spreadsheet_id}/edit",
    }
    if tree is None:
        return body
    selected = fields.select(body, tree)
    for entry in selected.get("sheets", []):
        if "data" in entry:
            entry["data"] = [_trimmed(data) for data in entry["data"]]
    return dict(selected)


def _grid_range(grid_range: dict[str, Any]) -> dict[str, Any]:
    """A GridRange as Google answers it: sheetId 0, the default, is left out."""
    return {k: v for k, v in grid_range.items() if not (k == "sheetId" and v == 0)}


def _grid_data(sheet: Sheet, found: a1.A1) -> dict[str, Any]:
    row0, col0, row1, col1 = found.clamp(sheet.row_count, sheet.col_count)
    row_data = []
    for r in range(row0, min(row1, len(sheet.rows))):
        row_data.append({"values": [_cell_data(sheet.get(r, c)) for c in range(col0, col1)]})
    data: dict[str, Any] = {}
    if row0:
        data["startRow"] = row0
    if col0:
        data["startColumn"] = col0
    data["rowData"] = row_data
    data["rowMetadata"] = [{"pixelSize": _ROW_PIXELS} for _ in range(row0, row1)]
    data["columnMetadata"] = [
        {"pixelSize": _COLUMN_PIXELS, **sheet.col_sizes.get(c, {})} for c in range(col0, col1)
    ]
    return _trimmed(data)


def _trimmed(data: dict[str, Any]) -> dict[str, Any]:
    """Trailing empty cells and rows dropped, and an emptied list with them."""
    rows = data.get("rowData")
    if rows is None:
        return data
    for row in rows:
        values = row.get("values", [])
        while values and not values[-1]:
            values.pop()
        if not values:
            row.pop("values", None)
    while rows and not rows[-1]:
        rows.pop()
    if not rows:
        data.pop("rowData")
    return data


def _cell_data(cell: Cell | None) -> dict[str, Any]:
    if cell is None:
        return {}
    out: dict[str, Any] = {}
    entered = cell.user_entered()
    if entered is not None:
        out["userEnteredValue"] = entered
        effective = cell.effective()
        if effective is not None:
            out["effectiveValue"] = effective
        out["formattedValue"] = cell.shown()
    if cell.fmt:
        out["userEnteredFormat"] = _paired(copy.deepcopy(dict(cell.fmt)))
    if cell.note:
        out["note"] = cell.note
    return out


# A colour and its ColorStyle: Google answers both, whichever the request set.
_COLOR_PAIRS = (("backgroundColor", "backgroundColorStyle"),)
_TEXT_COLOR_PAIRS = (("foregroundColor", "foregroundColorStyle"),)


def _paired(fmt: dict[str, Any]) -> dict[str, Any]:
    _pair(fmt, _COLOR_PAIRS)
    if isinstance(fmt.get("textFormat"), dict):
        _pair(fmt["textFormat"], _TEXT_COLOR_PAIRS)
    return fmt


def _pair(node: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> None:
    for color, style in pairs:
        if isinstance(node.get(color), dict) and style not in node:
            node[style] = {"rgbColor": copy.deepcopy(node[color])}
        elif isinstance((node.get(style) or {}).get("rgbColor"), dict) and color not in node:
            node[color] = copy.deepcopy(node[style]["rgbColor"])
