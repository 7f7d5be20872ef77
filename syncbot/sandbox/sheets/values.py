"""``spreadsheets.get`` and the ``spreadsheets.values`` API over a ``Workbook``.

Reads drop trailing empty cells and rows like Google's; writes outside the grid fail with
"exceeds grid limits" (append grows the grid instead); RAW keeps text as text while
USER_ENTERED parses formulas, numbers and booleans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from syncbot.sandbox.sheets import a1, charts, fields
from syncbot.sandbox.sheets.grid import (
    Cell,
    Sheet,
    Workbook,
    invalid,
    parse_raw,
    parse_user_entered,
)

_RENDER = {"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"}


def spreadsheet(
    workbook: Workbook, *, ranges: Sequence[str], grid_data: bool, mask: str | None
) -> dict[str, Any]:
    """``spreadsheets.get``: every tab (or those ``ranges`` name), with cells on request."""
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
            entry["conditionalFormats"] = sheet.conditional_formats
        if sheet.basic_filter is not None:
            entry["basicFilter"] = sheet.basic_filter
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
        "properties": {"title": workbook.title, "locale": "en_US", "timeZone": "Etc/GMT"},
        "sheets": sheets,
        "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{workbook.spreadsheet_id}/edit",
    }
    return fields.select(body, fields.parse(mask)) if mask else body


def _grid_data(sheet: Sheet, found: a1.A1) -> dict[str, Any]:
    row0, col0, row1, col1 = found.clamp(sheet.row_count, sheet.col_count)
    row_data = []
    for r in range(row0, min(row1, len(sheet.rows))):
        row_data.append({"values": [_cell_data(sheet.get(r, c)) for c in range(col0, col1)]})
    while row_data and not any(row_data[-1]["values"]):
        row_data.pop()
    for row in row_data:
        while row["values"] and not row["values"][-1]:
            row["values"].pop()
    data: dict[str, Any] = {"rowData": row_data}
    if row0:
        data["startRow"] = row0
    if col0:
        data["startColumn"] = col0
    return data


def _cell_data(cell: Cell | None) -> dict[str, Any]:
    if cell is None:
        return {}
    out: dict[str, Any] = {}
    entered = cell.user_entered()
    if entered is not None:
        out["userEnteredValue"] = entered
        out["formattedValue"] = cell.shown()
    if cell.fmt:
        out["userEnteredFormat"] = cell.fmt
    if cell.note:
        out["note"] = cell.note
    return out


def get(workbook: Workbook, text: str, params: Mapping[str, str]) -> dict[str, Any]:
    sheet, found = workbook.resolve(text)
    row0, col0, row1, col1 = found.clamp(sheet.row_count, sheet.col_count)
    label = a1.format_range(sheet.title, row0, col0, row1, col1)
    sheet.check_inside(row1, col1, label)
    render = params.get("valueRenderOption", "FORMATTED_VALUE")
    if render not in _RENDER:
        raise invalid(f"Invalid valueRenderOption: {render}")
    rows: list[list[Any]] = []
    for r in range(row0, min(row1, len(sheet.rows))):
        line = [
            _render(sheet.get(r, c), render)
            for c in range(col0, min(col1, col0 + len(sheet.rows[r])))
        ]
        while line and line[-1] == "":
            line.pop()
        rows.append(line)
    while rows and not rows[-1]:
        rows.pop()
    major = params.get("majorDimension", "ROWS")
    if major == "COLUMNS":
        width = max((len(row) for row in rows), default=0)
        rows = [[row[c] if c < len(row) else "" for row in rows] for c in range(width)]
        rows = [_trim(column) for column in rows]
    body: dict[str, Any] = {"range": label, "majorDimension": major}
    if rows:
        body["values"] = rows
    return body


def _trim(line: list[Any]) -> list[Any]:
    while line and line[-1] == "":
        line.pop()
    return line


def _render(cell: Cell | None, render: str) -> Any:
    if cell is None:
        return ""
    value = cell.rendered(render)
    return "" if value is None else value


def batch_get(
    workbook: Workbook, ranges: Sequence[str], params: Mapping[str, str]
) -> dict[str, Any]:
    return {
        "spreadsheetId": workbook.spreadsheet_id,
        "valueRanges": [get(workbook, text, params) for text in ranges],
    }


def _parser(option: str | None) -> Callable[[object], Cell | None]:
    if option == "RAW":
        return parse_raw
    if option == "USER_ENTERED":
        return parse_user_entered
    raise invalid(f"Invalid valueInputOption: {option or 'INPUT_VALUE_OPTION_UNSPECIFIED'}")


def _write(
    workbook: Workbook,
    text: str,
    values: Sequence[Sequence[object]],
    option: str | None,
    major: str = "ROWS",
) -> dict[str, Any]:
    parse = _parser(option)
    sheet, found = workbook.resolve(text)
    values = _by_rows(values, major)
    height, width = len(values), max((len(row) for row in values), default=0)
    row1, col1 = found.row0 + height, found.col0 + width
    beyond_rows = found.row1 is not None and row1 > found.row1
    beyond_cols = found.col1 is not None and col1 > found.col1
    if not found.single_cell and (beyond_rows or beyond_cols):
        bounds = a1.format_range(
            sheet.title, found.row0, found.col0, found.row1 or row1, found.col1 or col1
        )
        raise invalid(f"Requested writing within range [{bounds}], but tried writing beyond it.")
    label = a1.format_range(sheet.title, found.row0, found.col0, row1, col1)
    sheet.check_inside(row1, col1, label)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if value is None:
                continue  # null leaves the cell as it is; "" clears it
            old = sheet.get(found.row0 + i, found.col0 + j)
            new = parse(value)
            # A value write keeps the cell's format and note, as Google's does.
            if old is not None and (old.fmt is not None or old.note is not None):
                new = (
                    Cell(new.value, new.formula, old.fmt, old.note)
                    if new
                    else Cell(fmt=old.fmt, note=old.note)
                )
            sheet.put(found.row0 + i, found.col0 + j, new)
    return {
        "spreadsheetId": workbook.spreadsheet_id,
        "updatedRange": label,
        "updatedRows": height,
        "updatedColumns": width,
        "updatedCells": sum(len(row) for row in values),
    }


def update(
    workbook: Workbook, text: str, params: Mapping[str, str], body: Mapping[str, Any]
) -> tuple[Workbook, dict[str, Any]]:
    work = workbook.clone()
    reply = _write(
        work,
        text,
        body.get("values", []),
        params.get("valueInputOption"),
        body.get("majorDimension", "ROWS"),
    )
    work.version += 1
    return work, reply


def batch_update(workbook: Workbook, body: Mapping[str, Any]) -> tuple[Workbook, dict[str, Any]]:
    work = workbook.clone()
    option = body.get("valueInputOption")
    replies = [
        _write(
            work, item["range"], item.get("values", []), option, item.get("majorDimension", "ROWS")
        )
        for item in body.get("data", [])
    ]
    work.version += 1
    return work, {
        "spreadsheetId": workbook.spreadsheet_id,
        "totalUpdatedRows": sum(r["updatedRows"] for r in replies),
        "totalUpdatedColumns": sum(r["updatedColumns"] for r in replies),
        "totalUpdatedCells": sum(r["updatedCells"] for r in replies),
        "totalUpdatedSheets": len({r["updatedRange"].rpartition("!")[0] for r in replies}),
        "responses": replies,
    }


def _by_rows(values: Sequence[Sequence[object]], major: str) -> Sequence[Sequence[object]]:
    if major != "COLUMNS":
        return values
    height = max((len(column) for column in values), default=0)
    return [[column[r] if r < len(column) else None for column in values] for r in range(height)]


def append(
    workbook: Workbook, text: str, params: Mapping[str, str], body: Mapping[str, Any]
) -> tuple[Workbook, dict[str, Any]]:
    """Write after the last row holding data in the range's columns, growing the grid to fit."""
    work = workbook.clone()
    sheet, found = work.resolve(text)
    values = _by_rows(body.get("values", []), body.get("majorDimension", "ROWS"))
    _parser(params.get("valueInputOption"))
    col1 = found.col1 if found.col1 is not None else sheet.col_count
    last = -1
    for r in range(found.row0, len(sheet.rows)):
        if any(cell is not None and cell.has_value for cell in sheet.rows[r][found.col0 : col1]):
            last = r
    start = max(last + 1, found.row0)
    height = len(values)
    width = max((len(row) for row in values), default=0)
    if params.get("insertDataOption") == "INSERT_ROWS" and start < sheet.row_count:
        sheet.insert("ROWS", start, height)
    elif start + height > sheet.row_count:
        sheet.insert("ROWS", sheet.row_count, start + height - sheet.row_count)
    if found.col0 + width > sheet.col_count:
        sheet.insert("COLUMNS", sheet.col_count, found.col0 + width - sheet.col_count)
    work.check_cells()
    table = a1.format_range(
        sheet.title, found.row0, found.col0, max(last + 1, found.row0 + 1), col1
    )
    target = a1.format_range(sheet.title, start, found.col0, start + height, found.col0 + width)
    updates = _write(work, target, values, params.get("valueInputOption"))
    work.version += 1
    reply = {"spreadsheetId": workbook.spreadsheet_id, "updates": updates}
    if last >= 0:
        reply["tableRange"] = table
    return work, reply


def clear(workbook: Workbook, ranges: Sequence[str]) -> tuple[Workbook, list[str]]:
    """Clear values (formats stay) in each range."""
    work = workbook.clone()
    cleared = []
    for text in ranges:
        sheet, found = work.resolve(text)
        row0, col0, row1, col1 = found.clamp(sheet.row_count, sheet.col_count)
        label = a1.format_range(sheet.title, row0, col0, row1, col1)
        sheet.check_inside(row1, col1, label)
        for r in range(row0, min(row1, len(sheet.rows))):
            for c in range(col0, min(col1, len(sheet.rows[r]))):
                old = sheet.get(r, c)
                if old is not None:
                    kept = Cell(fmt=old.fmt, note=old.note) if old.fmt or old.note else None
                    sheet.put(r, c, kept)
        cleared.append(label)
    work.version += 1
    return work, cleared
