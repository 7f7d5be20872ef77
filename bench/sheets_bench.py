"""Calls, bytes and CPU per sheet write: syncbot's writer against a naive gspread baseline.

Runs the fake Sheets API on loopback (no network, no credentials):

    python -m bench.sheets_bench [SIZE ...]        # default: 1000 100000

For each size, one spreadsheet goes through the syncs a deployment sees: the first sync into
an empty spreadsheet, an unchanged sync (the steady state of a sync every few minutes), and
a sync with 1% churn (half of it reassigned numbers, a quarter removed, a quarter new,
spread through the tab). The baseline, measured in the same run, is the naive way: clear
the tab, then gspread ``append_rows`` of every row in pages of 100. "writes" are the calls
that count against Google's 60 write requests per minute per user; "sent KB" is what the
writes carry; "cpu s" is the writer's own thread (the fake runs in another).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from syncbot.models import Change, ChangeKind, PhoneNumber
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.sheets.kit import SheetsSandbox, change, phone_number, run_result
from syncbot.sheets import INVENTORY_HEADER, SheetWriter, inventory_row

PAGE = 100
READ_ROUTES = {"spreadsheets.get", "values.get", "values.batchGet"}


def measure(box: SheetsSandbox, action: Callable[[], object]) -> dict[str, float]:
    box.fake.reset_records()
    cpu, started = time.thread_time(), time.perf_counter()
    action()
    cpu, elapsed = time.thread_time() - cpu, time.perf_counter() - started
    calls = box.fake.calls(box.spreadsheet_id)
    return {
        "calls": len(calls),
        "writes": sum(1 for c in calls if c.route not in READ_ROUTES),
        "sent": sum(c.request_bytes for c in calls if c.route not in READ_ROUTES),
        "received": sum(c.response_bytes for c in calls),
        "cpu": cpu,
        "seconds": elapsed,
    }


def naive(box: SheetsSandbox, numbers: Sequence[PhoneNumber]) -> None:
    worksheet = box.spreadsheet().sheet1
    worksheet.clear()
    rows = [list(INVENTORY_HEADER)] + [inventory_row(n, None) for n in numbers]
    for start in range(0, len(rows), PAGE):
        worksheet.append_rows(rows[start : start + PAGE])


def churned(numbers: Sequence[PhoneNumber]) -> tuple[list[PhoneNumber], list[Change]]:
    """1% of ``numbers`` changed: half reassigned, a quarter removed, a quarter new, spread
    evenly through the inventory."""
    touched = max(len(numbers) // 100, 4)
    step = len(numbers) // touched
    out: list[PhoneNumber] = []
    changes: list[Change] = []
    for k, number in enumerate(numbers):
        slot = k // step if k % step == 0 else -1
        kind = (ChangeKind.REASSIGNED, ChangeKind.REMOVED, ChangeKind.REASSIGNED, ChangeKind.ADDED)
        what = kind[slot % 4] if 0 <= slot < touched else None
        if what is ChangeKind.REMOVED:
            changes.append(change(what, number))
            continue
        kept = number
        if what is ChangeKind.REASSIGNED:
            kept = phone_number(k, agent_id="agent_moved", status="assigned")
            changes.append(change(what, kept))
        out.append(kept)
        if what is ChangeKind.ADDED:
            added = phone_number(k, number_id=f"{number.number_id}n")
            changes.append(change(what, added))
            out.append(added)
    return out, changes


def line(label: str, size: int, m: dict[str, float]) -> str:
    return (
        f"{label:<26} {size:>7,} {int(m['calls']):>6} {int(m['writes']):>6} "
        f"{m['sent'] / 1e3:>10,.1f} {m['received'] / 1e6:>8.2f} {m['cpu']:>6.2f} "
        f"{m['seconds']:>7.1f}"
    )


def compare(fake: FakeSheets, key: dict[str, str], size: int) -> None:
    numbers = [phone_number(i) for i in range(size)]
    ours = SheetsSandbox.create(fake, key=key)
    costs = '[{"type": "local", "monthly": 1.15}]'
    writer = SheetWriter(ours.settings(NUMBER_COSTS=costs))
    first = measure(ours, lambda: writer.write(inventory=numbers, changes=[], run=run_result(1)))
    again = measure(ours, lambda: writer.write(inventory=numbers, changes=[], run=run_result(2)))
    moved, changes = churned(numbers)
    churn = measure(ours, lambda: writer.write(inventory=moved, changes=changes, run=run_result(3)))
    theirs = SheetsSandbox.create(fake, key=key)
    baseline = measure(theirs, lambda: naive(theirs, numbers))
    print(line("syncbot, first sync", size, first))
    print(line("syncbot, unchanged sync", size, again))
    print(line("syncbot, 1% churn", size, churn))
    print(line(f"naive append x{PAGE}", size, baseline))


def main(sizes: Sequence[int]) -> None:
    fake = FakeSheets(record_snapshots=False)
    with fake.running():
        key = fake.service_account()
        print(
            f"{'write':<26} {'numbers':>7} {'calls':>6} {'writes':>6} {'sent KB':>10} "
            f"{'recv MB':>8} {'cpu s':>6} {'seconds':>7}"
        )
        for size in sizes:
            compare(fake, key, size)
    print(
        "\nFigures from one run on a shared machine: seconds and cpu vary from run to run; "
        "calls and bytes do not. A reader of the naive sheet sees it empty, then partly "
        "filled, for the whole run."
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m bench.sheets_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sizes",
        nargs="*",
        type=int,
        default=[1_000, 100_000],
        metavar="SIZE",
        help="numbers in the spreadsheet, one run each (default: 1000 100000)",
    )
    main(parser.parse_args().sizes)
