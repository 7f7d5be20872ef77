"""The Google Sheet writer: read what the sheet holds, plan the delta, send it, check it.

An unchanged sync costs two reads (tab metadata; the Inventory, the newest Sync log row) and
one small batchUpdate (Summary, Sync log). A sync with changes adds one read after its
writes: the key columns, to catch a row people inserted, deleted or sorted between the read
and the write, which would have shifted the rows the write addressed; such a write is
repaired at once from a fresh read. Synchronous: the sync runs it with ``asyncio.to_thread``.

A write Google may have applied although its answer was lost (a 5xx, a dropped connection)
is never sent again as it was: the writer reads the sheet again and plans from what it
finds, and a run already at the top of ``Sync log`` adds no second Sync log or Changes rows.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import stamina
from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError
from requests import RequestException

from syncbot.errors import ConfigError, SheetError
from syncbot.followups import FollowUpBook
from syncbot.logs import event
from syncbot.models import Change, Key, PhoneNumber, RunResult, SheetResult, utc_now
from syncbot.settings import Settings
from syncbot.sheets.client import RetryPolicy, SheetsHTTPClient, credentials
from syncbot.sheets.delta import Delta, Desired, desired
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
)
from syncbot.sheets.layout import INVENTORY, SYNC_LOG
from syncbot.sheets.plan import MAX_REQUEST_BYTES, Call, plan_write

log = logging.getLogger(__name__)

_SHEETS_URL = "https://docs.google.com/spreadsheets/d/"
# Reads and writes again when people moved rows under a write; past that, the next sync fixes it.
REPAIRS = 2
# FORMULA tells people's formulas, numbers and text apart; a date people typed is a serial
# number to Google, so it comes as the text they see (2024-03-01), for Changes and repairs.
_FORMULA: dict[str, str | int | bool | float | list[str] | None] = {
    "valueRenderOption": "FORMULA",
    "dateTimeRenderOption": "FORMATTED_STRING",
}


class _Unconfirmed(Exception):
    """A write whose answer was lost: Google may or may not have applied it."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


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

    def write(
        self,
        *,
        inventory: Iterable[PhoneNumber],
        changes: Sequence[Change],
        run: RunResult,
        followups: FollowUpBook | None = None,
        fresh_columns: frozenset[str] = frozenset(),
    ) -> SheetResult:
        """Bring the sheet to this run's inventory in place; raise ``SheetError`` if not.

        ``inventory`` is walked once, in syncbot's order; it may be a stream. ``followups``
        fills the Follow-up column, the Summary's table of them and ``Changes`` with what
        people did; ``fresh_columns`` are managed headers never written to this sheet before
        (``Store.sheet_columns``): a column of people's under such a name stays theirs.
        """
        first_call = self._http.calls
        want = desired(
            inventory,
            self._costs,
            now=run.started_at,
            followups=followups,
            fresh_columns=fresh_columns,
        )
        people: dict[Key, dict[int, Value]] = {}
        sent: list[Call] = []
        policy = self._http.policy
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
                        self._converge(want, changes, run, people, sent)
            except _Unconfirmed as exc:
                raise exc.cause from None
        calls = self._http.calls - first_call
        event(
            log,
            logging.INFO,
            "sheet written",
            rows=len(want.keys),
            changes=len(changes),
            calls=calls,
            writes=len(sent),
            bytes=sum(len(call.body) for call in sent),
        )
        return SheetResult(status="ok", calls=calls, url=self.url)

    def _converge(
        self,
        want: Desired,
        changes: Sequence[Change],
        run: RunResult,
        people: dict[Key, dict[int, Value]],
        sent: list[Call],
    ) -> None:
        """Read, plan, write; check the rows landed where planned, and repair if not."""
        for _ in range(REPAIRS + 1):
            plan = plan_write(
                state=self._read(),
                want=want,
                changes=changes,
                run=run,
                now=run.finished_at or utc_now(),
                people=people,
                budget=self._budget,
            )
            if plan.delta is not None:
                # The first read's cells are what people wrote; a repair puts them back.
                people.update({k: v for k, v in plan.delta.people.items() if k not in people})
            for call in plan.calls:
                self._send(call)
                sent.append(call)
            if plan.delta is None or not plan.delta.units or self._landed(plan.delta):
                return
            event(log, logging.WARNING, "sheet rows moved during the write, repairing")
        raise SheetError(
            "People kept inserting, deleting or sorting Inventory rows while syncbot wrote; "
            "some rows may show another number's values until the next sync rewrites them."
        )

    def _read(self) -> SheetState:
        tabs = parse_tabs(
            self._http.fetch_sheet_metadata(self._key, params={"fields": METADATA_FIELDS})
        )
        wanted = reads(tabs, inventory=INVENTORY, sync_log=SYNC_LOG)
        ranges: list[dict[str, Any]] = []
        if wanted.ranges:
            answer = self._http.values_batch_get(self._key, wanted.ranges, params=_FORMULA)
            ranges = answer.get("valueRanges", [])
        return sheet_state(tabs, wanted, ranges, inventory=INVENTORY)

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

    def _landed(self, delta: Delta) -> bool:
        """Whether every Inventory row holds the number the write meant it for."""
        low, high = min(delta.key_cols), max(delta.key_cols)
        span = f"{column_letter(low)}2:{column_letter(high)}"
        answer = self._http.values_get(
            self._key, f"{quote_title(INVENTORY)}!{span}", params=_FORMULA
        )
        at = [c - low for c in delta.key_cols]
        found = [row_key(row, at) for row in answer.get("values", [])]
        expected = list(delta.expected)
        for keys in (found, expected):
            while keys and not any(keys[-1]):
                keys.pop()
        return found == expected

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


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."
