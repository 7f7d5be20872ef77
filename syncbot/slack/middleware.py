"""The checks requests pass before a listener sees them.

The signature is checked on the raw bytes at the HTTP edge, before bolt parses anything, so an
unsigned request costs no parsing, no ``auth.test`` call and no query. The other checks are bolt
middleware and apply to Socket Mode too.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping

from pydantic import SecretStr
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from syncbot.logs import event
from syncbot.slack.blocks import notice

log = logging.getLogger(__name__)

# Slack's documented replay window: a request signed longer ago than this (or that far in the
# future) is refused even when its signature matches.
MAX_CLOCK_SKEW_SECONDS = 5 * 60

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
