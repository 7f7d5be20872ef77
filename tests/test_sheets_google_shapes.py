"""syncbot reads Google's answers as Google gives them (the shapes the sandbox learned from
Google's recordings, tests/test_sheets_conformance.py): what people type in their own columns,
filters people set over a whole tab."""

from __future__ import annotations

from gspread.utils import ValueInputOption

from syncbot.models import ChangeKind
from syncbot.sandbox.sheets.kit import SheetsSandbox, change, phone_number, run_result
from syncbot.sheets import SheetWriter


def writer_for(box: SheetsSandbox) -> SheetWriter:
    return SheetWriter(box.settings(), retry_wait_initial=0.01, retry_wait_max=0.05)


def test_a_removed_numbers_typed_date_goes_to_changes_as_people_see_it_not_as_a_serial(
    box: SheetsSandbox,
) -> None:
    """Google keeps a typed date as a serial number (45352) with a date format; the text in
    Changes is the date people see (2024-03-01)."""
    writer = writer_for(box)
    a, b = phone_number(1), phone_number(2)
    writer.write(inventory=[a, b], changes=[], run=run_result(1))
    worksheet = box.spreadsheet().worksheet("Inventory")
    worksheet.add_cols(2)
    worksheet.update(
        [["Renewal", "Budget"], ["2024-03-01", "2,500.50"], ["3/15/2025", "12%"]],
        "U1:V3",
        value_input_option=ValueInputOption.user_entered,
    )
    assert worksheet.get("U2:V2", value_render_option="UNFORMATTED_VALUE") == [[45352, 2500.5]]

    writer.write(
        inventory=[b], changes=[change(ChangeKind.REMOVED, a, run_id=2)], run=run_result(2)
    )

    changes = box.fake.values(box.spreadsheet_id, "Changes")
    (removed,) = [row for row in changes if row[5] == a.number_id]
    assert removed[10] == "Renewal: 2024-03-01 | Budget: 2500.5"
    # The date people typed on the number that stays is still a date.
    kept = worksheet.get("U2:V2", value_render_option="FORMATTED_VALUE")
    assert kept == [["3/15/2025", "12%"]]
