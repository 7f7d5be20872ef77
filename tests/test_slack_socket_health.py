"""`/healthz` in Socket Mode says whether the app is connected to Slack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from syncbot.sandbox._server import serve
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.slack.app import create_web_app
from syncbot.store import SqliteStore
from syncbot.sync import run_sync
from tests.conftest import settings_for
from tests.procs import LIMIT


@asynccontextmanager
async def socket_mode_health(
    sandbox: Sandbox, store: SqliteStore, fake: FakeSlack
) -> AsyncIterator[aiohttp.ClientSession]:
    await run_sync(settings_for(sandbox), store)
    settings = settings_for(
        sandbox,
        SLACK_BOT_TOKEN=fake.bot_token,
        SLACK_APP_TOKEN=fake.app_token,
        SLACK_API_URL=fake.api_url,
    )
    web_app = create_web_app(settings, store, poll_seconds=0.02)
    async with serve(web_app) as running, aiohttp.ClientSession(base_url=running.url) as http:
        yield http


async def health_once_loaded(http: aiohttp.ClientSession) -> dict[str, Any]:
    async with asyncio.timeout(LIMIT):
        while True:
            async with http.get("/healthz") as r:
                body: dict[str, Any] = await r.json()
            if r.status == 200:
                return body
            await asyncio.sleep(0.02)


async def test_healthz_says_socket_mode_is_connected(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with FakeSlack() as fake, socket_mode_health(sandbox, sqlite_store, fake) as http:
        # An answered envelope proves the connection is up.
        await fake.socket_request("slash_commands", fake.command_payload("stats"))
        body = await health_once_loaded(http)
    assert body["socket_mode"] == {"connected": True}
    assert body["status"] == "ok"


async def test_healthz_is_degraded_while_socket_mode_cannot_reach_slack(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with FakeSlack() as fake:
        fake.errors["apps.connections.open"] = "invalid_auth"
        async with socket_mode_health(sandbox, sqlite_store, fake) as http:
            await fake.wait_for(lambda: bool(fake.calls_to("apps.connections.open")))
            body = await health_once_loaded(http)
    assert body["socket_mode"] == {"connected": False}
    assert body["status"] == "degraded"
