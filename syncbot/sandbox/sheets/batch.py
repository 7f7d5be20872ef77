"""``spreadsheets.batchUpdate``: every request applied to a copy, committed only if all pass.

Implemented: addSheet, deleteSheet, updateSheetProperties, appendDimension, insertDimension,
deleteDimension, updateDimensionProperties (column sizes), updateCells, repeatCell, the moves
of ``moves`` (copyPaste, cutPaste, sortRange), setBasicFilter, clearBasicFilter,
add/update/deleteConditionalFormatRule, and the chart requests of ``charts`` (addChart,
updateChartSpec, deleteEmbeddedObject).
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from typing import Any

from syncbot.sandbox.sheets import charts, fields, moves
from syncbot.sandbox.sheets.cells import cell_from, cell_tree, value_cell
from syncbot.sandbox.sheets.grid import (
    MAX_COLUMNS,
    ApiError,
    Sheet,
    Workbook,
    corners,
    invalid,
)

Handler = Callable[[Workbook, dict[str, Any]], dict[str, Any] | None]


def apply_batch(
    workbook: Workbook, body: Mapping[str, Any]
) -> tuple[Workbook, list[dict[str, Any]]]:
    """The workbook after every request of ``body`` and their replies; raises on the first error."""
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise invalid("Must specify at least one request.")
    work = workbook.clone()
    replies = []
    for number, request in enumerate(requests):
        if not isinstance(request, dict) or len(request) != 1:
            raise invalid(f"Invalid requests[{number}]: exactly one kind of request must be set.")
        ((name, args),) = request.items()
        handler = HANDLERS.get(name)
        if handler is None:
            raise invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\" at 'requests[{number}]': "
                "Cannot find field."
            )
        try:
            reply = handler(work, args)
            work.check_cells()
        except ApiError as exc:
            raise ApiError(exc.code, f"Invalid requests[{number}].{name}: {exc.message}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise invalid(
                f"Invalid requests[{number}].{name}: malformed request ({exc!r})"
            ) from None
        replies.append(reply or {})
    work.version += 1
    return work, replies


def _dimension(workbook: Workbook, spec: Mapping[str, Any]) -> tuple[Sheet, str, int, int]:
    sheet = workbook.sheet_by_id(spec.get("sheetId", 0))
    dimension = spec.get("dimension")
    if dimension not in {"ROWS", "COLUMNS"}:
        raise invalid("dimension must be ROWS or COLUMNS")
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    start, end = int(spec.get("startIndex", 0)), int(spec.get("endIndex", count))
    if not 0 <= start < end or end > count:
        raise invalid(f"Invalid dimension range [{start}, {end}) for a grid of {count}")
    return sheet, dimension, start, end


def _check_frozen(sheet: Sheet) -> None:
    if sheet.frozen_rows >= sheet.row_count:
        raise invalid("You can't freeze all visible rows on the sheet.")
    if sheet.frozen_cols >= sheet.col_count:
        raise invalid("You can't freeze all visible columns on the sheet.")


def _check_visible(workbook: Workbook) -> None:
    if workbook.sheets and all(sheet.hidden for sheet in workbook.sheets):
        raise invalid("You can't hide all the sheets in a document.")


def add_sheet(workbook: Workbook, args: dict[str, Any]) -> dict[str, Any]:
    props = args.get("properties", {})
    title = props.get("title") or f"Sheet{len(workbook.sheets) + 1}"
    if workbook.sheet_by_title(title) is not None:
        raise invalid(f'A sheet with the name "{title}" already exists. Please enter another name.')
    taken = {sheet.sheet_id for sheet in workbook.sheets}
    sheet_id = props.get("sheetId")
    if sheet_id is not None and (sheet_id in taken or not 0 <= int(sheet_id) < 2**31):
        raise invalid(f"Invalid sheetId {sheet_id}: it must be unique and non-negative.")
    while sheet_id is None or sheet_id in taken:
        sheet_id = random.randint(1, 2**31 - 1)
    gp = props.get("gridProperties", {})
    sheet = Sheet(
        sheet_id=int(sheet_id),
        title=title,
        index=int(props.get("index", len(workbook.sheets))),
        row_count=int(gp.get("rowCount", 1000)),
        col_count=int(gp.get("columnCount", 26)),
        hidden=bool(props.get("hidden", False)),
        frozen_rows=int(gp.get("frozenRowCount", 0)),
        frozen_cols=int(gp.get("frozenColumnCount", 0)),
    )
    sheet.keep(props)
    if sheet.row_count < 1 or not 1 <= sheet.col_count <= MAX_COLUMNS:
        raise invalid("Invalid gridProperties: rowCount and columnCount must be at least 1.")
    _check_frozen(sheet)
    for other in workbook.sheets:
        if other.index >= sheet.index:
            other.index += 1
    workbook.sheets.append(sheet)
    workbook.reindex()
    _check_visible(workbook)
    return {"addSheet": {"properties": sheet.properties()}}


def delete_sheet(workbook: Workbook, args: dict[str, Any]) -> None:
    sheet = workbook.sheet_by_id(args.get("sheetId"))
    if len(workbook.sheets) == 1:
        raise invalid("You can't remove all the sheets in a document.")
    workbook.sheets.remove(sheet)
    charts.sheet_deleted(workbook, sheet.sheet_id)
    workbook.reindex()
    _check_visible(workbook)


def update_sheet_properties(workbook: Workbook, args: dict[str, Any]) -> None:
    new = args.get("properties", {})
    sheet = workbook.sheet_by_id(new.get("sheetId", 0))
    if not args.get("fields"):
        raise invalid("At least one field must be updated, but 'fields' is empty.")
    props = sheet.properties()
    props.setdefault("hidden", False)
    fields.merge(props, new, fields.parse(args["fields"]))
    title = props.get("title") or sheet.title
    if title != sheet.title and workbook.sheet_by_title(title) is not None:
        raise invalid(f'A sheet with the name "{title}" already exists. Please enter another name.')
    sheet.title = title
    gp = props.get("gridProperties", {})
    sheet.resize(
        int(gp.get("rowCount", sheet.row_count)), int(gp.get("columnCount", sheet.col_count))
    )
    sheet.frozen_rows = int(gp.get("frozenRowCount", 0))
    sheet.frozen_cols = int(gp.get("frozenColumnCount", 0))
    _check_frozen(sheet)
    sheet.hidden = bool(props.get("hidden", False))
    sheet.keep(props)
    _check_visible(workbook)
    index = int(props.get("index", sheet.index))
    if index != sheet.index:
        workbook.sheets.remove(sheet)
        workbook.reindex()
        workbook.sheets.insert(min(index, len(workbook.sheets)), sheet)
        for position, each in enumerate(workbook.sheets):
            each.index = position


def append_dimension(workbook: Workbook, args: dict[str, Any]) -> None:
    sheet = workbook.sheet_by_id(args.get("sheetId", 0))
    length = int(args.get("length", 0))
    if length < 1:
        raise invalid("length must be at least 1")
    dimension = args.get("dimension")
    if dimension == "ROWS":
        sheet.insert("ROWS", sheet.row_count, length)
    elif dimension == "COLUMNS":
        if sheet.col_count + length > MAX_COLUMNS:
            raise invalid(f"This action would increase the number of columns above {MAX_COLUMNS}.")
        sheet.insert("COLUMNS", sheet.col_count, length)
    else:
        raise invalid("dimension must be ROWS or COLUMNS")


def insert_dimension(workbook: Workbook, args: dict[str, Any]) -> None:
    spec = args["range"]
    sheet = workbook.sheet_by_id(spec.get("sheetId", 0))
    dimension = spec.get("dimension")
    count = sheet.row_count if dimension == "ROWS" else sheet.col_count
    start, end = int(spec["startIndex"]), int(spec["endIndex"])
    inherit = bool(args.get("inheritFromBefore", False))
    if dimension not in {"ROWS", "COLUMNS"} or not 0 <= start < end or start > count:
        raise invalid(f"Invalid dimension range [{start}, {end}) for a grid of {count}")
    if start == 0 and inherit:
        raise invalid("inheritFromBefore must be false when inserting at the start of the grid")
    if start == count and not inherit:
        raise invalid("inheritFromBefore must be true when inserting at the end of the grid")
    # Google gives the new rows or columns the formats of their neighbour on that side.
    sheet.insert(dimension, start, end - start, inherit_from=start - 1 if inherit else start)
    charts.moved(workbook, sheet.sheet_id, dimension, start, end - start)


def delete_dimension(workbook: Workbook, args: dict[str, Any]) -> None:
    sheet, dimension, start, end = _dimension(workbook, args["range"])
    sheet.delete(dimension, start, end)
    charts.moved(workbook, sheet.sheet_id, dimension, start, start - end)


def update_dimension_properties(workbook: Workbook, args: dict[str, Any]) -> None:
    """Column sizes are kept (and move with columns); row properties are only validated."""
    sheet, dimension, start, end = _dimension(workbook, args["range"])
    tree = fields.parse(args.get("fields") or "*")
    if dimension == "COLUMNS":
        for column in range(start, end):
            fields.merge(sheet.col_sizes.setdefault(column, {}), args.get("properties", {}), tree)


def update_cells(workbook: Workbook, args: dict[str, Any]) -> None:
    tree = cell_tree(args.get("fields"))
    rows = args.get("rows", [])
    if ("start" in args) == ("range" in args):
        raise invalid("Exactly one of start or range must be set.")
    if "start" in args:
        start = args["start"]
        sheet = workbook.sheet_by_id(start.get("sheetId", 0))
        row0, col0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
        width = max((len(row.get("values", [])) for row in rows), default=0)
        row1, col1 = row0 + len(rows), col0 + width
        sheet.check_inside(row1, col1, f"{sheet.title} from row {row0 + 1}")
        clear_rest = False
    else:
        sheet, row0, col0, row1, col1 = corners(workbook, args["range"])
        if len(rows) > row1 - row0:
            raise invalid(f"{len(rows)} rows of data do not fit a range of {row1 - row0} rows.")
        clear_rest = True
    values_only = set(tree) == {"userEnteredValue"}
    for r in range(row0, row1):
        line = rows[r - row0].get("values", []) if r - row0 < len(rows) else []
        for c in range(col0, col1 if clear_rest else col0 + len(line)):
            data = line[c - col0] if c - col0 < len(line) else {}
            old = sheet.get(r, c)
            if values_only and (old is None or (old.fmt is None and old.note is None)):
                sheet.put(r, c, value_cell(data))
            else:
                sheet.put(r, c, cell_from(old, data, tree))


def repeat_cell(workbook: Workbook, args: dict[str, Any]) -> None:
    tree = cell_tree(args.get("fields"))
    sheet, row0, col0, row1, col1 = corners(workbook, args["range"])
    for r in range(row0, row1):
        for c in range(col0, col1):
            sheet.put(r, c, cell_from(sheet.get(r, c), args.get("cell", {}), tree))


def set_basic_filter(workbook: Workbook, args: dict[str, Any]) -> None:
    """The filter is kept over explicit rows and columns: one set over a whole tab reads back
    with the tab's size at that moment, as Google's does."""
    spec = copy.deepcopy(args["filter"])
    sheet, row0, col0, row1, col1 = corners(workbook, spec.get("range", {}))
    spec["range"] = {
        "sheetId": sheet.sheet_id,
        "startRowIndex": row0,
        "endRowIndex": row1,
        "startColumnIndex": col0,
        "endColumnIndex": col1,
    }
    sheet.basic_filter = spec


def clear_basic_filter(workbook: Workbook, args: dict[str, Any]) -> None:
    workbook.sheet_by_id(args.get("sheetId", 0)).basic_filter = None


def _rule_sheet(workbook: Workbook, rule: Mapping[str, Any]) -> Sheet:
    ranges = rule.get("ranges") or []
    if not ranges:
        raise invalid("A conditional format rule needs at least one range.")
    if ("booleanRule" in rule) == ("gradientRule" in rule):
        raise invalid("Exactly one of booleanRule or gradientRule must be set.")
    sheets = {corners(workbook, r)[0].sheet_id for r in ranges}
    if len(sheets) != 1:
        raise invalid("All ranges of a conditional format rule must be on the same sheet.")
    return workbook.sheet_by_id(sheets.pop())


def add_conditional_format_rule(workbook: Workbook, args: dict[str, Any]) -> None:
    rule = copy.deepcopy(args["rule"])
    sheet = _rule_sheet(workbook, rule)
    index = int(args.get("index", 0))
    if not 0 <= index <= len(sheet.conditional_formats):
        raise invalid(f"Invalid index {index}")
    sheet.conditional_formats.insert(index, rule)


def update_conditional_format_rule(workbook: Workbook, args: dict[str, Any]) -> dict[str, Any]:
    """Replace the rule at ``index`` (the reply names the old rule) or move it to
    ``newIndex`` (the reply names its old index), as UpdateConditionalFormatRuleResponse."""
    sheet = workbook.sheet_by_id(args.get("sheetId", 0))
    index = int(args.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise invalid(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    reply: dict[str, Any]
    if "rule" in args:
        rule = copy.deepcopy(args["rule"])
        if _rule_sheet(workbook, rule) is not sheet:
            raise invalid("A rule cannot be moved to another sheet by updateConditionalFormatRule.")
        reply = {"oldRule": sheet.conditional_formats[index]}
        sheet.conditional_formats[index] = rule
        new_index = index
    else:
        new_index = int(args["newIndex"])
        if not 0 <= new_index < len(sheet.conditional_formats):
            raise invalid(f"Invalid newIndex {new_index}")
        rule = sheet.conditional_formats.pop(index)
        sheet.conditional_formats.insert(new_index, rule)
        reply = {"oldIndex": index}
    # proto3 leaves a zero index out, as Google's JSON does.
    reply = {
        "newRule": copy.deepcopy(rule),
        **({"newIndex": new_index} if new_index else {}),
        **reply,
    }
    return {"updateConditionalFormatRule": reply}


def delete_conditional_format_rule(workbook: Workbook, args: dict[str, Any]) -> dict[str, Any]:
    sheet = workbook.sheet_by_id(args.get("sheetId", 0))
    index = int(args.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise invalid(f"No conditional format on sheet {sheet.sheet_id} at index {index}")
    return {"deleteConditionalFormatRule": {"rule": sheet.conditional_formats.pop(index)}}


HANDLERS: dict[str, Handler] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "updateSheetProperties": update_sheet_properties,
    "appendDimension": append_dimension,
    "insertDimension": insert_dimension,
    "deleteDimension": delete_dimension,
    "updateDimensionProperties": update_dimension_properties,
    "updateCells": update_cells,
    "repeatCell": repeat_cell,
    "copyPaste": moves.copy_paste,
    "cutPaste": moves.cut_paste,
    "sortRange": moves.sort_range,
    "setBasicFilter": set_basic_filter,
    "clearBasicFilter": clear_basic_filter,
    "addConditionalFormatRule": add_conditional_format_rule,
    "updateConditionalFormatRule": update_conditional_format_rule,
    "deleteConditionalFormatRule": delete_conditional_format_rule,
    **charts.HANDLERS,
}
