"""The checks requests pass before a listener sees them.

The signature is checked on the raw bytes at the HTTP edge, before bolt parses anything, so an
unsigned request costs no parsing, no ``auth.test`` call and no query. The other checks are bolt
middleware and apply to Socket Mode too.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import hmac
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping

from aiohttp import web
from pydantic import SecretStr
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from syncbot.errors import SyncbotError
from syncbot.logs import event
from syncbot.slack.blocks import notice
from syncbot.store import Store

log = logging.getLogger(__name__)

# Slack's documented replay window: a request signed longer ago than this (or that far in the
# future) is refused even when its signature matches.
MAX_CLOCK_SKEW_SECONDS = 5 * 60

# Slack's payloads (a slash command, a click on one of syncbot's own messages) are a few KB.
MAX_BODY_BYTES = 64 * 1024
# Slack sends a request's headers and body at once and waits 3 s for the answer.
READ_TIMEOUT_SECONDS = 10.0

Next = Callable[[], Awaitable[BoltResponse]]


def signature_is_valid(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now: float
) -> bool:
    """Slack's v0 scheme: ``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the secret."""
    if not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > MAX_CLOCK_SKEW_SECONDS:
        return False
    if not signature.isascii():
        # compare_digest takes only ASCII text: anything else is no signature of Slack's.
        return False
    digest = hmac.new(secret.encode(), b"v0:%s:%s" % (timestamp.encode(), body), hashlib.sha256)
    return hmac.compare_digest(f"v0={digest.hexdigest()}", signature)


def signed_by_slack(
    secret: SecretStr | None, body: bytes, headers: Mapping[str, str], *, now: float
) -> bool:
    """Whether an HTTP request carries a valid signature; never, without a signing secret."""
    if secret is None:
        return False
    return signature_is_valid(
        secret.get_secret_value(),
        body,
        headers.get("X-Slack-Request-Timestamp"),
        headers.get("X-Slack-Signature"),
        now=now,
    )


class ReplayGuard:
    """The signatures accepted within the replay window, so that a request captured on its way
    (a proxy's log, a leaked HAR file) cannot be sent again while its timestamp still passes.

    Only validly signed requests are remembered, each until its timestamp leaves the window, so
    the memory it takes follows Slack's traffic, never a caller's. With a store they are
    remembered there too, where every web dyno sees them, and a restart does not forget them.
    A store that does not answer within ``store_seconds`` (a PostgreSQL outage, SQLite busy
    with a sync's commit) is not allowed to take the 3 s Slack gives an answer: the request is
    checked against this process's memory alone, and a warning logged.
    """

    def __init__(self, store: Store | None = None, *, store_seconds: float = 2.0) -> None:
        self._seen: set[str] = set()
        self._expiry: list[tuple[float, str]] = []
        self._store = store
        self._store_seconds = store_seconds
        # Store calls still running in their threads (given up on, or not yet done): ``close``
        # waits for them before the store is closed under them.
        self._pending: set[asyncio.Future[bool]] = set()

    async def first_time(self, signature: str, timestamp: str, *, now: float) -> bool:
        """Whether this signed request is new; remembers it either way."""
        while self._expiry and self._expiry[0][0] < now:
            self._seen.discard(heapq.heappop(self._expiry)[1])
        if signature in self._seen:
            return False
        self._seen.add(signature)
        expires_at = int(timestamp) + MAX_CLOCK_SKEW_SECONDS
        heapq.heappush(self._expiry, (expires_at, signature))
        if self._store is None:
            return True
        return await self._first_in_store(signature, now=int(now), expires_at=expires_at)

    async def _first_in_store(self, signature: str, *, now: int, expires_at: int) -> bool:
        store = self._store
        assert store is not None
        call = asyncio.ensure_future(
            asyncio.to_thread(store.first_request, signature, now=now, expires_at=expires_at)
        )
        self._pending.add(call)
        call.add_done_callback(self._pending.discard)
        try:
            async with asyncio.timeout(self._store_seconds):
                return await asyncio.shield(call)
        except TimeoutError:
            reason = f"no answer within {self._store_seconds:g} s"
        except SyncbotError as exc:
            reason = exc.message
        event(
            log,
            logging.WARNING,
            "replay check fell back to this process's memory: the store did not answer",
            reason=reason,
        )
        return True

    async def close(self) -> None:
        """Wait for store calls still running."""
        if self._pending:
            await asyncio.wait(set(self._pending))


async def read_body(request: web.Request, *, seconds: float) -> bytes | web.Response:
    """The request's body, or the answer for a client that sends too much or too slowly.

    Nothing is known about the caller yet (the signature covers the body), so an unsigned
    caller must not be able to hold a connection or memory for long.
    """
    too_large = web.json_response({"error": "request body too large"}, status=413)
    if (request.content_length or 0) > request.client_max_size:
        too_large.force_close()
        return too_large
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:
        too_large.force_close()
        return too_large
    except TimeoutError:
        event(log, logging.WARNING, "request refused: body not received in time")
        slow = web.json_response({"error": "request body not received in time"}, status=408)
        slow.force_close()
        return slow


def is_ssl_check(content_type: str, body: bytes) -> bool:
    """Slack's certificate probe for slash command URLs (answered 200 as bolt does: it reveals
    nothing and runs nothing)."""
    if content_type != "application/x-www-form-urlencoded":
        return False
    return urllib.parse.parse_qs(body.decode("latin-1")).get("ssl_check") == ["1"]


def _header(req: AsyncBoltRequest, name: str) -> str | None:
    values = req.headers.get(name)
    return values[0] if values else None


class SkipRetries(AsyncMiddleware):
    """Acknowledges Slack's retries without handling them again.

    Slack retries a delivery it thinks failed (``X-Slack-Retry-Num``); the first delivery was
    already answered or is still being answered, so a second answer would only duplicate it.
    """

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse:
        retry = _header(req, "x-slack-retry-num")
        if retry is None:
            return await next()
        event(
            log,
            logging.INFO,
            "slack retry acknowledged",
            retry=retry,
            reason=_header(req, "x-slack-retry-reason"),
        )
        return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"})


class AllowedTeams(AsyncMiddleware):
    """Refuses workspaces (or Enterprise Grid orgs) missing from ``SLACK_ALLOWED_TEAM_IDS``.

    The team comes from the signed body, so it cannot be forged by a caller without the secret.
    """

    def __init__(self, allowed: Iterable[str]) -> None:
        self._allowed = frozenset(allowed)

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Next
    ) -> BoltResponse:
        ctx = req.context
        if not self._allowed or {ctx.team_id, ctx.enterprise_id} & self._allowed:
            return await next()
        event(log, logging.WARNING, "request from a workspace not allowed", team=ctx.team_id)
        message = notice(
            ":no_entry: syncbot does not answer in this workspace. Ask the people who run it to "
            "add this workspace's team ID to SLACK_ALLOWED_TEAM_IDS if it should."
        )
        return BoltResponse(status=200, body=message)
