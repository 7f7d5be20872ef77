"""What the tabs show, as pure functions, and the CSV export of the same columns."""

from __future__ import annotations

import csv
import io

from syncbot.costs import CostRule, CostRules
from syncbot.models import SourceResult
from syncbot.sandbox.sheets.kit import phone_number, run_result
from syncbot.sheets import INVENTORY_HEADER, inventory_row, write_csv
from syncbot.sheets.layout import MAX_CELL_CHARS, cut
from syncbot.sheets.summary import SummaryTally
from syncbot.store.base import InventoryBatch

CONTRACT_HEADER = (
    "Phone number, Status, Agent, Label, Source, Account, Number ID, Country, Type, Carrier, "
    "Inbound, Outbound, Provider status, Created at, First seen, Unassigned since, Monthly cost, "
    "Valid, Stale, Follow-up"
)


def test_the_inventory_header_is_the_contracts_in_its_order() -> None:
    assert ", ".join(INVENTORY_HEADER) == CONTRACT_HEADER


def test_an_inventory_row_writes_booleans_as_yes_no_and_missing_values_as_empty() -> None:
    number = phone_number(3, inbound=None, outbound=False, carrier=None, stale=True)

    row = dict(zip(INVENTORY_HEADER, inventory_row(number, None), strict=True))

    assert row["Phone number"] == "+14150000003"
    assert row["Status"] == "unassigned"
    assert row["Agent"] == ""
    assert row["Inbound"] == ""
    assert row["Outbound"] == "no"
    assert row["Valid"] == "yes"
    assert row["Stale"] == "yes"
    assert row["Carrier"] == ""
    assert row["Created at"] == "2024-01-01T00:03:00Z"
    assert row["Unassigned since"] == "2024-01-02T00:00:00Z"
    assert row["Monthly cost"] == ""
    assert inventory_row(number, 1.15)[INVENTORY_HEADER.index("Monthly cost")] == 1.15


def test_cut_keeps_short_text_and_shortens_long_text_to_the_limit_with_a_marker() -> None:
    assert cut("short") == "short"
    text = "é" * (MAX_CELL_CHARS + 10)

    shortened = cut(text)

    assert MAX_CELL_CHARS - 5 <= len(shortened) <= MAX_CELL_CHARS
    kept, marker = shortened.split(" …[", 1)
    dropped = int(marker.removeprefix("cut by syncbot: ").split()[0])
    assert marker.endswith(" more characters]")
    assert text.startswith(kept)
    assert len(kept) + dropped == len(text)


def test_summary_counts_numbers_and_shows_each_sources_health_and_last_good_sync() -> None:
    numbers = [phone_number(i) for i in range(6)] + [
        phone_number(9, source="dialnexa", country_code="GB", number_type="mobile", stale=True)
    ]
    run = run_result(4, count=7)
    failed = SourceResult("dialnexa", "default", status="failed", error="timeout")
    run.sources[failed.key] = failed
    tally = SummaryTally()
    tally.add_batch(InventoryBatch.of(numbers[:4]), [None] * 4)
    tally.add_batch(InventoryBatch.of(numbers[4:]), [None] * 3)

    rows = tally.rows(run)

    assert rows[0] == ["Synced at", "2024-01-03T00:04:00Z"]
    assert ["Numbers", 7] in rows
    assert ["Unassigned numbers", 3] in rows
    assert ["orgapi/default", 6, 4, 2, 0, "ok", "2024-01-03T00:04:00Z"] in rows
    # A failed source's rows are kept from its last good sync, which they were last seen in.
    assert ["dialnexa/default", 1, 0, 1, 1, "failed", "2024-01-03T00:00:00Z"] in rows
    assert ["unassigned", 3] in rows
    assert ["GB", 1] in rows
    assert ["mobile", 1] in rows


def test_csv_export_has_the_sheets_columns_in_the_sheets_order() -> None:
    numbers = [phone_number(1, label='Sales, "EU"'), phone_number(2, label='a, "b"')]
    out = io.StringIO()

    costs = CostRules((CostRule(2.5, type="local"),))

    written = write_csv(iter(numbers), out, costs=costs)

    assert written == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(INVENTORY_HEADER)
    assert rows[1:] == [[str(v) for v in inventory_row(n, 2.5)] for n in numbers]


def test_csv_export_defuses_formulas_but_keeps_numbers_and_phone_numbers() -> None:
    labels = ['=HYPERLINK("http://x.test","click")', "@SUM(1+1)", "+1+cmd", "-2+3", "\tx", "\rx"]
    numbers = [phone_number(i, label=label) for i, label in enumerate(labels, start=1)]
    numbers.append(phone_number(7, label="-12.5", agent_id="+44 20", number_id="+4420"))
    out = io.StringIO()

    write_csv(numbers, out, costs=CostRules())

    rows = [
        dict(zip(INVENTORY_HEADER, row, strict=True))
        for row in csv.reader(io.StringIO(out.getvalue()))
    ][1:]
    assert [row["Label"] for row in rows] == [*("'" + label for label in labels), "-12.5"]
    assert rows[0]["Phone number"] == "+14150000001"
    assert (rows[6]["Number ID"], rows[6]["Agent"]) == ("+4420", "'+44 20")
