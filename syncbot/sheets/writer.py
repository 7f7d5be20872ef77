"""The Google Sheet writer: read what the sheet holds, plan the delta, send it, check it.

An unchanged sync costs two reads (tab metadata; the Inventory's first window, the newest
Sync log row), one read per further window of ``window_rows`` rows, and one small
batchUpdate (Summary, Sync log). What the rows read and wanted hold goes to the write's
scratch file, not to memory, so a full workbook writes in a bounded footprint. A sync with
changes adds one read after its writes: the key columns, to catch a row people inserted,
deleted or sorted between the read and the write, which would have shifted the rows the
write addressed; such a write is repaired at once from a fresh read. Synchronous: the sync
runs it with ``asyncio.to_thread``.

Rows are deleted by index, and a deleted row cannot be repaired: right before each call that
deletes rows, the key columns of those rows are read again, and if any no longer holds the
number planned the write is planned again from a fresh read. So a deletion never lands on a
row people typed or on another number's row.

A write Google may have applied although its answer was lost (a 5xx, a dropped connection)
is never sent again as it was: the writer reads the sheet again and plans from what it
finds, and a run already at the top of ``Sync log`` adds no second Sync log or Changes rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import stamina
from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError
from requests import RequestException

from syncbot.errors import ConfigError, SheetError
from syncbot.logs import event
from syncbot.models import Change, Key, PhoneNumber, RunResult, SheetResult, utc_now
from syncbot.settings import Settings
from syncbot.sheets.client import RetryPolicy, SheetsHTTPClient, credentials
from syncbot.sheets.delta import ROOM, Delta, Desired, Reading, desired
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
from syncbot.sheets.layout import INVENTORY, INVENTORY_HEADER, SYNC_LOG
from syncbot.sheets.plan import MAX_REQUEST_BYTES, Call, ceiling_warning, plan_write
from syncbot.sheets.scratch import Scratch

log = logging.getLogger(__name__)

_SHEETS_URL = "https://docs.google.com/spreadsheets/d/"
# Reads and writes again when people moved rows under a write; past that, the next sync fixes it.
REPAIRS = 2
# Inventory rows per read: about 4 MB of JSON, some 20 MB once parsed.
WINDOW_ROWS = 10_000
# Rows per read of the key columns alone (three cells a row).
_KEY_WINDOWS = 4
# Ranges per values.batchGet, whose ranges go in the URL.
_RANGES_PER_READ = 100
_FORMULA: dict[str, str | int | bool | float | list[str] | None] = {"valueRenderOption": "FORMULA"}
_NO_KEY: Key = ("", "", "")

# A run's changes: a list, or a function giving them anew as a stream (from the store).
Changes = Sequence[Change] | Callable[[], Iterable[Change]]


class _Unconfirmed(Exception):
    """A write whose answer was lost: Google may or may not have applied it."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Moved(Exception):
    """Rows a call would delete no longer hold the numbers planned: plan again."""


@dataclass(slots=True)
class _Sent:
    """What a write sent, over its repairs and retries."""

    writes: int = 0
    bytes: int = 0
    # Deleted rows whose people's cells went to Changes already.
    reported: list[Key] = field(default_factory=list)
    # The last plan's warning that the spreadsheet nears Google's cell limit.
    warning: str | None = None


