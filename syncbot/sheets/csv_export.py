"""The inventory as CSV, with the Inventory tab's columns in the same order and the same text.

Values are written as they are: phone numbers start with ``+``, so prefixing formula-like
cells against spreadsheet injection would change every number a script reads.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from syncbot.costs import CostRules
from syncbot.models import PhoneNumber
from syncbot.sheets.layout import INVENTORY_HEADER, inventory_row


def write_csv(inventory: Iterable[PhoneNumber], out: TextIO, *, costs: CostRules) -> int:
    """Write a header line and one line per number to ``out``; return the numbers written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INVENTORY_HEADER)
    count = 0
    for number in inventory:
        writer.writerow(inventory_row(number, costs.monthly(number)))
        count += 1
    return count
