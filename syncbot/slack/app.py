"""The Slack app: bolt's ``AsyncApp`` on aiohttp, its listeners, and the server ``serve`` runs.

``POST /slack/events`` takes slash commands and button clicks (bolt answers them in the HTTP
response, ``process_before_response``, so nothing polls for the acknowledgement), ``GET /healthz``
reports the latest sync. With ``SLACK_APP_TOKEN`` the same app also listens over Socket Mode.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond

from syncbot.costs import CostRules
from syncbot.errors import SyncbotError
from syncbot.followups import EXPECT_ACTION, EXPECT_MODAL, TAKE_ACTION
from syncbot.logs import event
from syncbot.models import ago
from syncbot.query import Answer, Query, answer, parse, quoted
from syncbot.runlock import HeldLock, held_lock
from syncbot.settings import Settings
from syncbot.slack import followups as followup_listeners
from syncbot.slack.alerts import alert_hook
from syncbot.slack.background import Background, SyncRunner
from syncbot.slack.blocks import (
    PAGE_ACTIONS,
    SHARE_ACTION,
    answer_message,
    notice,
    read_page_value,
    shareable,
    shared,
    sheet_url,
    usage_message,
)
from syncbot.slack.config import require_settings
from syncbot.slack.errors import on_error
from syncbot.slack.followup_views import answer_rows
from syncbot.slack.health import health_report
from syncbot.slack.kit import Message, escape, plain, unescape
from syncbot.slack.middleware import (
    MAX_BODY_BYTES,
    READ_TIMEOUT_SECONDS,
    AllowedTeams,
    ReplayGuard,
    SkipRetries,
    is_ssl_check,
    read_body,
    signed_by_slack,
)
from syncbot.slack.snapshot import LiveSnapshot
from syncbot.store import Store

log = logging.getLogger(__name__)

POLL_SECONDS = 5.0
# How long a request made right after start-up waits for the first snapshot; well inside the 3 s
# Slack gives the acknowledgement.
READY_TIMEOUT_SECONDS = 2.0
# The app is installed with one slash command (slack-manifest.yml names it /numbers); a renamed
# copy, such as /numbers-dev for a development app, gets the same grammar.
_ANY_COMMAND = re.compile(r"^/")
_PAGE_ACTION = re.compile("^(" + "|".join(PAGE_ACTIONS) + ")$")

Listener = Callable[..., Awaitable[None]]


@dataclass(slots=True)
class Runtime:
    """What the listeners share: settings, the store, the in-memory snapshot, running work."""

    settings: Settings
    snapshot: LiveSnapshot
    background: Background
    syncs: SyncRunner
    clock: Callable[[], float]
    costs: CostRules
    # Socket Mode's connection to Slack, while it runs (SLACK_APP_TOKEN set).
    socket: AsyncSocketModeHandler | None = None

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(int(self.clock()), dt.UTC)

    async def answer(self, query: Query, *, offset: int = 0, asker: str | None = None) -> Message:
        """The answer to ``query`` for the Slack user ``asker``: each unassigned number listed
        with its follow-up and buttons."""
        try:
            found = await self.found(query, asker=asker)
        except TimeoutError:
            return notice(
                ":hourglass: syncbot has just started and is still loading the latest sync. "
                "Try again in a few seconds."
            )
        return answer_message(
            found,
            now=self.now(),
            offset=offset,
            sheet=sheet_url(self.settings.google_sheet_id),
            numbers=answer_rows(found, offset=offset),
        )

    async def found(self, query: Query, *, asker: str | None = None) -> Answer:
        """What ``query`` finds for ``asker`` from the in-memory snapshot (``TimeoutError``
        while it loads): never a provider call; store calls only for the follow-ups (one small
        read, since people act between syncs) and the history of ``changes 7d``."""
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            snapshot = await self.snapshot.ready()
        now = self.now()
        # `changes 7d` reaches past the latest sync: one indexed read of the store's history.
        history = await self.snapshot.changes_since(now - query.window) if query.window else []
        followups = await self.snapshot.followups()
        return answer(
            query,
            snapshot,
            now=now,
            interval_seconds=self.settings.sync_interval_seconds,
            history=history,
            costs=self.costs,
            lock=self.held_lock(),
            followups=followups,
            asker=asker,
            sheet_configured=self.settings.sheet_configured,
        )

    def held_lock(self) -> HeldLock | None:
        since = self.snapshot.lock_since
        return held_lock(since, deadline_seconds=self.settings.sync_deadline_seconds)

    def request_sync(self, user_id: str | None, respond: AsyncRespond) -> Message:
        """Start a sync for an admin; what to tell whoever asked."""
        if user_id not in self.settings.slack_admin_user_ids:
            event(log, logging.INFO, "sync refused: not an admin", user=user_id)
            every = ago(dt.timedelta(seconds=self.settings.sync_interval_seconds))
            return notice(
                "Sorry, only syncbot's admins can start a sync. The scheduled one runs every "
                f"{every}, and `/numbers status` shows how the latest went."
            )
        if not self.syncs.start(respond):
            return notice(
                ":hourglass: A sync is already running; its outcome goes to whoever started it. "
                "`/numbers status` shows it once it has finished."
            )
        event(log, logging.INFO, "sync requested", user=user_id)
        return notice(":arrows_counterclockwise: Sync started. I'll post the outcome here.")


def _respond_of(context: AsyncBoltContext) -> AsyncRespond:
    if context.respond is None:
        raise SyncbotError("Slack sent no response_url with this request, so I cannot reply.")
    return context.respond


def _numbers_command(runtime: Runtime) -> Listener:
    async def numbers(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
        # Slack escapes &, < and > in what the user typed; the grammar reads the typed text.
        query = parse(unescape(str(command.get("text") or "")))
        if query.action == "help":
            await ack(usage_message())
        elif query.action == "sync":
            await ack(runtime.request_sync(context.user_id, _respond_of(context)))
        else:
            await ack(await runtime.answer(query, asker=context.user_id))

    return numbers


def _page_button(runtime: Runtime) -> Listener:
    async def page(ack: AsyncAck, action: dict[str, Any], context: AsyncBoltContext) -> None:
        # The value is the one this app put on the button (Slack signs the payload), and it is
        # parsed by the same grammar; a page can show a list, never start a sync.
        text, offset = read_page_value(str(action.get("value") or ""))
        message = await runtime.answer(parse(text), offset=offset, asker=context.user_id)
        respond = _respond_of(context)
        await ack()
        runtime.background.reply(respond, {**message, "replace_original": True})

    return page


def _share_button(runtime: Runtime) -> Listener:
    async def share(ack: AsyncAck, action: dict[str, Any], context: AsyncBoltContext) -> None:
        # The answer is computed again (the same page of the same query) rather than copied from
        # the clicked message: Slack does not send an ephemeral message's blocks with the click.
        text, offset = read_page_value(str(action.get("value") or ""))
        message = await runtime.answer(parse(text), offset=offset, asker=context.user_id)
        respond = _respond_of(context)
        await ack()
        if not shareable(message):
            # It matched something when it was asked; since then a sync has changed that.
            runtime.background.reply(
                respond,
                notice(
                    f"Nothing to share: {escape(quoted(plain(text, 200)))} matches nothing in "
                    "the latest sync any more."
                ),
            )
            return
        runtime.background.reply(respond, shared(message, context.user_id))
        event(log, logging.INFO, "answer shared in channel", user=context.user_id)

    return share


def register(app: AsyncApp, runtime: Runtime) -> None:
    """Every listener of the app, in one place."""
    app.error(on_error)
    app.command(_ANY_COMMAND)(_numbers_command(runtime))
    app.action(_PAGE_ACTION)(_page_button(runtime))
    app.action(SHARE_ACTION)(_share_button(runtime))
    app.action(TAKE_ACTION)(followup_listeners.take_listener(runtime))
    app.action(EXPECT_ACTION)(followup_listeners.expect_listener(runtime))
    app.view(EXPECT_MODAL)(followup_listeners.expected_submission(runtime))
    app.event("app_home_opened")(followup_listeners.home_listener(runtime))


def build_app(runtime: Runtime) -> AsyncApp:
    """bolt's app, configured from the settings alone, with every check and listener."""
    settings = runtime.settings
    assert settings.slack_bot_token is not None
    app = AsyncApp(
        name="syncbot",
        # bolt falls back to SLACK_* variables for what it is not given: give it all it uses.
        token=settings.slack_bot_token.get_secret_value(),
        signing_secret="",
        # Signatures (and ssl_check, which precedes them) are handled at the HTTP edge, in
        # ``_events``, before bolt parses the body; Socket Mode needs neither.
        request_verification_enabled=False,
        ssl_check_enabled=False,
        process_before_response=True,
        user_facing_authorize_error_message=(
            "syncbot cannot use its Slack token right now; ask the people who run it to check "
            "SLACK_BOT_TOKEN with `syncbot doctor`."
        ),
    )
    # bolt builds its client from the token alone; GovSlack, proxies and tests need the base URL
    # (auth.test, and apps.connections.open in Socket Mode, go through this client).
    app.client.base_url = settings.slack_api_url
    app.client.timeout = 10
    app.use(SkipRetries())
    app.use(AllowedTeams(settings.slack_allowed_team_ids))
    register(app, runtime)
    return app


