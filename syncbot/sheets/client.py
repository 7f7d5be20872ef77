"""gspread's HTTP client, pointed at ``GOOGLE_SHEETS_API_URL`` and retried under our policy.

gspread's own ``BackOffHTTPClient`` retries 403s, ignores ``Retry-After`` and has no jitter,
so this subclass of the plain client does the retrying itself: 429, 5xx and dropped
connections get exponential backoff with jitter (stamina); anything else fails at once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import stamina
from google.auth.exceptions import GoogleAuthError, TransportError
from google.oauth2 import service_account
from gspread.exceptions import APIError
from gspread.http_client import FileType, HTTPClient, ParamsType
from requests import ConnectTimeout, RequestException, Response

from syncbot.errors import ConfigError, SheetError
from syncbot.http import parse_retry_after

GOOGLE_SHEETS_API = "https://sheets.googleapis.com"
SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)
# Connect fast; a large batchUpdate can take Google a while to apply.
TIMEOUT = (10.0, 180.0)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one call: ``attempts`` in all, backoff from ``wait_initial`` to
    ``wait_max`` seconds (plus up to ``wait_initial`` of jitter)."""

    attempts: int = 5
    wait_initial: float = 0.5
    wait_max: float = 30.0

    def backoff(self, exc: Exception) -> bool | float:
        """stamina's hook: False to fail now, True for the usual backoff, seconds to wait."""
        if isinstance(exc, APIError):
            status = exc.response.status_code
            if status != 429 and status < 500:
                return False
            retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
            if retry_after is None:
                return True
            # Google's hint, bounded by our own ceiling, plus jitter so that workers sharing
            # a project do not all come back in the same instant.
            return min(retry_after, self.wait_max) + random.uniform(0, self.wait_initial)
        return isinstance(exc, RequestException | TransportError)

    def backoff_write(self, exc: Exception) -> bool | float:
        """``backoff`` for a write: only what Google surely did not apply is sent again (a
        429, a connection never made); after a 5xx or a lost answer the caller decides."""
        if isinstance(exc, APIError) and exc.response.status_code >= 500:
            return False
        if isinstance(exc, RequestException) and not isinstance(exc, ConnectTimeout):
            return False
        return self.backoff(exc)


class DeadlinePassed(SheetError):
    """The run's deadline (``SYNC_DEADLINE_SECONDS``) came before the sheet write was done."""


class _OffGoogleCredentials(service_account.Credentials):
    """Credentials for a Sheets API that is not Google's (an emulator, a proxy, the sandbox).

    After each token refresh google-auth asks iamcredentials.googleapis.com, in the background,
    where the account may be used; with the calls going elsewhere that lookup would reach
    Google behind the operator's back, so it is skipped.
    """

    def _is_regional_access_boundary_lookup_required(self) -> bool:
        return False


def credentials(
    info: Mapping[str, Any], *, api_url: str = GOOGLE_SHEETS_API
) -> service_account.Credentials:
    """Service-account credentials whose token comes from the key's own ``token_uri``."""
    kind = service_account.Credentials
    if api_url.rstrip("/") != GOOGLE_SHEETS_API:
        kind = _OffGoogleCredentials
    # google-auth leaves this constructor unannotated.
    build: Any = kind.from_service_account_info
    try:
        creds = build(info, scopes=SCOPES)
    except (ValueError, GoogleAuthError):
        # The message of a failed PEM parse may quote the key; never show it.
        raise ConfigError(
            "GOOGLE_SERVICE_ACCOUNT_JSON: the private_key of the service-account key cannot be "
            "read. Download a new JSON key in Google Cloud IAM > Service accounts > Keys."
        ) from None
    assert isinstance(creds, service_account.Credentials)
    return creds


