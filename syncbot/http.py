"""JSON over HTTP with one bounded retry policy for every provider call.

429, 5xx, timeouts and dropped connections are retried with exponential backoff and jitter
(stamina), honouring ``Retry-After``; 401/403 fail at once because retrying a refused key
only burns the provider's rate limit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import stamina
from yarl import URL

from syncbot.errors import AuthError, ProviderError

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
# A page of 1,000 records is about 300 KB: a body past this is a fault, not a page.
MAX_PAGE_BYTES = 8 * 1024 * 1024
# Of an error body only its JSON message is used: its first few KB are plenty.
MAX_ERROR_BYTES = 8 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try one request. Tests shrink the waits; production keeps these."""

    attempts: int = 5
    wait_initial: float = 0.5
    wait_max: float = 30.0
    wait_jitter: float = 1.0
    request_timeout: float = 30.0
    # A provider asking for longer than this is treated as down for this run.
    max_retry_after: float = 120.0


class _Retryable(Exception):
    """A failed attempt worth another try."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Anything that is not a finite number of seconds (``nan``, ``inf``) is ignored, so the
    usual backoff applies; a negative delay means no delay.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def cut(text: str, limit: int = 160) -> str:
    """Provider text fit to quote in an error: one line, printable, at most ``limit`` long."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def error_message(body: bytes) -> str | None:
    """The provider's own message in a JSON error body, cut short; None for anything else.

    Only this is ever quoted: an HTML page or other text may come from whatever host answered
    (a proxy, or a redirect's target), and errors reach Slack, alerts and the sheet.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return message_in(data)


def message_in(data: object) -> str | None:
    """The error message in a decoded JSON error body (``error.message``, ``message``, ...)."""
    if not isinstance(data, dict):
        return None
    for key in ("error", "message", "error_description", "detail"):
        value = data.get(key)
        if isinstance(value, dict):
            value = value.get("message")
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = "; ".join(value)
        if isinstance(value, str) and value.strip():
            return cut(value)
    return None


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: bytes
    # The body went past what is read of it; ``body`` holds only its start.
    truncated: bool
    content_type: str
    retry_after: float | None
    location: str | None


def _origin(url: URL) -> tuple[str | None, str | None, int | None]:
    return (url.scheme, url.host, url.explicit_port or url.port)


class HttpClient:
    """GETs JSON through a shared ``aiohttp`` session, counting requests and retries."""

    def __init__(self, session: aiohttp.ClientSession, *, policy: RetryPolicy) -> None:
        self._session = session
        self.policy = policy

    def _backoff(self, exc: Exception) -> bool | float:
        if isinstance(exc, _Retryable):
            if exc.retry_after is not None:
                return min(exc.retry_after, self.policy.max_retry_after)
            return True
        return False

    async def get_json(
        self,
        url: str,
        *,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        what: str,
        auth_hint: str,
        stats: RequestStats,
    ) -> object:
        """GET ``url`` and decode its JSON; ``what`` names the source in every error."""
        timeout = aiohttp.ClientTimeout(total=self.policy.request_timeout)
        try:
            async for attempt in stamina.retry_context(
                on=self._backoff,
                attempts=self.policy.attempts,
                timeout=None,
                wait_initial=self.policy.wait_initial,
                wait_max=self.policy.wait_max,
                wait_jitter=self.policy.wait_jitter,
            ):
                with attempt:
                    if attempt.num > 1:
                        stats.retries += 1
                    stats.requests += 1
                    return await self._attempt(
                        url,
                        params=params,
                        headers=headers,
                        client_timeout=timeout,
                        what=what,
                        auth_hint=auth_hint,
                    )
        except _Retryable as exc:
            raise ProviderError(
                f"{what}: {exc.reason} (gave up after {self.policy.attempts} attempts)"
            ) from None
        raise AssertionError("unreachable: stamina either returns or raises")

    async def _attempt(
        self,
        url: str,
        *,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        client_timeout: aiohttp.ClientTimeout,
        what: str,
        auth_hint: str,
    ) -> object:
        reply = await self._exchange(url, params, headers, client_timeout)
        at = url
        for _ in range(MAX_REDIRECTS):
            if reply.status not in _REDIRECT_STATUS:
                break
            at = self._redirect_target(url, at, reply, what=what)
            reply = await self._exchange(at, {}, headers, client_timeout)
        else:
            if reply.status in _REDIRECT_STATUS:
                raise ProviderError(f"{what}: {url} redirected more than {MAX_REDIRECTS} times")
        status = reply.status
        if status in {401, 403}:
            raise AuthError(f"{what}: HTTP {status} from {url}: {auth_hint}")
        message = error_message(reply.body) if status >= 400 else None
        said = f": {message}" if message else ""
        if status in _RETRYABLE_STATUS:
            raise _Retryable(f"HTTP {status} from {url}{said}", reply.retry_after)
        if status >= 400:
            raise ProviderError(f"{what}: HTTP {status} from {url}{said}")
        if reply.truncated:
            raise ProviderError(
                f"{what}: {url} answered more than {MAX_PAGE_BYTES // 2**20} MiB for one page; "
                "stopped reading, as no page of phone numbers is that large"
            )
        try:
            return json.loads(reply.body)
        except (ValueError, RecursionError):
            raise ProviderError(
                f"{what}: {url} answered HTTP {status} with a body that is not JSON "
                f"({cut(reply.content_type, 60) or 'no content type'}, {len(reply.body):,} bytes)"
            ) from None

    @staticmethod
    def _redirect_target(url: str, at: str, reply: _Reply, *, what: str) -> str:
        """Where a redirect from ``at`` leads, if it stays on the configured URL's origin.

        The credentials go in headers; aiohttp would send all but ``Authorization`` on to
        another host, so no redirect leaves the origin the settings name.
        """
        try:
            target = URL(at).join(URL(reply.location or ""))
        except ValueError:
            target = URL()
        if not reply.location or not target.is_absolute():
            raise ProviderError(f"{what}: HTTP {reply.status} from {at} without a usable Location")
        if _origin(target) != _origin(URL(url)):
            raise ProviderError(
                f"{what}: {at} redirected to {cut(str(target.with_query(None)), 200)}, another "
                "origin; not followed, since that would send the API credentials there. If the "
                "API has moved, set the account's base URL to its new address."
            )
        return str(target)

    async def _exchange(
        self,
        url: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        client_timeout: aiohttp.ClientTimeout,
    ) -> _Reply:
        """One request and its answer, reading no more of the body than is of any use."""
        try:
            async with self._session.get(
                url,
                params=params,
                headers=headers,
                timeout=client_timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                body, truncated = b"", False
                if status not in _REDIRECT_STATUS:
                    limit = MAX_PAGE_BYTES if status < 300 else MAX_ERROR_BYTES
                    body, truncated = await _read_capped(response, limit)
                # Leaving the block with the body unread closes the connection.
                return _Reply(
                    status,
                    body,
                    truncated,
                    response.content_type,
                    parse_retry_after(response.headers.get("Retry-After")),
                    response.headers.get("Location"),
                )
        except TimeoutError:
            raise _Retryable(f"no answer from {url} within {client_timeout.total:g} s") from None
        except aiohttp.ClientConnectionError as exc:
            raise _Retryable(f"connection to {url} failed ({type(exc).__name__})") from None
        except aiohttp.ClientPayloadError as exc:
            raise _Retryable(f"truncated answer from {url} ({type(exc).__name__})") from None


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the body, and whether there was more."""
    if response.content_length is not None and response.content_length > limit:
        return b"", True
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


@dataclass(slots=True)
class RequestStats:
    requests: int = 0
    retries: int = 0