RUNTIME = web.AppKey("syncbot_slack_runtime", Runtime)
REPLAYS = web.AppKey("syncbot_slack_replays", ReplayGuard)
READ_TIMEOUT = web.AppKey("syncbot_slack_read_timeout", float)
BOLT = web.AppKey("syncbot_slack_bolt", AsyncApp)


async def _events(request: web.Request) -> web.Response:
    started = time.perf_counter()
    runtime = request.app[RUNTIME]
    body = await read_body(request, seconds=request.app[READ_TIMEOUT])
    if isinstance(body, web.Response):
        return body
    if is_ssl_check(request.content_type, body):
        return web.Response()
    secret = runtime.settings.slack_signing_secret
    if not signed_by_slack(secret, body, request.headers, now=runtime.clock()):
        # Neither the body nor the signature is logged: both are the caller's to replay.
        event(log, logging.WARNING, "request refused: bad or missing signature")
        return web.json_response({"error": "invalid request signature"}, status=401)
    signature = request.headers["X-Slack-Signature"]
    timestamp = request.headers["X-Slack-Request-Timestamp"]
    if not await request.app[REPLAYS].first_time(signature, timestamp, now=runtime.clock()):
        if "X-Slack-Retry-Num" in request.headers:
            # Slack delivering again what it thinks failed: acknowledged, as SkipRetries does.
            return web.Response(headers={"X-Slack-No-Retry": "1"})
        event(log, logging.WARNING, "request refused: a signed request sent again")
        return web.json_response({"error": "request already received"}, status=401)
    bolt = request.app[BOLT]
    response = await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
    return response


