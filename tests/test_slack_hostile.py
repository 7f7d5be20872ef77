"""The Slack endpoint against hostile callers: slow or huge bodies, odd signatures, replays."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from syncbot.sandbox.providers import Sandbox
from syncbot.slack.middleware import MAX_BODY_BYTES
from syncbot.store import SqliteStore
from tests.procs import LIMIT
from tests.test_slack_app import App, running_app


@pytest.fixture
async def app(sandbox: Sandbox, sqlite_store: SqliteStore) -> AsyncIterator[App]:
    async with running_app(sandbox, sqlite_store, read_timeout=0.3) as running:
        yield running


async def raw(app: App, sent: bytes) -> bytes:
    """What the app answers a client that sends ``sent`` and then nothing, up to its close."""
    host, port = app.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(sent)
        await writer.drain()
        async with asyncio.timeout(LIMIT):
            return await reader.read()
    finally:
        writer.close()


async def test_a_client_stalled_mid_body_gets_408_and_is_disconnected(app: App) -> None:
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    answer = await raw(app, head + b"command=/numbers")
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_client_stalled_in_its_headers_is_disconnected(app: App) -> None:
    assert await raw(app, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slack-Sig") == b""


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_larger_than_slack_sends_gets_413(app: App, declared: bool) -> None:
    body = b"text=" + b"9" * MAX_BODY_BYTES

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    data = body if declared else chunks()
    async with app.http.post(f"{app.url}/slack/events", data=data) as reply:
        assert reply.status == 413


async def test_a_non_ascii_signature_gets_401_not_an_error(app: App) -> None:
    body = app.fake.command_body("unassigned")
    headers = {**app.fake.signed_headers(body), "X-Slack-Signature": "v0=é" + "0" * 63}
    reply = await app.post(body, headers)
    assert reply.status == 401


async def test_a_signed_request_sent_again_is_refused(app: App) -> None:
    body = app.fake.command_body("unassigned")
    headers = app.fake.signed_headers(body)
    first = await app.post(body, headers)
    assert first.status == 200
    assert first.phones
    again = await app.post(body, headers)
    assert again.status == 401
    assert again.json == {"error": "request already received"}
    # Slack delivering it again gets the acknowledgement it wants, and nothing runs twice.
    retry = await app.post(body, {**headers, "X-Slack-Retry-Num": "1"})
    assert (retry.status, retry.text) == (200, "")
