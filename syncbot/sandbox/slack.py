"""A fake Slack on loopback for tests, benchmarks and local tries of ``syncbot serve``.

It serves the Web API methods syncbot calls (``auth.test``, ``chat.postMessage``,
``apps.connections.open``) under ``api_url``, catches what the app posts to a request's
``response_url``, and plays Slack's side of Socket Mode. It also builds and signs requests the
way Slack does (the documented v0 scheme), independently of the app's own check.

Usage::

    async with FakeSlack() as slack:
        settings = settings_from({**slack.env(), ...})
        body = slack.command_body("unassigned", response_url=slack.response_url("r1"))
        headers = slack.signed_headers(body)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

from syncbot.sandbox._server import Running, start

# Fake credentials that only this fake accepts: public by design, they open nothing else.
BOT_TOKEN = "xoxb-sandbox-bot-token"  # noqa: S105 - a fake token for the fake Slack
APP_TOKEN = "xapp-sandbox-app-token"  # noqa: S105 - as above
SIGNING_SECRET = "sandbox-signing-secret"  # noqa: S105 - as above
TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Sandbox"
BOT_USER_ID = "U0SYNCBOT"
USER_ID = "U0ALICE"


def signature(secret: str, body: str, timestamp: str) -> str:
    """Slack's v0 request signature of ``body`` sent at ``timestamp``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def trigger_id() -> str:
    """A new trigger id, as Slack gives every request one: no two requests are the same."""
    return f"13345224609.738474920.{secrets.token_hex(16)}"


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One Web API call as the fake received it; the token is never kept."""

    method: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the app posted to a ``response_url`` (``name`` is the URL's last segment)."""

    name: str
    body: dict[str, Any]


class FakeSlack:
    """Slack's side of the conversation, served while the block runs."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        signing_secret: str = SIGNING_SECRET,
        team_id: str = TEAM_ID,
        clock: Callable[[], float] = time.time,
        wait_seconds: float = 60.0,
        port: int = 0,
    ) -> None:
        self.port = port
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.clock = clock
        # How long the ``wait_for`` helpers wait before raising ``TimeoutError``: a bound on a
        # hang, never on speed (a loaded machine may take seconds).
        self.wait_seconds = wait_seconds
        self.calls: list[ApiCall] = []
        self.replies: list[Reply] = []
        # Method name -> the Slack error code it answers with (e.g. "not_in_channel").
        self.errors: dict[str, str] = {}
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._envelopes = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._running: Running | None = None

    # --- lifecycle ---

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{name}", self._response)
        app.router.add_get("/link", self._socket)
        self._runner, self._running = await start(app, port=self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        if self._running is None:
            raise RuntimeError("the fake Slack is not running")
        return self._running.url

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` is set to."""
        return f"{self.url}/api/"

    def response_url(self, name: str = "reply") -> str:
        return f"{self.url}/response/{name}"

    def env(self) -> dict[str, str]:
        """The settings that point syncbot's Slack side at this fake."""
        return {
            "SLACK_BOT_TOKEN": self.bot_token,
            "SLACK_SIGNING_SECRET": self.signing_secret,
            "SLACK_API_URL": self.api_url,
        }

    # --- requests as Slack sends them ---

    def signed_headers(self, body: str, *, timestamp: float | None = None) -> dict[str, str]:
        sent = str(int(self.clock() if timestamp is None else timestamp))
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature(self.signing_secret, body, sent),
        }

    def command_payload(
        self,
        text: str,
        *,
        user_id: str = USER_ID,
        team_id: str | None = None,
        response_url: str | None = None,
        command: str = "/numbers",
    ) -> dict[str, str]:
        return {
            "token": "legacy-verification-token",
            "team_id": team_id or self.team_id,
            "team_domain": "sandbox",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0SYNCBOT",
            "response_url": response_url or self.response_url(),
            "trigger_id": trigger_id(),
        }

    def command_body(self, text: str, **fields: Any) -> str:
        """A slash command's form body, as Slack posts it to the app."""
        return urllib.parse.urlencode(self.command_payload(text, **fields))

    def action_payload(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = USER_ID,
        team_id: str | None = None,
        response_url: str | None = None,
    ) -> dict[str, Any]:
        team = team_id or self.team_id
        return {
            "type": "block_actions",
            "team": {"id": team, "domain": "sandbox"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": team},
            "api_app_id": "A0SYNCBOT",
            "container": {"type": "message", "message_ts": "1700000000.000100"},
            "channel": {"id": "C0GENERAL", "name": "general"},
            "response_url": response_url or self.response_url(),
            "trigger_id": trigger_id(),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "pager",
                    "value": value,
                    "action_ts": "1700000001.000200",
                }
            ],
        }

    def action_body(self, action_id: str, value: str, **fields: Any) -> str:
        """A button click's form body (``payload=<json>``)."""
        payload = self.action_payload(action_id, value, **fields)
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    # --- what the app did ---

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, ready: Callable[[], bool]) -> None:
        """Until ``ready()`` holds; ``TimeoutError`` after ``wait_seconds``."""
        async with asyncio.timeout(self.wait_seconds), self._changed:
            await self._changed.wait_for(ready)

    async def wait_for_replies(self, count: int) -> list[Reply]:
        """The replies, once there are at least ``count``."""
        await self.wait_for(lambda: len(self.replies) >= count)
        return list(self.replies)

    async def _record(self, item: ApiCall | Reply) -> None:
        async with self._changed:
            if isinstance(item, ApiCall):
                self.calls.append(item)
            else:
                self.replies.append(item)
            self._changed.notify_all()

    # --- the Web API ---

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update({k: str(v) for k, v in (await request.post()).items()})
        args.pop("token", None)
        await self._record(ApiCall(method, args))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if not hmac.compare_digest(token, wanted):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method in self.errors:
            return web.json_response({"ok": False, "error": self.errors[method]})
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "apps.connections.open": self._connections_open,
        }.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(args))

    def _auth_test(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://sandbox.slack.com/",
            "team": TEAM_NAME,
            "user": "syncbot",
            "team_id": self.team_id,
            "user_id": BOT_USER_ID,
            "bot_id": "B0SYNCBOT",
            "is_enterprise_install": False,
        }

    def _post_message(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": f"{time.time():.6f}",
            "message": dict(args),
        }

    def _connections_open(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/link"}

    async def _response(self, request: web.Request) -> web.Response:
        await self._record(Reply(request.match_info["name"], await request.json()))
        return web.Response(text="ok")

    # --- Socket Mode ---

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets)})
        async with self._changed:
            self._changed.notify_all()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                data = json.loads(message.data)
                waiting = self._acks.pop(str(data.get("envelope_id")), None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(data)
        finally:
            self._sockets.remove(ws)
        return ws

    async def socket_request(self, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Send an envelope over the app's Socket Mode connection; returns the app's ack."""
        await self.wait_for(lambda: bool(self._sockets))
        envelope_id = f"envelope-{next(self._envelopes)}"
        acked: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = acked
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": dict(payload),
                "accepts_response_payload": True,
            }
        )
        try:
            async with asyncio.timeout(self.wait_seconds):
                return await acked
        finally:
            with contextlib.suppress(KeyError):
                del self._acks[envelope_id]