async def _socket_mode(runtime: Runtime) -> dict[str, Any]:
    """Whether Socket Mode is connected to Slack; empty when it is off."""
    if runtime.socket is None:
        return {}
    return {"socket_mode": {"connected": await runtime.socket.client.is_connected()}}


async def _healthz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    status, body = health_report(
        runtime.snapshot.current,
        settings=runtime.settings,
        now=runtime.now(),
        lock=runtime.held_lock(),
        socket=await _socket_mode(runtime),
    )
    return web.json_response(body, status=status)


async def _lifecycle(web_app: web.Application) -> AsyncIterator[None]:
    runtime = web_app[RUNTIME]
    stopping = asyncio.Event()
    poller = asyncio.create_task(runtime.snapshot.keep_fresh(stopping))
    socket: AsyncSocketModeHandler | None = None
    app_token = runtime.settings.slack_app_token
    if app_token is not None:
        socket = runtime.socket = AsyncSocketModeHandler(
            web_app[BOLT], app_token.get_secret_value()
        )
        # The client retries a failed connection forever; HTTP (and /healthz) must not wait.
        runtime.background.start(socket.connect_async())  # type: ignore[no-untyped-call]  # slack_sdk leaves it unannotated
    event(
        log,
        logging.INFO,
        "slack app started",
        socket_mode=socket is not None,
        http_events=runtime.settings.slack_signing_secret is not None,
        allowed_teams=",".join(runtime.settings.slack_allowed_team_ids) or "any",
    )
    try:
        yield
    finally:
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]  # as above
        # Work running in threads is waited for, never abandoned: the caller closes the store
        # once ``serve`` returns, and a thread still reading it would crash the process.
        stopping.set()
        await poller
        await runtime.syncs.close()
        await runtime.background.close()
        await web_app[REPLAYS].close()


