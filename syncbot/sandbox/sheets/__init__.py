"""A faithful fake of the Google Sheets API v4 and its OAuth token endpoint, for tests and benches.

fake = FakeSheets()
with fake.running() as url:
    key = fake.service_account()                     # a real RSA service-account key
    sheet_id = fake.create_spreadsheet(writers=[key["client_email"]])
    ...  # point GOOGLE_SHEETS_API_URL at url; read fake.calls(), fake.snapshots(sheet_id)
"""

from syncbot.sandbox.sheets.app import CallRecord, FakeSheets, Snapshot
from syncbot.sandbox.sheets.grid import CELL_LIMIT, CHAR_LIMIT, Cell, Sheet, Workbook

__all__ = [
    "CELL_LIMIT",
    "CHAR_LIMIT",
    "CallRecord",
    "Cell",
    "FakeSheets",
    "Sheet",
    "Snapshot",
    "Workbook",
]
