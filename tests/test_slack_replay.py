"""Replay protection across web dynos: the signatures seen in the replay window are kept in the
store, so a signed request accepted by one `syncbot serve` process is refused by another on the
same store, and by the same dyno after a restart."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.slack.middleware import ReplayGuard
from syncbot.store import SqliteStore, Store, open_store
from tests import pg
from tests.procs import LIMIT, clean_env, finish, spawn, syncbot


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serving(env: dict[str, str], cwd: Path) -> AsyncIterator[str]:
    """A real `syncbot serve` process, once it answers /healthz with a loaded sync; its URL."""
    port = free_port()
    proc = await spawn("serve", env={**env, "PORT": str(port)}, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(LIMIT):
            while True:
                assert proc.returncode is None, await finish(proc)
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{url}/healthz") as reply:
                        if reply.status == 200:
                            break
                await asyncio.sleep(0.1)
        yield url
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await finish(proc)


async def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{url}/slack/events", data=body, headers=headers) as reply,
    ):
        return reply.status, await reply.text()


async def test_a_request_accepted_by_one_web_dyno_is_refused_by_another_on_the_same_store(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with pg.store_url("postgres", tmp_path) as url:
        async with FakeSlack() as slack:
            env = clean_env(tmp_path, **sandbox.env(), **slack.env(), DATABASE_URL=url)
            code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
            assert code == 0, err
            async with serving(env, tmp_path) as one, serving(env, tmp_path) as two:
                body = slack.command_body("unassigned")
                headers = slack.signed_headers(body)
                first = await post(one, body, headers)
                assert first[0] == 200
                assert "unassigned" in first[1]
                assert await post(two, body, headers) == (
                    401,
                    '{"error": "request already received"}',
                )
                # Another request, signed afresh, is answered by either dyno.
                fresh = slack.command_body("unassigned")
                assert (await post(two, fresh, slack.signed_headers(fresh)))[0] == 200


async def test_a_request_accepted_before_a_restart_is_refused_after_it(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    async with FakeSlack() as slack:
        env = clean_env(tmp_path, **sandbox.env(), **slack.env())
        code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
        assert code == 0, err
        body = slack.command_body("unassigned")
        headers = slack.signed_headers(body)
        async with serving(env, tmp_path) as before:
            assert (await post(before, body, headers))[0] == 200
        async with serving(env, tmp_path) as after:
            assert (await post(after, body, headers))[0] == 401


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with pg.store_url(request.param, tmp_path) as url, open_store(url, create=True) as opened:
        opened.migrate()
        yield opened


def test_a_signature_is_remembered_until_its_expiry_then_forgotten(store: Store) -> None:
    assert store.first_request("v0=aa", now=1000, expires_at=1300)
    assert not store.first_request("v0=aa", now=1200, expires_at=1500)
    # Any later request clears what has expired: the table holds the replay window, no more.
    assert store.first_request("v0=bb", now=1301, expires_at=1601)
    assert store.first_request("v0=aa", now=1302, expires_at=1602)


async def test_a_store_that_cannot_answer_leaves_the_check_to_the_process_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqliteStore(str(tmp_path / "syncbot.db"))
    store.migrate()
    store.close()
    guard = ReplayGuard(store)
    assert await guard.first_time("v0=aa", "1000", now=1000)
    assert not await guard.first_time("v0=aa", "1000", now=1001)
    assert "replay check fell back to this process's memory" in caplog.text
    await guard.close()
