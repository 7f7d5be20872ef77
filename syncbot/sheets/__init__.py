"""The Google Sheet output (CONTRACT section 5) and the CSV export of the same columns."""

from syncbot.sheets.csv_export import write_csv
from syncbot.sheets.layout import INVENTORY_HEADER, inventory_row
from syncbot.sheets.writer import SheetWriter

__all__ = ["INVENTORY_HEADER", "SheetWriter", "inventory_row", "write_csv"]
