"""``spreadsheets.get`` and the ``spreadsheets.values`` API over a ``Workbook``.

Reads drop trailing empty cells and rows like Google's; writes outside the grid fail with
"exceeds grid limits" (append grows the grid instead); RAW keeps text as text while
USER_ENTERED parses formulas, numbers and booleans.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from syncbot.sandbox.sheets import a1, schema
from syncbot.sandbox.sheets.grid import (
    ApiError,
    Cell,
    Sheet,
    Workbook,
    invalid,
    parse_raw,
    parse_user_entered,
)

_RENDER = {"FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"}
_DATES = {"SERIAL_NUMBER", "FORMATTED_STRING"}


def get(workbook: Workbook, text: str, params: Mapping[str, str]) -> dict[str, Any]:
    sheet, found = workbook.resolve(text)
    row0, col0, row1, col1 = found.clamp(sheet.row_count, sheet.col_count)
    label = a1.format_range(sheet.title, row0, col0, row1, col1)
    sheet.check_inside(row1, col1, label)
    render = params.get("valueRenderOption", "FORMATTED_VALUE")
    if render not in _RENDER:
        raise invalid(f"Invalid valueRenderOption: {render}")
    dates = params.get("dateTimeRenderOption", "SERIAL_NUMBER")
    if dates not in _DATES:
        raise invalid(f"Invalid dateTimeRenderOption: {dates}")
    rows: list[list[Any]] = []
    for r in range(row0, min(row1, len(sheet.rows))):
        line = [
            _render(sheet.get(r, c), render, dates)
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


def _render(cell: Cell | None, render: str, dates: str) -> Any:
    if cell is None:
        return ""
    value = cell.rendered(render, dates)
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
) -> tuple[dict[str, Any], set[tuple[str, int, int]]]:
    """Write ``values`` at ``text``: the reply, and the cells written (nulls are not)."""
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
    written: set[tuple[str, int, int]] = set()
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if value is None:
                continue  # null leaves the cell as it is; "" clears it
            r, c = found.row0 + i, found.col0 + j
            sheet.put(r, c, _kept(sheet.get(r, c), parse(value)))
            written.add((sheet.title, r, c))
    # Google counts the cells written, not the nulls that leave a cell as it is.
    reply = {
        "spreadsheetId": workbook.spreadsheet_id,
        "updatedRange": label,
        "updatedRows": len({(t, r) for t, r, _ in written}),
        "updatedColumns": len({(t, c) for t, _, c in written}),
        "updatedCells": len(written),
    }
    return reply, written


def _kept(old: Cell | None, new: Cell | None) -> Cell | None:
    """A value write keeps the cell's format and note, as Google's does; the number format
    typing gives (a date, ``2,000,000.01``) applies where the cell has none."""
    if old is None or (old.fmt is None and old.note is None):
        return new
    fmt = old.fmt
    if new is not None and new.fmt and "numberFormat" not in (old.fmt or {}):
        fmt = {**(old.fmt or {}), **new.fmt}
    if new is None:
        return Cell(fmt=fmt, note=old.note)
    return Cell(new.value, new.formula, fmt, old.note)


def _values(body: Mapping[str, Any], where: str) -> list[list[object]]:
    """A ValueRange's values, refused as Google refuses what is not a list of lists."""
    values = body.get("values")
    if values is None:
        return []
    if not isinstance(values, list):
        raise _not_a_list(f"{where}.values", values)
    for index, row in enumerate(values):
        if not isinstance(row, list):
            raise _not_a_list(f"{where}.values[{index}]", row)
    return values


def _not_a_list(field: str, value: object) -> ApiError:
    message = (
        f"Invalid value at '{field}' (type.googleapis.com/google.protobuf.ListValue), "
        f"{json.dumps(value, ensure_ascii=False)}"
    )
    return ApiError(400, message, field=field)


def _major(body: Mapping[str, Any]) -> str:
    return body.get("majorDimension") or "ROWS"


