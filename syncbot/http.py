"""JSON over HTTP with one bounded retry policy for every provider call.

429, 5xx, timeouts and dropped connections are retried with exponential backoff and jitter
(stamina), honouring ``Retry-After``; 401/403 fail at once because retrying a refused key
only burns the provider's rate limit.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import stamina

from syncbot.errors import AuthError, ProviderError

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


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
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = now or dt.datetime.now(dt.UTC)
    return max((when - now).total_seconds(), 0.0)


def _body_excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


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
        try:
            async with self._session.get(
                url, params=params, headers=headers, timeout=client_timeout
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
        except TimeoutError:
            raise _Retryable(f"no answer from {url} within {client_timeout.total:g} s") from None
        except aiohttp.ClientConnectionError as exc:
            raise _Retryable(f"connection to {url} failed ({type(exc).__name__})") from None
        except aiohttp.ClientPayloadError as exc:
            raise _Retryable(f"truncated answer from {url} ({type(exc).__name__})") from None
        if status in {401, 403}:
            raise AuthError(f"{what}: HTTP {status} from {url}: {auth_hint}")
        if status in _RETRYABLE_STATUS:
            raise _Retryable(f"HTTP {status} from {url}: {_body_excerpt(text)}", retry_after)
        if status >= 400:
            raise ProviderError(f"{what}: HTTP {status} from {url}: {_body_excerpt(text)}")
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise ProviderError(
                f"{what}: {url} answered HTTP {status} with a body that is not JSON: "
                f"{_body_excerpt(text)!r}"
            ) from None


@dataclass(slots=True)
class RequestStats:
    requests: int = 0
    retries: int = 0