class SheetWriter:
    """Writes the inventory, this run's changes and its log line to the configured sheet."""

    def __init__(
        self,
        settings: Settings,
        *,
        retry_attempts: int = 5,
        retry_wait_initial: float = 0.5,
        retry_wait_max: float = 30.0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        window_rows: int = WINDOW_ROWS,
    ) -> None:
        if settings.google_sheet_id is None:
            raise ConfigError(
                "GOOGLE_SHEET_ID is not set: give the spreadsheet's key or its full URL"
            )
        info = settings.service_account_info()
        self._key = settings.google_sheet_id
        self._email = str(info["client_email"])
        self._token_uri = str(info["token_uri"])
        self._api_url = settings.google_sheets_api_url
        self._costs = settings.costs()
        self._budget = max_request_bytes
        self._window = window_rows
        self._key_window = window_rows * _KEY_WINDOWS
        policy = RetryPolicy(retry_attempts, retry_wait_initial, retry_wait_max)
        creds = credentials(info, api_url=self._api_url)
        self._http = SheetsHTTPClient(creds, api_url=self._api_url, policy=policy)

    @property
    def service_account_email(self) -> str:
        return self._email

    @property
    def url(self) -> str:
        return _SHEETS_URL + self._key

    def check_access(self) -> str:
        """The spreadsheet's title, proving the service account may open it."""
        with self._errors():
            metadata = self._http.fetch_sheet_metadata(
                self._key, params={"fields": "properties.title"}
            )
        return str(metadata["properties"]["title"])

    def cell_usage(self) -> tuple[int, str | None]:
        """The spreadsheet's cells, and the warning once they pass 80% of Google's limit."""
        with self._errors():
            tabs = parse_tabs(
                self._http.fetch_sheet_metadata(self._key, params={"fields": METADATA_FIELDS})
            )
        cells = sum(tab.cells for tab in tabs)
        inventory = next((tab for tab in tabs if tab.title == INVENTORY), None)
        numbers = max(inventory.rows - 1, 0) if inventory else 0
        width = inventory.cols if inventory else len(INVENTORY_HEADER) + ROOM
        return cells, ceiling_warning(cells, numbers, width)

    def write(
        self, *, inventory: Iterable[PhoneNumber], changes: Changes, run: RunResult
    ) -> SheetResult:
        """Bring the sheet to this run's inventory in place; raise ``SheetError`` if not.

        ``inventory`` is walked once, in syncbot's order; it may be a stream. ``changes`` may
        be a function giving the run's changes as a stream, walked once per plan.
        """
        first_call = self._http.calls
        sent = _Sent()
        policy = self._http.policy
        with Scratch() as scratch:
            want = desired(inventory, self._costs, now=run.started_at, scratch=scratch)
            with self._errors():
                try:
                    for attempt in stamina.retry_context(
                        on=_Unconfirmed,
                        attempts=policy.attempts,
                        timeout=None,
                        wait_initial=policy.wait_initial,
                        wait_max=policy.wait_max,
                        wait_jitter=policy.wait_initial,
                    ):
                        with attempt:
                            self._converge(scratch, want, changes, run, sent)
                except _Unconfirmed as exc:
                    raise exc.cause from None
        calls = self._http.calls - first_call
        event(
            log,
            logging.INFO,
            "sheet written",
            rows=want.count,
            calls=calls,
            writes=sent.writes,
            bytes=sent.bytes,
        )
        if sent.warning is not None:
            event(log, logging.WARNING, "sheet nears the cell limit", warning=sent.warning)
        return SheetResult(status="ok", calls=calls, url=self.url, warning=sent.warning)

    def _converge(
        self, scratch: Scratch, want: Desired, changes: Changes, run: RunResult, sent: _Sent
    ) -> None:
        """Read, plan, write; check the rows landed where planned, and repair if not."""
        for _ in range(REPAIRS + 1):
            try:
                state, reading = self._read(scratch)
            except _Moved:
                event(log, logging.WARNING, "sheet rows moved during the read, reading again")
                continue
            plan = plan_write(
                state=state,
                reading=reading,
                want=want,
                scratch=scratch,
                changes=changes() if callable(changes) else changes,
                run=run,
                now=run.finished_at or utc_now(),
                reported=sent.reported,
                budget=self._budget,
            )
            sent.warning = plan.warning
            try:
                self._send_all(plan.calls, reading, plan.delta, sent)
            except _Moved:
                event(log, logging.WARNING, "sheet rows moved before a deletion, planning again")
                continue
            finally:
                if sent.writes:
                    sent.reported += plan.reported
            delta = plan.delta
            if delta is None or not delta.has_units or self._landed(delta):
                return
            event(log, logging.WARNING, "sheet rows moved during the write, repairing")
        raise SheetError(
            "People kept inserting, deleting or sorting Inventory rows while syncbot wrote; "
            "some rows may show another number's values until the next sync rewrites them."
        )

    def _send_all(
        self, calls: Iterator[Call], reading: Reading | None, delta: Delta | None, sent: _Sent
    ) -> None:
        first = True
        for call in calls:
            if call.deletes and reading is not None and delta is not None:
                # Before the first call the key columns are where they were read; after it,
                # where the write put them.
                at = reading.read_key_cols if first else delta.key_cols
                self._check_deletes(reading.scratch, call.deletes, at)
            self._send(call)
            first = False
            sent.writes += 1
            sent.bytes += len(call.body)

    def _read(self, scratch: Scratch) -> tuple[SheetState, Reading | None]:
        """The tabs, the newest Sync log row, and the Inventory window by window into
        ``scratch``."""
        tabs = parse_tabs(
            self._http.fetch_sheet_metadata(self._key, params={"fields": METADATA_FIELDS})
        )
        wanted = reads(tabs, inventory=INVENTORY, sync_log=SYNC_LOG, window=self._window)
        ranges: list[dict[str, Any]] = []
        if wanted.ranges:
            ranges = self._http.values_batch_get(self._key, wanted.ranges, params=_FORMULA).get(
                "valueRanges", []
            )
        state = sheet_state(tabs, wanted, ranges, inventory=INVENTORY)
        top = state.inventory
        if top is None:
            return state, None
        # Only one window of rows is held at a time: the first goes with the state.
        state = dataclasses.replace(state, inventory=None)
        del ranges
        tab, reading = top.tab, Reading(top.tab, top.header, scratch)
        rows, start = top.rows, 1 + self._window
        del top
        while start < tab.rows:
            # Google leaves out empty rows at the end of a range: the next window's rows
            # keep their indices only if this one is whole.
            rows += [[] for _ in range(self._window - len(rows))]
            reading.add(rows)
            tail = _trimmed(rows[-1])
            rows = []
            count = min(self._window, tab.rows - start)
            # Each window starts with the last row of the one before: if it is not the same
            # row, people inserted, deleted or sorted rows during the read.
            span = window_range(INVENTORY, start - 1, count + 1)
            if start + count >= tab.rows:
                # The last window is open-ended: rows people add meanwhile are read too.
                span = f"{quote_title(INVENTORY)}!A{start}:{column_letter(tab.cols - 1)}"
            try:
                answer = self._http.values_get(self._key, span, params=_FORMULA)
            except APIError as exc:
                if exc.response.status_code != 400:
                    raise
                # People deleted rows since the tab's size was read: read it all again.
                raise _Moved from exc
            overlap, *rows = values(answer) or [[]]
            del answer
            if _trimmed(overlap) != tail:
                raise _Moved
            start += self._window
        reading.add(rows)
        return state, reading

    def _send(self, call: Call) -> None:
        method = ":batchUpdate" if call.kind == "batchUpdate" else "/values:batchUpdate"
        try:
            self._http.post_serialized(self._key, method, call.body, write=True)
        except APIError as exc:
            if exc.response.status_code >= 500:
                raise _Unconfirmed(exc) from exc
            raise
        except RequestException as exc:
            raise _Unconfirmed(exc) from exc

    def _check_deletes(
        self, scratch: Scratch, deletes: Sequence[tuple[int, int]], key_cols: Sequence[int]
    ) -> None:
        """Raise ``_Moved`` unless each row to delete still holds the number read there."""
        low, high = min(key_cols), max(key_cols)
        at = [c - low for c in key_cols]
        spans: list[list[int]] = []
        # Nearby runs are read as one range, so a percent of churn costs a read or two.
        for start, end in sorted(deletes):
            if spans and end - spans[-1][0] <= self._key_window:
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
            answer = self._http.values_batch_get(self._key, ranges, params=_FORMULA)
            for (start, end), got in zip(part, answer.get("valueRanges", []), strict=True):
                found = [row_key(row, at) for row in values(got)]
                planned = scratch.keys_between(start, end)
                for run_start, run_end in deletes:
                    for i in range(max(run_start, start), min(run_end, end)):
                        here = found[i - start] if i - start < len(found) else _NO_KEY
                        if here != planned.get(i) or here == _NO_KEY:
                            raise _Moved

    def _landed(self, delta: Delta) -> bool:
        """Whether every Inventory row holds the number the write meant it for."""
        low, high = min(delta.key_cols), max(delta.key_cols)
        at = [c - low for c in delta.key_cols]
        expected = delta.expected()
        start = 0
        while True:
            last = start + self._key_window >= delta.rows - 1
            # The last read is open-ended: rows people added at the end count too.
            end = "" if last else str(start + self._key_window + 1)
            span = f"{column_letter(low)}{start + 2}:{column_letter(high)}{end}"
            answer = self._http.values_get(
                self._key, f"{quote_title(INVENTORY)}!{span}", params=_FORMULA
            )
            found = [row_key(row, at) for row in values(answer)]
            if not last:
                found += [_NO_KEY] * (self._key_window - len(found))
            for key in found:
                if key != next(expected, _NO_KEY):
                    return False
            if last:
                return all(key == _NO_KEY for key in expected)
            start += self._key_window

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except APIError as exc:
            raise self._api_error(exc) from None
        except RefreshError as exc:
            reason = str(exc.args[0]) if exc.args else type(exc).__name__
            raise SheetError(
                f"The service account {self._email} could not sign in at {self._token_uri} "
                f"({_short(reason)}). Check GOOGLE_SERVICE_ACCOUNT_JSON: the key may have been "
                "deleted or disabled; create a new key in Google Cloud IAM > Service accounts."
            ) from None
        except (RequestException, TransportError) as exc:
            raise SheetError(
                f"Google Sheets could not be reached at {self._api_url} after "
                f"{self._http.policy.attempts} attempts ({type(exc).__name__}); the sheet was "
                "left as it was and the next sync will try again."
            ) from None

    def _api_error(self, exc: APIError) -> SheetError:
        status = exc.response.status_code
        said = _short(str(exc.error.get("message", "")))
        share = (
            f"share the spreadsheet with {self._email} as an Editor (the Share button in "
            "Google Sheets)"
        )
        attempts = self._http.policy.attempts
        kept = "the sheet was left as it was"
        if status == 403 and ("has not been used" in said or "disabled" in said):
            message = (
                f"Google Sheets refused the call (403: {said}). Enable the Google Sheets API "
                f"in the service account's Google Cloud project; {kept}."
            )
        elif status == 403:
            message = (
                f"The service account {self._email} may not edit spreadsheet {self._key} "
                f"(403: {said}). To fix it, {share}; {kept}."
            )
        elif status == 404:
            message = (
                f"Spreadsheet {self._key} was not found (404). Check GOOGLE_SHEET_ID (the key "
                f"in the sheet's URL), and {share}."
            )
        elif status == 401:
            message = (
                f"Google refused the credentials of the service account {self._email} (401: "
                f"{said}). Check that its key in GOOGLE_SERVICE_ACCOUNT_JSON is still active in "
                f"Google Cloud IAM; {kept}."
            )
        elif status == 429:
            message = (
                f"Google Sheets quota exceeded (429) after {attempts} attempts; {kept} and the "
                "next sync will try again. If it lasts, sync less often (SYNC_INTERVAL_SECONDS) "
                "or raise the project's Sheets API quota."
            )
        elif status >= 500:
            message = (
                f"Google Sheets failed ({status}: {said}) after {attempts} attempts; {kept} "
                "and the next sync will try again."
            )
        else:
            message = f"Google Sheets rejected the request ({status}: {said}); {kept}."
        return SheetError(message)


def _trimmed(row: list[Value]) -> list[Value]:
    """A row without its empty cells at the end (Google leaves them out, but not always)."""
    end = len(row)
    while end and row[end - 1] == "":
        end -= 1
    return row[:end]


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
