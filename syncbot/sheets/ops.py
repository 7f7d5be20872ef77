"""Sheets API request bodies, serialized once and packed into batchUpdate calls by size.

Rows are serialized one by one so that a large Inventory can be cut into requests of a known
size without serializing it twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from syncbot.sheets.client import compact_json
from syncbot.sheets.existing import Value

_BATCH_HEAD = b'{"requests":['
_BATCH_TAIL = b"]}"


def grid_range(sheet_id: int, rows: tuple[int, int], cols: tuple[int, int]) -> dict[str, int]:
    return {
        "sheetId": sheet_id,
        "startRowIndex": rows[0],
        "endRowIndex": rows[1],
        "startColumnIndex": cols[0],
        "endColumnIndex": cols[1],
    }


def ours(value: str | float) -> dict[str, Any]:
    """A cell the writer owns: text stays text (RAW), counts and costs are numbers."""
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if value == "":
        return {}
    return {"userEnteredValue": {"stringValue": value}}


def kept(value: Value) -> dict[str, Any]:
    """A cell people wrote, as they wrote it (FORMULA rendering tells the kinds apart)."""
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    if value == "":
        return {}
    if value.startswith("="):
        return {"userEnteredValue": {"formulaValue": value}}
    return {"userEnteredValue": {"stringValue": value}}


def row_json(cells: Iterable[Mapping[str, Any]]) -> bytes:
    return compact_json({"values": list(cells)})


def plain_row(row: Sequence[str | float]) -> bytes:
    return row_json(ours(value) for value in row)


def update_cells(
    sheet_id: int,
    rows: tuple[int, int],
    cols: tuple[int, int],
    data: Sequence[bytes],
    *,
    fields: str = "userEnteredValue",
) -> bytes:
    """``updateCells`` over a whole range: cells the rows leave out are cleared. Writing only
    ``userEnteredValue`` keeps the cells' formats and notes."""
    head = compact_json(
        {"updateCells": {"range": grid_range(sheet_id, rows, cols), "fields": fields}}
    )
    # Splice the pre-serialized rows in before the two closing braces.
    return head[:-2] + b',"rows":[' + b",".join(data) + b"]}}"


def values_update(range_a1: str, rows: Sequence[bytes]) -> bytes:
    """A ``values.batchUpdate`` body writing ``rows`` (JSON arrays) RAW, down from ``range_a1``."""
    head = compact_json(
        {"valueInputOption": "RAW", "data": [{"range": range_a1, "majorDimension": "ROWS"}]}
    )
    # Splice the pre-serialized rows in before the closing brace of the one data entry.
    return head[:-3] + b',"values":[' + b",".join(rows) + b"]}]}"


def spans(rows: Sequence[bytes], budget: int) -> list[tuple[int, int]]:
    """Consecutive ``[start, end)`` runs of ``rows`` whose bytes stay within ``budget``."""
    out: list[tuple[int, int]] = []
    start, size = 0, 0
    for end, row in enumerate(rows):
        if end > start and size + len(row) + 1 > budget:
            out.append((start, end))
            start, size = end, 0
        size += len(row) + 1
    if start < len(rows):
        out.append((start, len(rows)))
    return out


def op(name: str, body: Mapping[str, Any]) -> bytes:
    return compact_json({name: body})


def resize(sheet_id: int, rows: int, cols: int) -> bytes:
    return op(
        "updateSheetProperties",
        {
            "properties": {
                "sheetId": sheet_id,
                "gridProperties": {"rowCount": rows, "columnCount": cols},
            },
            "fields": "gridProperties.rowCount,gridProperties.columnCount",
        },
    )


def dimension_range(sheet_id: int, dimension: str, start: int, end: int) -> dict[str, Any]:
    return {"sheetId": sheet_id, "dimension": dimension, "startIndex": start, "endIndex": end}


def insert_rows(sheet_id: int, start: int, count: int, *, after_last: bool = False) -> bytes:
    """Google gives new rows the formats of the row after them, or before them when they go
    last (``after_last``: there is no row after)."""
    return insert_dimension(sheet_id, "ROWS", start, count, inherit_before=after_last)


def insert_dimension(
    sheet_id: int, dimension: str, start: int, count: int, *, inherit_before: bool
) -> bytes:
    return op(
        "insertDimension",
        {
            "range": dimension_range(sheet_id, dimension, start, start + count),
            "inheritFromBefore": inherit_before,
        },
    )


def delete_dimension(sheet_id: int, dimension: str, start: int, end: int) -> bytes:
    return op("deleteDimension", {"range": dimension_range(sheet_id, dimension, start, end)})


def append_rows(sheet_id: int, count: int, *, dimension: str = "ROWS") -> bytes:
    """Rows (or columns) added after the last, however many there are by then."""
    return op("appendDimension", {"sheetId": sheet_id, "dimension": dimension, "length": count})


def add_sheet(
    sheet_id: int,
    title: str,
    *,
    rows: int,
    cols: int,
    index: int | None = None,
    hidden: bool = False,
) -> bytes:
    """A new tab; a visible one gets a frozen header row, a hidden one goes last."""
    props: dict[str, Any] = {
        "sheetId": sheet_id,
        "title": title,
        "hidden": hidden,
        "gridProperties": {"rowCount": rows, "columnCount": cols},
    }
    if not hidden:
        props["gridProperties"]["frozenRowCount"] = 1
    if index is not None:
        props["index"] = index
    return op("addSheet", {"properties": props})


def delete_sheet(sheet_id: int) -> bytes:
    return op("deleteSheet", {"sheetId": sheet_id})


def header_style(sheet_id: int, cols: int, widths: Sequence[int]) -> list[bytes]:
    """Bold header and column widths, set when the tab is created so people may change them."""
    out = [
        op(
            "repeatCell",
            {
                "range": grid_range(sheet_id, (0, 1), (0, cols)),
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat.textFormat.bold",
            },
        )
    ]
    for column, pixels in enumerate(widths[:cols]):
        out.append(
            op(
                "updateDimensionProperties",
                {
                    "range": dimension_range(sheet_id, "COLUMNS", column, column + 1),
                    "properties": {"pixelSize": pixels},
                    "fields": "pixelSize",
                },
            )
        )
    return out


def batch_body(requests: Sequence[bytes]) -> bytes:
    return _BATCH_HEAD + b",".join(requests) + _BATCH_TAIL


def body_size(requests: Sequence[bytes]) -> int:
    return (
        len(_BATCH_HEAD)
        + len(_BATCH_TAIL)
        + sum(len(r) for r in requests)
        + max(len(requests) - 1, 0)
    )