def create_web_app(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], float] = time.time,
    poll_seconds: float = POLL_SECONDS,
    read_timeout: float = READ_TIMEOUT_SECONDS,
) -> web.Application:
    """The aiohttp application ``serve`` runs; tests serve it on a loopback port.

    ``clock`` (seconds since the epoch) drives both the signature window and the age of syncs.
    A client gets ``read_timeout`` seconds to send its headers, and as long again for its body
    (at most ``MAX_BODY_BYTES``); an idle connection is closed after as long.
    """
    require_settings(settings)
    background = Background()
    snapshot = LiveSnapshot(store, poll_seconds=poll_seconds)
    syncs = SyncRunner(
        settings, store, background, after_run=alert_hook(settings), snapshot=snapshot
    )
    runtime = Runtime(settings, snapshot, background, syncs, clock, settings.costs())
    web_app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        # aiohttp closes a connection whose request has not fully arrived by its keep-alive
        # timeout, and lingers that long at most over a body left unread.
        handler_args={"keepalive_timeout": read_timeout, "lingering_time": read_timeout},
    )
    web_app[RUNTIME] = runtime
    web_app[REPLAYS] = ReplayGuard(store)
    web_app[READ_TIMEOUT] = read_timeout
    web_app[BOLT] = build_app(runtime)
    web_app.router.add_post("/slack/events", _events)
    web_app.router.add_get("/healthz", _healthz)
    web_app.cleanup_ctx.append(_lifecycle)
    return web_app


def serve(settings: Settings, store: Store) -> bool:
    """Run the Slack app on ``0.0.0.0:$PORT`` until SIGTERM or SIGINT (blocks); True when
    SIGINT (Ctrl-C) ended it, which the CLI reports as every command's Ctrl-C (130).

    Binding does not wait for the first snapshot: requests that arrive while it loads wait up to
    two seconds for it, and ``/healthz`` says 503 until it is there.
    """
    web_app = create_web_app(settings, store)
    interrupted = False

    def stop(by_ctrl_c: bool) -> None:
        nonlocal interrupted
        interrupted = by_ctrl_c
        raise web.GracefulExit

    async def on_signals(app: web.Application) -> None:
        # aiohttp's own handlers cannot tell SIGINT from SIGTERM; both still shut down cleanly.
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop, False)
        loop.add_signal_handler(signal.SIGINT, stop, True)

    web_app.on_startup.append(on_signals)
    event(log, logging.INFO, "listening", port=settings.port)
    web.run_app(
        web_app,
        host="0.0.0.0",  # noqa: S104 - the platform routes $PORT on every interface
        port=settings.port,
        access_log=None,
        print=None,
        shutdown_timeout=10,
        handle_signals=False,
    )
    return interrupted