class SheetsHTTPClient(HTTPClient):
    """Every Sheets call goes to ``api_url``, counted, retried under ``policy``."""

    def __init__(
        self, creds: service_account.Credentials, *, api_url: str, policy: RetryPolicy
    ) -> None:
        super().__init__(creds)
        self.api_url = api_url.rstrip("/")
        self.policy = policy
        self.calls = 0
        self.timeout = TIMEOUT
        # The run's deadline (``time.monotonic()``) and how many seconds it allowed in all,
        # once ``limit`` is called: no call, retry or wait outlasts it.
        self.deadline: float | None = None
        self.deadline_seconds = 0.0
        # Set when a call's retries ended because the next one could only come past the deadline.
        self._out_of_time = False

    def limit(self, deadline: float | None, *, seconds: float) -> None:
        """Bound every later call by ``deadline`` (``time.monotonic()``; ``None``: no bound),
        the end of a run that allowed ``seconds`` (``SYNC_DEADLINE_SECONDS``)."""
        self.deadline, self.deadline_seconds = deadline, seconds

    def _left(self) -> float:
        """Seconds left before the deadline; ``DeadlinePassed`` when there are none."""
        if self.deadline is None:
            return float("inf")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise self._deadline_passed()
        return left

    def _deadline_passed(self) -> DeadlinePassed:
        return DeadlinePassed(
            f"The sheet was not written within SYNC_DEADLINE_SECONDS "
            f"({self.deadline_seconds:g} s for the whole run): Google Sheets did not answer, or "
            "asked to be called again, within the time left, so the write was stopped and the "
            "run lock released. Calls that had gone through stay; the next sync brings the "
            "sheet up to date."
        )

    def _backoff(
        self, decide: Callable[[Exception], bool | float]
    ) -> Callable[[Exception], bool | float]:
        """``decide`` within the time left: a backoff that could end past the deadline waits
        half the time left instead, so a last attempt still has the rest; a ``Retry-After``
        past it ends the retries (``_out_of_time``), as calling sooner would only be refused."""

        def on(exc: Exception) -> bool | float:
            if isinstance(exc, DeadlinePassed):
                return False
            wait = decide(exc)
            if wait is False or self.deadline is None:
                return wait
            left = self.deadline - time.monotonic()
            longest = self.policy.wait_max + self.policy.wait_initial if wait is True else wait
            if longest < left:
                return wait
            if wait is True:
                return max(0.0, left / 2)
            self._out_of_time = True
            return False

        return on

    def request(  # noqa: PLR0917 - gspread calls it positionally
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
    ) -> Response:
        if endpoint.startswith(GOOGLE_SHEETS_API):
            endpoint = self.api_url + endpoint[len(GOOGLE_SHEETS_API) :]
        return self._request(method, endpoint, params, data, json, files, headers)

    def _request(  # noqa: PLR0917 - the same arguments as ``request``
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None = None,
        data: bytes | None = None,
        json: Mapping[str, Any] | None = None,
        files: FileType = None,
        headers: MutableMapping[str, str] | None = None,
        *,
        write: bool = False,
    ) -> Response:
        if json is not None:
            # requests would add spaces and escape every non-ASCII character as \uXXXX;
            # on a large batchUpdate that is a fifth of the bytes.
            data, json = compact_json(json), None
            headers = {**(headers or {}), "Content-Type": "application/json"}
        self._out_of_time = False
        try:
            return self._attempts(method, endpoint, params, data, files, headers, write=write)
        except (APIError, RequestException, TransportError) as exc:
            if self._out_of_time:
                raise self._deadline_passed() from exc
            raise

    def _attempts(  # noqa: PLR0917 - as ``_request``
        self,
        method: str,
        endpoint: str,
        params: ParamsType | None,
        data: bytes | None,
        files: FileType,
        headers: MutableMapping[str, str] | None,
        *,
        write: bool,
    ) -> Response:
        for attempt in stamina.retry_context(
            on=self._backoff(self.policy.backoff_write if write else self.policy.backoff),
            attempts=self.policy.attempts,
            timeout=None,
            wait_initial=self.policy.wait_initial,
            wait_max=self.policy.wait_max,
            wait_jitter=self.policy.wait_initial,
        ):
            with attempt:
                left = self._left()
                connect, read = TIMEOUT
                self.timeout = (min(connect, left), min(read, left))
                self.calls += 1
                try:
                    response = super().request(
                        method, endpoint, params=params, data=data, files=files, headers=headers
                    )
                except (RequestException, TransportError):
                    # A call cut short by the deadline fails as the deadline, not as a network
                    # error that the writer would answer by reading and writing again.
                    self._left()
                    raise
        return response

    def post_serialized(
        self, spreadsheet_id: str, method: str, body: bytes, *, write: bool = False
    ) -> Any:
        """POST a body the caller already serialized to ``method`` (``:batchUpdate``,
        ``/values:batchUpdate``) of the spreadsheet; ``write``: retried as ``backoff_write``
        says."""
        url = f"{self.api_url}/v4/spreadsheets/{spreadsheet_id}{method}"
        headers = {"Content-Type": "application/json"}
        return self._request("post", url, data=body, headers=headers, write=write).json()


def compact_json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
