"""Calls and bytes per sheet write: syncbot's writer against a naive gspread baseline.

Runs the fake Sheets API on loopback (no network, no credentials):

    python bench/sheets_bench.py [SIZE ...]        # default: 1000 50000

For each size: syncbot's first write into an empty spreadsheet, then a rewrite (the steady
state of a sync every few minutes), and the naive baseline: clear the tab, then gspread
``append_rows`` of the same rows in pages of 100. "writes" are the calls that count against
Google's 60 write requests per minute per user.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

from syncbot.models import PhoneNumber
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.sheets.kit import SheetsSandbox, phone_number, run_result
from syncbot.sheets import INVENTORY_HEADER, SheetWriter, inventory_row

PAGE = 100
READ_ROUTES = {"spreadsheets.get", "values.get", "values.batchGet"}


def measure(box: SheetsSandbox, action: Callable[[], object]) -> dict[str, float]:
    box.fake.reset_records()
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    calls = box.fake.calls(box.spreadsheet_id)
    return {
        "calls": len(calls),
        "writes": sum(1 for c in calls if c.route not in READ_ROUTES),
        "sent": sum(c.request_bytes for c in calls),
        "received": sum(c.response_bytes for c in calls),
        "largest": max((c.request_bytes for c in calls), default=0),
        "seconds": elapsed,
    }


def naive(box: SheetsSandbox, numbers: Sequence[PhoneNumber]) -> None:
    worksheet = box.spreadsheet().sheet1
    worksheet.clear()
    rows = [list(INVENTORY_HEADER)] + [inventory_row(n) for n in numbers]
    for start in range(0, len(rows), PAGE):
        worksheet.append_rows(rows[start : start + PAGE])


def line(label: str, size: int, m: dict[str, float]) -> str:
    minutes = m["writes"] / 60
    return (
        f"{label:<22} {size:>7,} {int(m['calls']):>6} {int(m['writes']):>6} "
        f"{m['sent'] / 1e6:>9.2f} {m['received'] / 1e6:>9.2f} {m['largest'] / 1e6:>8.2f} "
        f"{minutes:>8.2f} {m['seconds']:>7.1f}"
    )


def compare(fake: FakeSheets, key: dict[str, str], size: int) -> None:
    numbers = [phone_number(i) for i in range(size)]
    ours = SheetsSandbox.create(fake, key=key)
    writer = SheetWriter(ours.settings())
    first = measure(ours, lambda: writer.write(inventory=numbers, changes=[], run=run_result(1)))
    again = measure(ours, lambda: writer.write(inventory=numbers, changes=[], run=run_result(2)))
    theirs = SheetsSandbox.create(fake, key=key)
    baseline = measure(theirs, lambda: naive(theirs, numbers))
    print(line("syncbot, first write", size, first))
    print(line("syncbot, rewrite", size, again))
    print(line(f"naive append x{PAGE}", size, baseline))


def main(sizes: Sequence[int]) -> None:
    fake = FakeSheets(record_snapshots=False)
    with fake.running():
        key = fake.service_account()
        print(
            f"{'write':<22} {'numbers':>7} {'calls':>6} {'writes':>6} {'sent MB':>9} "
            f"{'recv MB':>9} {'max MB':>8} {'quota min':>8} {'seconds':>7}"
        )
        for size in sizes:
            compare(fake, key, size)
    print(
        "\nquota min: minutes of Google's 60-writes-per-minute quota the write uses up. "
        "A reader of the naive sheet sees it empty, then partly filled, for the whole run."
    )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1_000, 50_000])
