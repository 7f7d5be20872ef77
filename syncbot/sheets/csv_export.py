"""The inventory as CSV, with the Inventory tab's columns in the same order and the same text.

A spreadsheet program opening the file runs any cell that starts like a formula, so provider
text such as ``=HYPERLINK(...)`` is defused as OWASP advises (CSV injection): a leading ``'``
before a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return. Plain numbers
and E.164 phone numbers (``+`` and digits) are left as they are, so scripts read them unchanged.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from typing import TextIO

from syncbot.models import PhoneNumber
from syncbot.sheets.layout import INVENTORY_HEADER, inventory_row

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def defused(cell: str) -> str:
    """``cell`` as a spreadsheet program will show it, never run it."""
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def write_csv(inventory: Sequence[PhoneNumber], out: TextIO) -> int:
    """Write a header line and one line per number to ``out``; return the numbers written."""
    # RFC 4180's CRLF: with "\n" alone, csv leaves a cell holding a carriage return unquoted.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INVENTORY_HEADER)
    writer.writerows([defused(cell) for cell in inventory_row(number)] for number in inventory)
    return len(inventory)
