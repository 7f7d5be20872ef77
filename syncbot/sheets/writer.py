"""The Google Sheet writer: read what the sheet holds, plan one atomic write, send it.

A sync costs two reads (tab metadata; Inventory keys and people's columns) and one
batchUpdate, whatever the number of rows, until the write passes the request budget; then
the Inventory is staged in calls of at most that size (see ``plan``). Synchronous: the sync
runs it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from google.auth.exceptions import RefreshError, TransportError
from gspread.exceptions import APIError
from requests import RequestException

from syncbot.errors import ConfigError, SheetError
from syncbot.logs import event
from syncbot.models import Change, PhoneNumber, RunResult, SheetResult, utc_now
from syncbot.settings import Settings
from syncbot.sheets.client import RetryPolicy, SheetsHTTPClient, credentials
from syncbot.sheets.existing import (
    METADATA_FIELDS,
    OldInventory,
    Tab,
    fits,
    from_grid,
    from_targeted,
    parse_tabs,
    targeted_ranges,
    whole_range,
)
from syncbot.sheets.layout import INVENTORY
from syncbot.sheets.plan import MAX_REQUEST_BYTES, plan_write

log = logging.getLogger(__name__)

_SHEETS_URL = "https://docs.google.com/spreadsheets/d/"


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

    def check_access(self) -> str:
        """The spreadsheet's title, proving the service account may open it."""
        with self._errors():
            metadata = self._http.fetch_sheet_metadata(
                self._key, params={"fields": "properties.title"}
            )
        return str(metadata["properties"]["title"])

    def write(
        self, *, inventory: Sequence[PhoneNumber], changes: Sequence[Change], run: RunResult
    ) -> SheetResult:
        """Replace the sheet's content with this run's, atomically; raise ``SheetError`` if not."""
        first_call = self._http.calls
        with self._errors():
            tabs = parse_tabs(
                self._http.fetch_sheet_metadata(self._key, params={"fields": METADATA_FIELDS})
            )
            old = self._read_inventory(tabs)
            plan = plan_write(
                tabs=tabs,
                old=old,
                inventory=inventory,
                changes=changes,
                run=run,
                now=run.finished_at or utc_now(),
                budget=self._budget,
            )
            for call in plan.calls:
                method = ":batchUpdate" if call.kind == "batchUpdate" else "/values:batchUpdate"
                self._http.post_serialized(self._key, method, call.body)
        calls = self._http.calls - first_call
        event(
            log,
            logging.INFO,
            "sheet written",
            rows=len(inventory),
            changes=len(changes),
            calls=calls,
            writes=len(plan.calls),
            staged=plan.staged,
            bytes=sum(len(call.body) for call in plan.calls),
        )
        return SheetResult(status="ok", calls=calls, url=self.url)

    def _read_inventory(self, tabs: Sequence[Tab]) -> OldInventory:
        tab = next((tab for tab in tabs if tab.title == INVENTORY), None)
        if tab is None:
            return OldInventory()
        answer = self._http.values_batch_get(
            self._key, targeted_ranges(tab), params={"valueRenderOption": "FORMULA"}
        )
        ranges: list[dict[str, Any]] = answer.get("valueRanges", [])
        if fits(ranges):
            return from_targeted(ranges)
        if not any(r.get("values") for r in ranges):
            return OldInventory()
        # Someone moved or renamed managed columns: read it all and find columns by header.
        return from_grid(
            self._http.values_get(
                self._key, whole_range(tab), params={"valueRenderOption": "FORMULA"}
            )
        )

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
