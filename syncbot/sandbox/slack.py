"""A fake Slack on loopback for tests, benchmarks and local tries of ``syncbot serve``.

It serves the Web API methods syncbot calls (``auth.test``, ``chat.postMessage``,
``chat.update``, ``views.open``, ``views.publish``, ``apps.connections.open``) under
``api_url``, catches what the app posts to a request's ``response_url``, and plays Slack's side of
Socket Mode. Like Slack it refuses blocks and views that do not validate, a ``chat.update`` of a
message it never posted, and a ``views.open`` whose trigger id is unknown, used or expired. It
also builds and signs requests the way Slack does (the documented v0 scheme: slash commands,
clicks, modal submissions, events; ``slack_requests.py``), independently of the app's own check.

Usage::

    async with FakeSlack() as slack:
        settings = settings_from({**slack.env(), ...})
        body = slack.command_body("unassigned", response_url=slack.response_url("r1"))
        headers = slack.signed_headers(body)
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

from syncbot.sandbox._server import Running, start
from syncbot.sandbox.blockkit import block_errors, message_errors, view_errors
from syncbot.sandbox.slack_requests import (
    APP_ID,
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER_ID,
    SIGNING_SECRET,
    TEAM_ID,
    TEAM_NAME,
    TRIGGER_SECONDS,
    SlackRequests,
)


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


def _with_ids(blocks: Any) -> list[dict[str, Any]]:
    """A message's blocks as Slack keeps them: each has a ``block_id``, made up when the app
    gave none (a click on a button in it carries that id)."""
    return [
        block if "block_id" in block else {**block, "block_id": secrets.token_urlsafe(4)}
        for block in blocks or []
    ]


class FakeSlack(SlackRequests):
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
        # What the app posted to channels, by (channel, ts), as chat.update left it.
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        # Each user's published Home tab, and every modal opened, as Slack holds them.
        self.home: dict[str, dict[str, Any]] = {}
        self.modals: list[dict[str, Any]] = []
        # Trigger ids handed out with requests, and when; one views.open uses one up.
        self._triggers: dict[str, float] = {}
        self._ids = itertools.count(1)
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

    # --- what the app did ---

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        """The messages the app posted (to ``channel``), as they are now, with ``channel`` and
        ``ts``: what a click on one of them carries."""
        return [m for (c, _), m in self.messages.items() if channel is None or c == channel]

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
        for name in ("blocks", "view"):
            # Form-encoded calls send these as JSON text; the SDK's JSON calls as objects.
            if isinstance(args.get(name), str):
                with contextlib.suppress(ValueError):
                    args[name] = json.loads(args[name])
        handler = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
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

    @staticmethod
    def _invalid(errors: list[str], code: str = "invalid_blocks") -> dict[str, Any]:
        return {"ok": False, "error": code, "response_metadata": {"messages": errors}}

    def _post_message(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        errors = message_errors(args)
        if errors:
            return self._invalid(errors)
        channel = str(args["channel"])
        ts = f"{int(self.clock())}.{next(self._ids):06d}"
        message = {**args, "channel": channel, "ts": ts, "blocks": _with_ids(args.get("blocks"))}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _update(self, args: Mapping[str, Any]) -> dict[str, Any]:
        where = (str(args.get("channel")), str(args.get("ts")))
        if where not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        errors = message_errors(args)
        if errors:
            return self._invalid(errors)
        self.messages[where] = {
            **self.messages[where],
            **args,
            "blocks": _with_ids(args.get("blocks")),
        }
        return {"ok": True, "channel": where[0], "ts": where[1], "text": args.get("text")}

    def _view(self, view: Any, kind: str) -> tuple[dict[str, Any] | None, list[str]]:
        if not isinstance(view, dict) or view.get("type") != kind:
            return None, [f"view must be a {kind} view"]
        errors = view_errors(view)
        if errors:
            return None, errors
        held = {
            **view,
            "id": f"V{next(self._ids):010d}",
            "team_id": self.team_id,
            "app_id": APP_ID,
            "bot_id": "B0SYNCBOT",
            "hash": secrets.token_hex(8),
            "state": {"values": {}},
        }
        return held, []

    def _views_open(self, args: Mapping[str, Any]) -> dict[str, Any]:
        issued = self._triggers.pop(str(args.get("trigger_id")), None)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if self.clock() - issued > TRIGGER_SECONDS:
            return {"ok": False, "error": "expired_trigger_id"}
        view, errors = self._view(args.get("view"), "modal")
        if view is None:
            return self._invalid(errors, "invalid_arguments")
        self.modals.append(view)
        return {"ok": True, "view": view}

    def _views_publish(self, args: Mapping[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id") or "")
        if not user:
            return {"ok": False, "error": "invalid_arguments"}
        before = self.home.get(user)
        if args.get("hash") and before is not None and args["hash"] != before["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view, errors = self._view(args.get("view"), "home")
        if view is None:
            return self._invalid(errors, "invalid_arguments")
        self.home[user] = view
        return {"ok": True, "view": view}

    def _connections_open(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/link"}

    async def _response(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(Reply(request.match_info["name"], body))
        errors = block_errors(body.get("blocks") or [])
        if errors:
            # What Slack answers a response_url whose blocks it cannot show.
            return web.Response(status=400, text="invalid_blocks")
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
