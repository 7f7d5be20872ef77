"""A1 notation as the Sheets API reads it: ``Sheet1``, ``'Sync log'!A1:C``, ``A:B``, ``1:1``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELLS = re.compile(r"^([A-Za-z]*)(\d*)(?::([A-Za-z]*)(\d*))?$")
_BARE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class A1:
    """A parsed range: 0-based, ends exclusive, ``None`` where the range is unbounded."""

    sheet: str | None
    row0: int = 0
    col0: int = 0
    row1: int | None = None
    col1: int | None = None
    # One cell ("B2"): a write anchored there may spread right and down from it.
    single_cell: bool = False

    def clamp(self, rows: int, cols: int) -> tuple[int, int, int, int]:
        """The corners inside a grid of ``rows`` x ``cols``; unbounded ends reach its edge."""
        row1 = rows if self.row1 is None else self.row1
        col1 = cols if self.col1 is None else self.col1
        return self.row0, self.col0, row1, col1


def column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - ord("A") + 1
    return index - 1


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def quote(title: str) -> str:
    if _BARE_TITLE.match(title) and not re.match(r"^[A-Za-z]{1,3}\d+$", title):
        return title
    return "'" + title.replace("'", "''") + "'"


def format_range(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    """``'Sync log'!A1:C5`` for the cells [row0, row1) x [col0, col1)."""
    start = f"{column_letters(col0)}{row0 + 1}"
    end = f"{column_letters(max(col1 - 1, col0))}{max(row1, row0 + 1)}"
    return f"{quote(title)}!{start}" + ("" if start == end else f":{end}")


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """``(sheet title, cell part)``; either may be missing."""
    text = text.strip()
    if text.startswith("'"):
        index, title = 1, ""
        while index < len(text):
            char = text[index]
            if char == "'":
                if text[index + 1 : index + 2] == "'":
                    title += "'"
                    index += 2
                    continue
                rest = text[index + 1 :]
                if rest == "":
                    return title, None
                if rest.startswith("!"):
                    return title, rest[1:]
                raise ValueError(text)
            title += char
            index += 1
        raise ValueError(text)
    if "!" in text:
        title, _, cells = text.rpartition("!")
        return title, cells
    return None, text


def parse_cells(cells: str) -> A1:
    match = _CELLS.match(cells.strip())
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(cells)
    c0, r0, c1, r1 = match.groups()
    if c1 is None and r1 is None:
        # A single cell: both parts are required.
        if not c0 or not r0:
            raise ValueError(cells)
        row, col = int(r0) - 1, column_index(c0)
        return A1(None, row, col, row + 1, col + 1, single_cell=True)
    if not (c1 or r1):
        raise ValueError(cells)
    start_row = int(r0) - 1 if r0 else 0
    start_col = column_index(c0) if c0 else 0
    end_row = int(r1) if r1 else None
    end_col = column_index(c1) + 1 if c1 else None
    if (r0 and int(r0) < 1) or (r1 and int(r1) < 1):
        raise ValueError(cells)
    # Google reads a range given corner last (D4:A1) as the same cells (A1:D4).
    if end_row is not None and end_row < start_row + 1 and r0:
        start_row, end_row = end_row - 1, start_row + 1
    if end_col is not None and end_col < start_col + 1 and c0:
        start_col, end_col = end_col - 1, start_col + 1
    return A1(None, start_row, start_col, end_row, end_col)
