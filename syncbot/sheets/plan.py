"""Turn one sync into the fewest write calls that keep the sheet whole for its readers.

Google applies one ``batchUpdate`` all or nothing, so a sync (new tabs, the Inventory's
delta, this run's Changes and Sync log rows, the Summary, the filter and the highlight rule)
goes into one call when it fits the request budget. A larger delta is cut between units
(see ``delta``), each call leaving every number with one whole row: the first call also
carries the new tabs, the column migration and this run's Changes and Sync log rows, the
last one the Summary, the filter and the rule.

The first sync into an empty Inventory writes its rows RAW with ``values.batchUpdate`` (a
quarter of the bytes of ``updateCells``) once the first call has sized the tab; a number
appears when the call holding its row lands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from syncbot.errors import SheetError
from syncbot.models import Change, Key, RunResult
from syncbot.sheets import charts, layout, ops, upkeep
from syncbot.sheets.client import compact_json
from syncbot.sheets.delta import ROOM, Delta, Unit, plan_delta
from syncbot.sheets.existing import DEFAULT_TAB, SheetState, Tab, quote_title
from syncbot.sheets.reading import Desired, Reading
from syncbot.sheets.rows import change_lines
from syncbot.sheets.scratch import Scratch, unpack
from syncbot.sheets.summary import SOURCE_HEADER, SOURCE_TABLE_ROW, SUMMARY_WIDTHS
from syncbot.sheets.summary_costs import money_format, summary_cell

CELL_LIMIT = 10_000_000
# Past this share of Google's limit, the Summary, the sync's result and the alerts warn.
CELL_WARNING = 0.8
MAX_COLUMNS = 18_278
# Google recommends at most 2 MB per request.
MAX_REQUEST_BYTES = 2_000_000
CHANGES_KEPT = 5_000
SYNC_LOG_KEPT = 1_000
# A crashed write of an older syncbot may have left this tab behind; it goes.
STAGING = "syncbot staging (do not edit)"
_WIDTH = len(layout.INVENTORY_HEADER)


@dataclass(frozen=True, slots=True)
class Call:
    kind: Literal["batchUpdate", "values"]
    body: bytes
    # The Inventory rows ``[start, end)`` as read that the call deletes: the writer checks
    # they still hold the numbers planned before it sends the call.
    deletes: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class WritePlan:
    # Made as they are sent: a large write never holds all its bodies at once.
    calls: Iterator[Call]
    # The Inventory's delta when rows were edited in place: the writer checks it landed.
    delta: Delta | None
    peak_cells: int
    # The rows deleted that held people's cells, reported in ``Changes`` by this plan.
    reported: list[Key]
    # Set once the workbook passes ``CELL_WARNING`` of Google's cell limit.
    warning: str | None = None


def run_identity(run: RunResult) -> tuple[str, str]:
    """What the newest ``Sync log`` row holds in Run and Started at once this run is logged."""
    return ("" if run.run_id is None else str(run.run_id), layout.when_text(run.started_at))


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
    state: SheetState,
    reading: Reading | None,
    want: Desired,
    scratch: Scratch,
    changes: Iterable[Change] | None,
    run: RunResult,
    now: dt.datetime,
    reported: Sequence[Key] = (),
    budget: int = MAX_REQUEST_BYTES,
) -> WritePlan:
    """The calls that bring the sheet to ``want``; ``changes`` None: this run's ``Changes``
    rows are in the sheet already (a repair), and only deleted rows not yet ``reported`` get
    theirs."""
    planner = _Planner(state.tabs, budget)
    delta = None
    if reading is None or reading.blank:
        inventory_id, rows, cols = planner.sized(
            layout.INVENTORY,
            max(want.count + 1, 2),
            max(reading.tab.cols if reading else 0, _WIDTH + ROOM),
            layout.INVENTORY_WIDTHS,
        )
    else:
        delta = plan_delta(reading, unit_budget=budget // 2)
        if delta.cols > MAX_COLUMNS:
            raise SheetError(
                f"The Inventory would need {delta.cols} columns, over Google's limit of "
                f"{MAX_COLUMNS}: delete some of the columns added right of the managed ones."
            )
        inventory_id, rows, cols = reading.tab.sheet_id, delta.rows, delta.cols
        grown = delta.rows * delta.cols - reading.tab.cells
        planner.out.grows.append(_Step(b"", max(grown, 0)))
        planner.end_cells += min(grown, 0)
    planner.numbers, planner.row_cells = want.count, cols
    warning = ceiling_warning(planner.cells_after(), want.count, cols)
    summary = want.summary.rows(run)
    if warning is not None:
        # The Summary's blank fifth row, above the table of sources the chart reads.
        summary[SOURCE_TABLE_ROW - 1] = ["Sheet size", warning]
    costs = want.summary.costs
    money = None if costs is None else money_format(costs.currency)
    summary_id, summary_rows, summary_cols = planner.sized(
        layout.SUMMARY, len(summary), len(SUMMARY_WIDTHS) + charts.CHART_COLUMNS, SUMMARY_WIDTHS
    )
    tail = [
        ops.update_cells(
            summary_id,
            (0, summary_rows),
            (0, summary_cols),
            [ops.row_json(summary_cell(value, money) for value in row) for row in summary],
            fields="userEnteredValue,userEnteredFormat.numberFormat",
        )
    ]
    removed = delta.removed if delta else []
    if state.logged != run_identity(run) and changes is not None:
        lines = change_lines(removed, changes, run_id=run.run_id, now=now, actions=want.actions)
        planner.prepend(layout.CHANGES, layout.CHANGES_HEADER, lines, CHANGES_KEPT)
        planner.prepend(
            layout.SYNC_LOG, layout.SYNC_LOG_HEADER, [layout.sync_log_row(run)], SYNC_LOG_KEPT
        )
    else:
        # A repair deleted rows the first plan did not: what people wrote in them still goes.
        done = set(reported)
        removed = [entry for entry in removed if entry[0] not in done]
        lines = change_lines(removed, (), run_id=run.run_id, now=now)
        planner.prepend(layout.CHANGES, layout.CHANGES_HEADER, lines, CHANGES_KEPT)
    tail += charts.chart_requests(
        charts.found(chart for tab in state.tabs for chart in tab.charts),
        history=charts.History(
            planner.sheet_id(layout.SYNC_LOG),
            at=layout.SYNC_LOG_HEADER.index("Finished at"),
            unassigned=layout.SYNC_LOG_HEADER.index("Unassigned numbers"),
            cost=(
                None
                if want.summary.costs is None
                else layout.SYNC_LOG_HEADER.index("Unassigned monthly cost")
            ),
        ),
        by_source=charts.BySource(
            summary_id,
            rows=want.summary.source_rows(run),
            name=0,
            assigned=SOURCE_HEADER.index("Assigned"),
            unassigned=SOURCE_HEADER.index("Unassigned"),
        ),
        anchor_col=len(SUMMARY_WIDTHS) + 1,
    )
    current = planner.tabs.get(layout.INVENTORY)
    moved = delta is not None and (delta.has_units or bool(delta.structure))
    tail += upkeep.highlight_rule(
        current.conditional_formats if current else (),
        inventory_id,
        rows,
        cols,
        moved=moved,
        status_col=delta.managed[1] if delta else 1,
    )
    tail += upkeep.basic_filter(
        current.basic_filter if current else None, inventory_id, rows, cols, moved=moved
    )
    default = planner.tabs.get(DEFAULT_TAB)
    if state.default_tab_blank and default is not None:
        planner.out.shrinks.append(_Step(ops.delete_sheet(default.sheet_id), -default.cells))
    plan = planner.finish(scratch, delta, inventory_id, tail, [key for key, _, _ in removed])
    return dataclasses.replace(plan, warning=warning)


def numbers_that_fit(cells: int, numbers: int, row_cells: int) -> int:
    """How many numbers the spreadsheet holds at most, each a row of ``row_cells`` cells,
    when it has ``cells`` cells with ``numbers`` of them."""
    return numbers + max(CELL_LIMIT - cells, 0) // max(row_cells, 1)


def ceiling_warning(cells: int, numbers: int, row_cells: int) -> str | None:
    """What to say once the spreadsheet passes ``CELL_WARNING`` of Google's cell limit."""
    if cells < CELL_WARNING * CELL_LIMIT:
        return None
    fit = numbers_that_fit(cells, numbers, row_cells)
    return (
        f"The spreadsheet holds {cells:,} of Google's {CELL_LIMIT:,} cells "
        f"({cells / CELL_LIMIT:.0%}): about {fit:,} numbers fit in it ({numbers:,} now). "
        "Delete unused tabs or columns, or give the Inventory a spreadsheet of its own."
    )


