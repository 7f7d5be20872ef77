"""The inventory as CSV, with the Inventory tab's columns in the same order and the same text.

Values are written as they are: phone numbers start with ``+``, so prefixing formula-like
cells against spreadsheet injection would change every number a script reads.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from syncbot.models import PhoneNumber
from syncbot.sheets.layout import INVENTORY_HEADER, inventory_row


def write_csv(inventory: Sequence[PhoneNumber], out: TextIO) -> int:
    """Write a header line and one line per number to ``out``; return the numbers written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(INVENTORY_HEADER)
    writer.writerows(inventory_row(number) for number in inventory)
    return len(inventory)
