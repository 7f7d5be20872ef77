"""The writer's reads of the Inventory: window by window into the scratch file, the key
columns of rows about to be deleted, and the key columns after a write.

Every read renders cells with ``valueRenderOption=FORMULA``, so that a value compares with
what syncbot wrote and a formula people typed stays a formula.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from gspread.exceptions import APIError

from syncbot.models import Key
from syncbot.sheets.client import SheetsHTTPClient
from syncbot.sheets.delta import Delta
from syncbot.sheets.existing import (
    METADATA_FIELDS,
    SheetState,
    Value,
    column_letter,
    parse_tabs,
    quote_title,
    reads,
    row_key,
    sheet_state,
    values,
    window_range,
)
from syncbot.sheets.layout import INVENTORY, SYNC_LOG
from syncbot.sheets.reading import Reading
from syncbot.sheets.scratch import Scratch

# Inventory rows per read: about 4 MB of JSON, some 20 MB once parsed.
WINDOW_ROWS = 10_000
# Rows per read of the key columns alone (three cells a row).
_KEY_WINDOWS = 4
# Ranges per values.batchGet, whose ranges go in the URL.
_RANGES_PER_READ = 100
# Rows to delete this close together are read as one range.
_GAP_READ = 20
# FORMULA tells people's formulas, numbers and text apart; a date people typed is a serial
# number to Google, so it comes as the text they see (2024-03-01), for Changes and repairs.
_FORMULA: dict[str, str | int | bool | float | list[str] | None] = {
    "valueRenderOption": "FORMULA",
    "dateTimeRenderOption": "FORMATTED_STRING",
}
_NO_KEY: Key = ("", "", "")


class RowsMoved(Exception):
    """People inserted, deleted or sorted rows under a read, or rows a call would delete no
    longer hold the numbers planned: read and plan again."""


class InventoryReads:
    """The reads of one spreadsheet's Inventory, ``window`` rows at a time."""

    def __init__(self, http: SheetsHTTPClient, key: str, *, window: int) -> None:
        self.http = http
        self.key = key
        self.window = window
        self.key_window = window * _KEY_WINDOWS

    def read(
        self,
        scratch: Scratch,
        *,
        fresh: frozenset[str] = frozenset(),
        renamed: Mapping[Key, Key] | None = None,
    ) -> tuple[SheetState, Reading | None]:
        """The tabs, the newest Sync log row, and the Inventory window by window into
        ``scratch``; ``fresh``: managed headers never written to this sheet (``Reading``);
        ``renamed``: re-keyed numbers' old keys and new ones."""
        tabs = parse_tabs(
            self.http.fetch_sheet_metadata(self.key, params={"fields": METADATA_FIELDS})
        )
        wanted = reads(tabs, inventory=INVENTORY, sync_log=SYNC_LOG, window=self.window)
        ranges: list[dict[str, Any]] = []
        if wanted.ranges:
            ranges = self.http.values_batch_get(self.key, wanted.ranges, params=_FORMULA).get(
                "valueRanges", []
            )
        state = sheet_state(tabs, wanted, ranges, inventory=INVENTORY)
        top = state.inventory
        if top is None:
            return state, None
        # Only one window of rows is held at a time: the first goes with the state.
        state = dataclasses.replace(state, inventory=None)
        del ranges
        tab, reading = top.tab, Reading(top.tab, top.header, scratch, fresh=fresh, renamed=renamed)
        rows, start = top.rows, 1 + self.window
        del top
        while start < tab.rows:
            # Google leaves out empty rows at the end of a range: the next window's rows
            # keep their indices only if this one is whole.
            rows += [[] for _ in range(self.window - len(rows))]
            reading.add(rows)
            tail = _trimmed(rows[-1])
            rows = []
            count = min(self.window, tab.rows - start)
            # Each window starts with the last row of the one before: if it is not the same
            # row, people inserted, deleted or sorted rows during the read.
            span = window_range(INVENTORY, start - 1, count + 1)
            if start + count >= tab.rows:
                # The last window is open-ended: rows people add meanwhile are read too.
                span = f"{quote_title(INVENTORY)}!A{start}:{column_letter(tab.cols - 1)}"
            try:
                answer = self.http.values_get(self.key, span, params=_FORMULA)
            except APIError as exc:
                if exc.response.status_code != 400:
                    raise
                # People deleted rows since the tab's size was read: read it all again.
                raise RowsMoved from exc
            overlap, *rows = values(answer) or [[]]
            del answer
            if _trimmed(overlap) != tail:
                raise RowsMoved
            start += self.window
        reading.add(rows)
        reading.finish()
        return state, reading

    def check_deletes(
        self, scratch: Scratch, deletes: Sequence[tuple[int, int]], key_cols: Sequence[int]
    ) -> None:
        """Raise ``RowsMoved`` unless each row to delete still holds the number read there."""
        low, high = min(key_cols), max(key_cols)
        at = [c - low for c in key_cols]
        spans: list[list[int]] = []
        # Runs a few rows apart are read as one range; each read asks for at most
        # ``_RANGES_PER_READ`` ranges (they go in the URL), only the rows to delete and a few
        # between them.
        for start, end in sorted(deletes):
            if spans and start - spans[-1][1] <= _GAP_READ:
                spans[-1][1] = end
            else:
                spans.append([start, end])
        for first in range(0, len(spans), _RANGES_PER_READ):
            part = spans[first : first + _RANGES_PER_READ]
            ranges = [
                f"{quote_title(INVENTORY)}!{column_letter(low)}{start + 2}:"
                f"{column_letter(high)}{end + 1}"
                for start, end in part
            ]
            answer = self.http.values_batch_get(self.key, ranges, params=_FORMULA)
            for (start, end), got in zip(part, answer.get("valueRanges", []), strict=True):
                found = [row_key(row, at) for row in values(got)]
                planned = scratch.keys_between(start, end)
                for run_start, run_end in deletes:
                    for i in range(max(run_start, start), min(run_end, end)):
                        here = found[i - start] if i - start < len(found) else _NO_KEY
                        if here != planned.get(i) or here == _NO_KEY:
                            raise RowsMoved

    def landed(self, delta: Delta) -> bool:
        """Whether every Inventory row holds the number the write meant it for."""
        low, high = min(delta.key_cols), max(delta.key_cols)
        at = [c - low for c in delta.key_cols]
        expected = delta.expected()
        start = 0
        while True:
            last = start + self.key_window >= delta.rows - 1
            # The last read is open-ended: rows people added at the end count too.
            end = "" if last else str(start + self.key_window + 1)
            span = f"{column_letter(low)}{start + 2}:{column_letter(high)}{end}"
            answer = self.http.values_get(
                self.key, f"{quote_title(INVENTORY)}!{span}", params=_FORMULA
            )
            found = [row_key(row, at) for row in values(answer)]
            if not last:
                found += [_NO_KEY] * (self.key_window - len(found))
            for key in found:
                if key != next(expected, _NO_KEY):
                    return False
            if last:
                return all(key == _NO_KEY for key in expected)
            start += self.key_window


def _trimmed(row: list[Value]) -> list[Value]:
    """A row without its empty cells at the end (Google leaves them out, but not always)."""
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row[:end]
