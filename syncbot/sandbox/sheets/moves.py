"""Requests that move cells: copyPaste, cutPaste and sortRange. A cell moves whole (value,
format, note) unless the paste type says otherwise."""

from __future__ import annotations

from typing import Any

from syncbot.sandbox.sheets.cells import pasted
from syncbot.sandbox.sheets.grid import Cell, Workbook, corners, invalid


def copy_paste(workbook: Workbook, args: dict[str, Any]) -> None:
    """Paste the source at the destination's corner, tiled when the destination is a multiple."""
    source, s_row0, s_col0, s_row1, s_col1 = corners(workbook, args["source"])
    target, d_row0, d_col0, d_row1, d_col1 = corners(workbook, args["destination"])
    paste = args.get("pasteType", "PASTE_NORMAL")
    if args.get("pasteOrientation", "NORMAL") != "NORMAL":
        raise invalid("Only pasteOrientation NORMAL is implemented by the sandbox.")
    height, width = s_row1 - s_row0, s_col1 - s_col0
    tiles_down = max((d_row1 - d_row0) // height, 1) if height else 0
    tiles_across = max((d_col1 - d_col0) // width, 1) if width else 0
    target.check_inside(d_row0 + height * tiles_down, d_col0 + width * tiles_across, target.title)
    block = [[source.get(r, c) for c in range(s_col0, s_col1)] for r in range(s_row0, s_row1)]
    for down in range(tiles_down):
        for across in range(tiles_across):
            for i, line in enumerate(block):
                for j, cell in enumerate(line):
                    r, c = d_row0 + down * height + i, d_col0 + across * width + j
                    target.put(r, c, pasted(target.get(r, c), cell, paste))


def cut_paste(workbook: Workbook, args: dict[str, Any]) -> None:
    """Move the source to the destination's corner: all of the source is cut whatever the
    paste type, then its cells are pasted (the source read first, so the two may overlap)."""
    source, s_row0, s_col0, s_row1, s_col1 = corners(workbook, args["source"])
    corner = args["destination"]
    target = workbook.sheet_by_id(corner.get("sheetId", 0))
    d_row0, d_col0 = int(corner.get("rowIndex", 0)), int(corner.get("columnIndex", 0))
    if min(d_row0, d_col0) < 0:
        raise invalid(f"Invalid destination: {dict(corner)}")
    paste = args.get("pasteType", "PASTE_NORMAL")
    height, width = s_row1 - s_row0, s_col1 - s_col0
    target.check_inside(d_row0 + height, d_col0 + width, target.title)
    block = [[source.get(r, c) for c in range(s_col0, s_col1)] for r in range(s_row0, s_row1)]
    for r in range(s_row0, s_row1):
        for c in range(s_col0, s_col1):
            source.put(r, c, None)
    for i, line in enumerate(block):
        for j, cell in enumerate(line):
            r, c = d_row0 + i, d_col0 + j
            target.put(r, c, pasted(target.get(r, c), cell, paste))


def sort_range(workbook: Workbook, args: dict[str, Any]) -> None:
    """Sort the range's rows; each cell moves with its value, format and note. Blanks go
    last whatever the order, numbers before text before booleans, text case-insensitively."""
    sheet, row0, col0, row1, col1 = corners(workbook, args["range"])
    specs = args.get("sortSpecs") or []
    if not specs:
        raise invalid("At least one sortSpec is required.")
    block = [[sheet.get(r, c) for c in range(col0, col1)] for r in range(row0, row1)]
    for spec in reversed(specs):
        column = int(spec.get("dimensionIndex", 0))
        if not col0 <= column < col1:
            raise invalid(f"sortSpec dimensionIndex {column} is outside the range")
        order = spec.get("sortOrder", "ASCENDING")
        if order not in {"ASCENDING", "DESCENDING"}:
            raise invalid(f"Invalid sortOrder: {order}")
        filled = [line for line in block if _sort_value(line[column - col0]) is not None]
        blank = [line for line in block if _sort_value(line[column - col0]) is None]
        filled.sort(
            key=lambda line: _sort_value(line[column - col0]) or (0, 0),
            reverse=order == "DESCENDING",
        )
        block = filled + blank
    for i, line in enumerate(block):
        for j, cell in enumerate(line):
            sheet.put(row0 + i, col0 + j, cell)


def _sort_value(cell: Cell | None) -> tuple[int, Any] | None:
    if cell is None or not cell.has_value:
        return None
    value = cell.formula if cell.formula is not None else cell.value
    if isinstance(value, bool):
        return (2, value)
    if isinstance(value, float):
        return (0, value)
    return (1, str(value).lower())
