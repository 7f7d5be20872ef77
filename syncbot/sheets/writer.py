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
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import stamina
from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError
from requests import RequestException

from syncbot.errors import ConfigError, SheetError
from syncbot.followups import FollowUpBook
from syncbot.logs import event
from syncbot.models import Change, Key, RunResult, SheetResult, utc_now
from syncbot.settings import Settings
from syncbot.sheets.client import RetryPolicy, SheetsHTTPClient, credentials
from syncbot.sheets.delta import ROOM, Delta
from syncbot.sheets.existing import (
    METADATA_FIELDS,
    parse_tabs,
)
from syncbot.sheets.inventory_reads import WINDOW_ROWS, InventoryReads, RowsMoved
from syncbot.sheets.layout import INVENTORY, INVENTORY_HEADER
from syncbot.sheets.plan import MAX_REQUEST_BYTES, Call, ceiling_warning, plan_write
from syncbot.sheets.reading import Desired, Reading, desired, rekeyed
from syncbot.sheets.scratch import Scratch
from syncbot.store.base import InventoryStream

log = logging.getLogger(__name__)

_SHEETS_URL = "https://docs.google.com/spreadsheets/d/"
# Reads and writes again when people moved rows under a write; past that, the next sync fixes it.
REPAIRS = 2

# A run's changes: a list, or a function giving them anew as a stream (from the store).
Changes = Sequence[Change] | Callable[[], Iterable[Change]]


class _Unconfirmed(Exception):
    """A write whose answer was lost: Google may or may not have applied it."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


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
        policy = RetryPolicy(retry_attempts, retry_wait_initial, retry_wait_max)
        creds = credentials(info, api_url=self._api_url)
        self._http = SheetsHTTPClient(creds, api_url=self._api_url, policy=policy)
        self._reads = InventoryReads(self._http, self._key, window=window_rows)

    @property
    def service_account_email(self) -> str:
        return self._email

    @property
    def url(self) -> str:
        return _SHEETS_URL + self._key

    @property
    def key(self) -> str:
        """The spreadsheet's key (``GOOGLE_SHEET_ID``, from its URL when given one)."""
        return self._key

    def limit(self, deadline: float | None, *, seconds: float) -> None:
        """End every later call, retry and wait by ``deadline`` (``time.monotonic()``): the
        run's, whose ``SYNC_DEADLINE_SECONDS`` allowed ``seconds`` in all. A write still going
        then fails with ``DeadlinePassed``."""
        self._http.limit(deadline, seconds=seconds)

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
        self,
        *,
        inventory: InventoryStream,
        changes: Changes,
        run: RunResult,
        followups: FollowUpBook | None = None,
        fresh_columns: frozenset[str] = frozenset(),
    ) -> SheetResult:
        """Bring the sheet to this run's inventory in place; raise ``SheetError`` if not.

        ``inventory`` is walked once, in syncbot's order; it may be a stream, of records or of
        the store's batches (``Store.inventory_batches``). ``changes`` may
        be a function giving the run's changes as a stream, walked once per plan.
        ``followups`` fills the Follow-up column, the Summary's table of them and ``Changes``
        with what people did; ``fresh_columns`` are managed headers never written to this sheet
        before (``Store.sheet_columns``): a column of people's under such a name stays theirs.
        """
        first_call = self._http.calls
        sent = _Sent()
        policy = self._http.policy
        with Scratch() as scratch:
            want = desired(
                inventory,
                self._costs,
                now=run.started_at,
                scratch=scratch,
                followups=followups,
                fresh_columns=fresh_columns,
            )
            renamed = rekeyed(changes() if callable(changes) else changes)
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
                            self._converge(scratch, want, changes, run, sent, renamed)
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

    def _converge(  # noqa: PLR0917 - the write's state, passed down as it was
        self,
        scratch: Scratch,
        want: Desired,
        changes: Changes,
        run: RunResult,
        sent: _Sent,
        renamed: Mapping[Key, Key],
    ) -> None:
        """Read, plan, write; check the rows landed where planned, and repair if not."""
        for _ in range(REPAIRS + 1):
            try:
                state, reading = self._reads.read(
                    scratch, fresh=want.fresh_columns, renamed=renamed
                )
            except RowsMoved:
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
            except RowsMoved:
                event(log, logging.WARNING, "sheet rows moved before a deletion, planning again")
                continue
            finally:
                if sent.writes:
                    sent.reported += plan.reported
            delta = plan.delta
            if delta is None or not delta.has_units or self._reads.landed(delta):
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
                self._reads.check_deletes(reading.scratch, call.deletes, at)
            self._send(call)
            first = False
            sent.writes += 1
            sent.bytes += len(call.body)

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
        except TransportError as exc:
            # google-auth's own request for a token: the sheet's API was never reached.
            raise SheetError(
                f"The service account {self._email} could not reach its token endpoint "
                f"{self._token_uri} ({_short(str(exc))}); check the network (and the key's "
                "token_uri); the sheet was left as it was and the next sync will try again."
            ) from None
        except RequestException as exc:
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


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