class _Planner:
    def __init__(self, tabs: Sequence[Tab], budget: int) -> None:
        self.tabs = {tab.title: tab for tab in tabs}
        # Tabs once a crashed write's staging tab is gone; new tabs' indices must stay within.
        self.count = sum(1 for tab in tabs if tab.title != STAGING)
        self.start_cells = sum(tab.cells for tab in tabs)
        self.budget = budget
        self._next_id = max((tab.sheet_id for tab in tabs), default=0) + 1
        self._created: dict[str, int] = {}
        self.out = _Requests()
        # Cells freed that ``out`` does not count (the Inventory shrinking), and what a
        # number costs: for the warning and the error at Google's limit.
        self.end_cells = 0
        self.numbers = 0
        self.row_cells = 1

    def sheet_id(self, title: str) -> int:
        """The id of a tab that exists, or that this write creates."""
        tab = self.tabs.get(title)
        return tab.sheet_id if tab is not None else self._created[title]

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
        sheet_id = self._created[title] = self._next_id
        self._next_id += 1
        index = min(layout.TABS.index(title), self.count)
        self.count += 1
        add = ops.add_sheet(sheet_id, title, index=index, rows=rows, cols=cols)
        self.out.creates.append(_Step(add, rows * cols))
        self.out.creates += [_Step(body, 0) for body in ops.header_style(sheet_id, cols, widths)]
        return sheet_id, rows, cols

    def prepend(
        self, title: str, header: Sequence[str], lines: Sequence[Sequence[layout.Cell]], keep: int
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
        self,
        scratch: Scratch,
        delta: Delta | None,
        inventory_id: int,
        tail: list[bytes],
        reported: list[Key],
    ) -> WritePlan:
        leftovers = [tab for tab in self.tabs.values() if tab.title == STAGING]
        cleanup = [_Step(ops.delete_sheet(tab.sheet_id), -tab.cells) for tab in leftovers]
        steps = [*cleanup, *self.out.shrinks, *self.out.creates, *self.out.grows]
        peak = self.peak(steps)
        structure = [s.body for s in steps if s.body]
        if delta is not None:
            first = [*structure, *delta.structure, *self.out.content]
            return WritePlan(self._pack(first, delta.units, tail), delta, peak, reported)
        first = [*structure, *self.out.content]
        return WritePlan(self._fill(scratch, first, inventory_id, tail), None, peak, reported)

    def _fill(
        self, scratch: Scratch, first: list[bytes], inventory_id: int, tail: list[bytes]
    ) -> Iterator[Call]:
        """A first sync into an empty Inventory: in one call when it fits, else the tab is
        sized by the first call and the rows follow RAW, a request's worth at a time."""
        header = list(layout.INVENTORY_HEADER)
        rows = [ops.plain_row(header)]
        head = ops.update_cells(inventory_id, (0, 1), (0, _WIDTH), [])
        size = ops.body_size([*first, head, *tail]) + len(rows[0])
        stream = scratch.wanted_rows()
        for _, cells in stream:
            rows.append(ops.plain_row(unpack(cells)))
            size += len(rows[-1]) + 1
            if size > self.budget:
                break
        else:
            direct = ops.update_cells(inventory_id, (0, len(rows)), (0, _WIDTH), rows)
            yield Call("batchUpdate", ops.batch_body([*first, direct, *tail]))
            return
        del rows
        yield Call("batchUpdate", ops.batch_body([*first, *tail]))
        at = quote_title(layout.INVENTORY)
        room = self.budget - len(ops.values_update(at + "!A1000000", []))
        values = [compact_json(header)]
        size, start = len(values[0]) + 1, 0
        for _, cells in scratch.wanted_rows():
            line = compact_json(unpack(cells))
            if size + len(line) + 1 > room:
                yield Call("values", ops.values_update(f"{at}!A{start + 1}", values))
                start += len(values)
                values, size = [], 0
            values.append(line)
            size += len(line) + 1
        yield Call("values", ops.values_update(f"{at}!A{start + 1}", values))

    def _pack(self, first: list[bytes], units: Iterable[Unit], tail: list[bytes]) -> Iterator[Call]:
        current = list(first)
        deletes: list[tuple[int, int]] = []
        size = ops.body_size(current)
        for unit in units:
            if current and size + unit.size > self.budget:
                yield Call("batchUpdate", ops.batch_body(current), tuple(deletes))
                current, size, deletes = [], ops.body_size([]), []
            current += unit.requests
            size += unit.size
            if unit.deletes is not None:
                deletes.append(unit.deletes)
        if current and size + sum(len(r) + 1 for r in tail) > self.budget:
            yield Call("batchUpdate", ops.batch_body(current), tuple(deletes))
            current, deletes = [], []
        yield Call("batchUpdate", ops.batch_body([*current, *tail]), tuple(deletes))

    def cells_after(self) -> int:
        """About how many cells the spreadsheet has once the steps planned so far are done."""
        steps = [*self.out.shrinks, *self.out.creates, *self.out.grows]
        return self.start_cells + self.end_cells + sum(step.cells for step in steps)

    def peak(self, steps: Sequence[_Step]) -> int:
        cells = peak = self.start_cells
        for step in steps:
            cells += step.cells
            peak = max(peak, cells)
        if peak > CELL_LIMIT:
            fit = numbers_that_fit(peak - self.numbers * self.row_cells, 0, self.row_cells)
            raise SheetError(
                f"Writing the sheet would need {peak:,} cells at its peak, over Google's limit "
                f"of {CELL_LIMIT:,} cells per spreadsheet (it holds {self.start_cells:,} now): "
                f"about {fit:,} numbers fit in it ({self.numbers:,} to write). "
                "Delete unused tabs or columns, or give the Inventory a spreadsheet of its own."
            )
        return peak
