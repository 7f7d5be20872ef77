"""Turn one sync into the fewest write calls that keep the sheet whole for its readers.

Google applies one ``batchUpdate`` all or nothing, so the whole sync (new tabs, resizes,
every tab's cells, the filter and the highlight rule) goes into one call when it fits the
request budget: a reader sees the sheet before it or after it, never between.

A larger Inventory is staged: one call creates a hidden staging tab, ``values.batchUpdate``
calls (RAW, a quarter of the bytes of ``updateCells``) fill it a budget at a time, and one
final ``batchUpdate`` resizes, copies the staging tab over the Inventory, updates the other
tabs and deletes the staging tab. Until that last call the Inventory is untouched.

Every request addresses absolute rows and sizes, so a call retried after a 5xx that Google
had in fact applied cannot scramble the Inventory: at worst the retry is refused (the tab it
adds now exists) or this run's Changes and Sync log rows appear twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from syncbot.errors import SheetError
from syncbot.models import Change, PhoneNumber, RunResult
from syncbot.sheets import layout, ops, upkeep
from syncbot.sheets.client import compact_json
from syncbot.sheets.existing import OldInventory, Tab, Value, quote_title
from syncbot.sheets.rows import InventoryGrid, change_lines, inventory_grid

CELL_LIMIT = 10_000_000
MAX_COLUMNS = 18_278
# Google recommends at most 2 MB per request; above it, the Inventory goes through staging.
MAX_REQUEST_BYTES = 2_000_000
CHANGES_KEPT = 5_000
SYNC_LOG_KEPT = 1_000
STAGING = "syncbot staging (do not edit)"


@dataclass(frozen=True, slots=True)
class Call:
    kind: Literal["batchUpdate", "values"]
    body: bytes


@dataclass(frozen=True, slots=True)
class WritePlan:
    calls: list[Call]
    staged: bool
    peak_cells: int


@dataclass(frozen=True, slots=True)
class _Step:
    """A structural request and how many cells it adds to the spreadsheet (negative: frees)."""

    body: bytes
    cells: int


@dataclass(slots=True)
class _Requests:
    shrinks: list[_Step] = field(default_factory=list)
    creates: list[_Step] = field(default_factory=list)
    grows: list[_Step] = field(default_factory=list)
    content: list[bytes] = field(default_factory=list)

    def resize(self, tab: Tab, rows: int, cols: int) -> None:
        if (rows, cols) != (tab.rows, tab.cols):
            step = _Step(ops.resize(tab.sheet_id, rows, cols), rows * cols - tab.cells)
            (self.shrinks if step.cells < 0 else self.grows).append(step)


def plan_write(
    *,
    tabs: Sequence[Tab],
    old: OldInventory,
    inventory: Sequence[PhoneNumber],
    changes: Sequence[Change],
    run: RunResult,
    now: dt.datetime,
    budget: int = MAX_REQUEST_BYTES,
) -> WritePlan:
    planner = _Planner(tabs, budget)
    grid = inventory_grid(old, inventory)
    if grid.cols > MAX_COLUMNS:
        raise SheetError(
            f"The Inventory would need {grid.cols} columns, over Google's limit of "
            f"{MAX_COLUMNS}: delete some of the columns added right of the managed ones."
        )
    inventory_id, rows, cols = planner.sized(
        layout.INVENTORY, max(len(grid.rows), 2), grid.cols, layout.INVENTORY_WIDTHS
    )
    summary = layout.summary_rows(inventory, run)
    summary_id, summary_rows, summary_cols = planner.sized(
        layout.SUMMARY, len(summary), 4, layout.SUMMARY_WIDTHS
    )
    planner.out.content.append(
        ops.update_cells(
            summary_id,
            (0, summary_rows),
            (0, summary_cols),
            [ops.plain_row(row) for row in summary],
        )
    )
    lines = change_lines(old, inventory, changes, run_id=run.run_id, now=now)
    planner.prepend(layout.CHANGES, layout.CHANGES_HEADER, lines, CHANGES_KEPT)
    planner.prepend(
        layout.SYNC_LOG, layout.SYNC_LOG_HEADER, [layout.sync_log_row(run)], SYNC_LOG_KEPT
    )
    current = planner.tabs.get(layout.INVENTORY)
    tidy = upkeep.highlight_rule(
        current.conditional_formats if current else (), inventory_id, rows, cols
    )
    tidy += upkeep.basic_filter(current.basic_filter if current else None, inventory_id, rows, cols)
    return planner.finish(grid, inventory_id, (rows, cols), tidy)


class _Planner:
    def __init__(self, tabs: Sequence[Tab], budget: int) -> None:
        self.tabs = {tab.title: tab for tab in tabs}
        # Tabs once a crashed write's staging tab is gone; new tabs' indices must stay within.
        self.count = sum(1 for tab in tabs if tab.title != STAGING)
        self.start_cells = sum(tab.cells for tab in tabs)
        self.budget = budget
        self._next_id = max((tab.sheet_id for tab in tabs), default=0) + 1
        self.out = _Requests()

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def sized(
        self, title: str, rows: int, cols: int, widths: Sequence[int]
    ) -> tuple[int, int, int]:
        """The tab's id and size after creating it, or resizing it to ``rows`` x ``cols`` (or
        more, when people froze more rows or columns than that)."""
        tab = self.tabs.get(title)
        if tab is not None:
            rows, cols = max(rows, tab.frozen_rows + 1), max(cols, tab.frozen_cols + 1)
            self.out.resize(tab, rows, cols)
            return tab.sheet_id, rows, cols
        sheet_id = self.new_id()
        index = min(layout.TABS.index(title), self.count)
        self.count += 1
        add = ops.add_sheet(sheet_id, title, index=index, rows=rows, cols=cols)
        self.out.creates.append(_Step(add, rows * cols))
        self.out.creates += [_Step(body, 0) for body in ops.header_style(sheet_id, cols, widths)]
        return sheet_id, rows, cols

    def prepend(
        self, title: str, header: Sequence[str], lines: Sequence[Sequence[str | int]], keep: int
    ) -> None:
        """Put ``lines`` under the header, newest first, keeping at most ``keep`` rows in all."""
        widths = layout.CHANGES_WIDTHS if title == layout.CHANGES else layout.SYNC_LOG_WIDTHS
        cols, count = len(header), len(lines)
        tab = self.tabs.get(title)
        if tab is None:
            sheet_id, _, _ = self.sized(title, 1 + max(count, 1), cols, widths)
        elif not lines:
            return
        else:
            sheet_id = tab.sheet_id
            # Trim the oldest rows first, so the tab never holds more than it will keep.
            limit = max(keep, count) + 1
            trimmed = max(tab.rows, 2)
            if tab.rows + count > limit:
                trimmed = max(tab.frozen_rows + 1, limit - count)
            width = max(tab.cols, cols)
            self.out.resize(tab, trimmed, width)
            self.out.grows.append(_Step(ops.insert_rows(sheet_id, 1, count), count * width))
        data = [ops.plain_row(list(header)), *(ops.plain_row(line) for line in lines)]
        self.out.content.append(ops.update_cells(sheet_id, (0, len(data)), (0, cols), data))

    def finish(
        self, grid: InventoryGrid, inventory_id: int, size: tuple[int, int], tidy: list[bytes]
    ) -> WritePlan:
        rows, cols = size
        leftovers = [tab for tab in self.tabs.values() if tab.title == STAGING]
        cleanup = [_Step(ops.delete_sheet(tab.sheet_id), -tab.cells) for tab in leftovers]
        structure = [*cleanup, *self.out.shrinks, *self.out.creates, *self.out.grows]
        rest = [*(s.body for s in structure), *self.out.content, *tidy]
        # Serialize the Inventory as updateCells only as far as the budget allows.
        wrapper = ops.update_cells(inventory_id, (0, rows), (0, cols), [])
        total, cells = ops.body_size([wrapper, *rest]), []
        for managed, extras in grid.rows:
            cells.append(ops.row_json([*map(ops.ours, managed), *map(ops.kept, extras)]))
            total += len(cells[-1]) + 1
            if total > self.budget:
                break
        else:
            direct = ops.update_cells(inventory_id, (0, rows), (0, cols), cells)
            commit = [s.body for s in structure] + [direct, *self.out.content, *tidy]
            calls = [Call("batchUpdate", ops.batch_body(commit))]
            return WritePlan(calls, staged=False, peak_cells=self.peak(structure))

        staging_id = self.new_id()
        add = ops.add_sheet(staging_id, STAGING, rows=rows, cols=cols, hidden=True)
        values, formulas = _staged_rows(grid, staging_id)
        head = len(ops.values_update(quote_title(STAGING) + "!A1000000", []))
        calls = [Call("batchUpdate", ops.batch_body([*(s.body for s in cleanup), add]))]
        for start, end in ops.spans(values, self.budget - head):
            at = f"{quote_title(STAGING)}!A{start + 1}"
            calls.append(Call("values", ops.values_update(at, values[start:end])))
        swap = [s.body for s in structure[len(cleanup) :]] + formulas
        swap += [ops.copy_values(staging_id, inventory_id, rows, cols), *self.out.content, *tidy]
        calls.append(Call("batchUpdate", ops.batch_body([*swap, ops.delete_sheet(staging_id)])))
        staging = [_Step(add, rows * cols)]
        peak = self.peak([*cleanup, *staging, *structure[len(cleanup) :]])
        return WritePlan(calls, staged=True, peak_cells=peak)

    def peak(self, steps: Sequence[_Step]) -> int:
        cells = peak = self.start_cells
        for step in steps:
            cells += step.cells
            peak = max(peak, cells)
        if peak > CELL_LIMIT:
            raise SheetError(
                f"Writing the sheet would need {peak:,} cells at its peak, over Google's limit "
                f"of {CELL_LIMIT:,} cells per spreadsheet (it holds {self.start_cells:,} now). "
                "Delete unused tabs or columns, or give the Inventory a spreadsheet of its own."
            )
        return peak


def _staged_rows(grid: InventoryGrid, staging_id: int) -> tuple[list[bytes], list[bytes]]:
    """The rows for ``values.batchUpdate`` (RAW), and ``updateCells`` for people's formulas,
    which RAW would turn into text."""
    values: list[bytes] = []
    formulas: list[bytes] = []
    base = len(layout.INVENTORY_HEADER)
    for index, (managed, extras) in enumerate(grid.rows):
        found = [i for i, v in enumerate(extras) if isinstance(v, str) and v.startswith("=")]
        plain: list[Value] = [v if i not in found else "" for i, v in enumerate(extras)]
        values.append(compact_json([*managed, *plain]))
        if found:
            span = extras[found[0] : found[-1] + 1]
            row = ops.row_json(ops.kept(v) for v in span)
            at = (base + found[0], base + found[-1] + 1)
            formulas.append(ops.update_cells(staging_id, (index, index + 1), at, [row]))
    return values, formulas
