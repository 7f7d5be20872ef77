"""The inventory as CSV, with the Inventory tab's columns in the same order and the same text.

A spreadsheet program opening the file runs any cell that starts like a formula, so provider
text such as ``=HYPERLINK(...)`` is defused as OWASP advises (CSV injection): a leading ``'``
before a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return. Plain numbers
and E.164 phone numbers (``+`` and digits) are left as they are, so scripts read them unchanged.
"""

from __future__ import annotations

import csv
import re
from typing import TextIO

from syncbot.costs import CostRules
from syncbot.followups import FollowUpBook
from syncbot.sheets.layout import INVENTORY_HEADER, followup_texts, inventory_rows
from syncbot.store.base import InventoryStream, as_batches

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def defused(cell: str) -> str:
    """``cell`` as a spreadsheet program will show it, never run it."""
    if cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def write_csv(
    inventory: InventoryStream,
    out: TextIO,
    *,
    costs: CostRules,
    followups: FollowUpBook | None = None,
) -> int:
    """Write a header line and one line per number to ``out``; return the numbers written.
    ``followups`` fills the Follow-up column (empty without it)."""
    # RFC 4180's CRLF: with "\n" alone, csv leaves a cell holding a carriage return unquoted.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(INVENTORY_HEADER)
    count = 0
    for batch in as_batches(inventory):
        b = batch.numbers
        prices = list(map(costs.price, b.source, b.account, b.country_code, b.number_type))
        texts = followup_texts(batch, followups)
        for row in inventory_rows(batch, prices, texts, cut_long=False):
            writer.writerow([defused(cell) if isinstance(cell, str) else cell for cell in row])
        count += len(batch)
    return count