def update(
    workbook: Workbook, text: str, params: Mapping[str, str], body: Mapping[str, Any]
) -> tuple[Workbook, dict[str, Any]]:
    schema.check(body, "ValueRange")
    work = workbook.clone()
    values = _values(body, "data")
    reply, _ = _write(work, text, values, params.get("valueInputOption"), _major(body))
    work.version += 1
    return work, reply


def batch_update(workbook: Workbook, body: Mapping[str, Any]) -> tuple[Workbook, dict[str, Any]]:
    work = workbook.clone()
    option = body.get("valueInputOption")
    replies, written = [], set()
    for index, item in enumerate(body.get("data", [])):
        values = _values(item, f"data[{index}]")
        reply, cells = _write(work, item["range"], values, option, _major(item))
        replies.append(reply)
        written |= cells
    work.version += 1
    return work, {
        "spreadsheetId": workbook.spreadsheet_id,
        "totalUpdatedRows": len({(t, r) for t, r, _ in written}),
        "totalUpdatedColumns": len({(t, c) for t, _, c in written}),
        "totalUpdatedCells": len(written),
        "totalUpdatedSheets": len({t for t, _, _ in written}),
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
    """Write after the table Google finds in the range, from the table's first column (at the
    range's corner when there is no table), growing the grid to fit."""
    schema.check(body, "ValueRange")
    work = workbook.clone()
    sheet, found = work.resolve(text)
    values = _by_rows(_values(body, "data"), _major(body))
    _parser(params.get("valueInputOption"))
    table = _table(sheet, found)
    start, col0 = (table[2], table[1]) if table else (found.row0, found.col0)
    height = len(values)
    width = max((len(row) for row in values), default=0)
    if params.get("insertDataOption") == "INSERT_ROWS" and start < sheet.row_count:
        sheet.insert("ROWS", start, height)
    elif start + height > sheet.row_count:
        sheet.insert("ROWS", sheet.row_count, start + height - sheet.row_count)
    if col0 + width > sheet.col_count:
        sheet.insert("COLUMNS", sheet.col_count, col0 + width - sheet.col_count)
    work.check_cells()
    target = a1.format_range(sheet.title, start, col0, start + height, col0 + width)
    updates, _ = _write(work, target, values, params.get("valueInputOption"))
    work.version += 1
    reply: dict[str, Any] = {"spreadsheetId": workbook.spreadsheet_id}
    if table:
        reply["tableRange"] = a1.format_range(sheet.title, *table)
    reply["updates"] = updates
    return work, reply


def _table(sheet: Sheet, found: a1.A1) -> tuple[int, int, int, int] | None:
    """The table values.append finds in a range (corners, ends exclusive), as Google's
    recorded answers show it. From one cell: the filled cells from it rightwards, and the rows
    below while they hold data there. From a range: the run of filled cells that ends its
    last filled row, and the filled rows above it."""
    if found.single_cell:
        row, col = found.row0, found.col0
        if not _filled(sheet.get(row, col)):
            return None
        end = col
        while _filled(sheet.get(row, end + 1)):
            end += 1
        bottom = row
        while any(_filled(sheet.get(bottom + 1, c)) for c in range(col, end + 1)):
            bottom += 1
        return row, col, bottom + 1, end + 1
    row0, col0, row1, col1 = found.clamp(sheet.row_count, sheet.col_count)
    filled = [
        (r, c)
        for r in range(row0, min(row1, len(sheet.rows)))
        for c in range(col0, min(col1, len(sheet.rows[r])))
        if _filled(sheet.get(r, c))
    ]
    if not filled:
        return None
    last, end = max(filled)
    start = end
    while start > col0 and _filled(sheet.get(last, start - 1)):
        start -= 1
    top = last
    while top > row0 and any(_filled(sheet.get(top - 1, c)) for c in range(start, end + 1)):
        top -= 1
    return top, start, last + 1, end + 1


def _filled(cell: Cell | None) -> bool:
    return cell is not None and cell.has_value


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
