"""A run lock held too long is reported: by the store, the syncs it makes skip, `doctor`,
`query status`, `/numbers status` and `/healthz`."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from syncbot.models import utc_now
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore, open_store
from tests import pg
from tests.procs import clean_env, syncbot
from tests.test_slack_app import ADMIN, running_app


@pytest.fixture(params=pg.BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as url:
        yield url


def test_the_store_tells_since_when_the_run_lock_is_held(database_url: str) -> None:
    with open_store(database_url) as store, open_store(database_url) as other:
        store.migrate()
        assert other.run_lock_since() is None
        before = utc_now() - dt.timedelta(seconds=1)
        with store.run_lock() as acquired:
            assert acquired
            since = other.run_lock_since()
            assert since is not None
            assert before <= since <= utc_now() + dt.timedelta(seconds=1)
        assert other.run_lock_since() is None


@contextmanager
def held_since(store: SqliteStore, since: dt.datetime) -> Iterator[None]:
    """The run lock held by this test, as a process stuck since ``since`` would hold it."""
    with store.run_lock() as acquired:
        assert acquired
        fd = os.open(f"{store.path}.lock", os.O_WRONLY)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, since.isoformat().encode(), 0)
        finally:
            os.close(fd)
        yield


async def test_a_lock_stuck_past_the_deadline_fails_syncs_and_doctor_and_warns_queries(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env(), SYNC_DEADLINE_SECONDS="60")
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    store = SqliteStore(str(tmp_path / "syncbot.db"))
    with held_since(store, utc_now() - dt.timedelta(minutes=30)):
        code, out, _ = await syncbot("sync", "--json", env=env, cwd=tmp_path)
        assert code == 1
        result = json.loads(out)
        assert result["status"] == "failed"
        assert result["message"].startswith("A sync has held the run lock for 30 min")
        assert "likely stuck" in result["message"]
        code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
        assert code == 1
        assert "✗ run lock: A sync has held the run lock for 30 min" in out
        code, out, _ = await syncbot("query", "status", "--json", env=env, cwd=tmp_path)
        assert code == 0
        assert "likely stuck" in json.loads(out)["warnings"][0]
    store.close()


async def test_a_running_sync_is_no_warning_but_a_stuck_one_is_in_status_and_healthz(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    late = 0.0

    def clock() -> float:
        return time.time() + late

    async with running_app(sandbox, sqlite_store, clock=clock) as app:
        with sqlite_store.run_lock():
            await app.wait_for_lock()
            status, body = await app.health()
            assert (status, body["status"], body["run_lock"]["stuck"]) == (200, "ok", False)
            assert "run lock" not in (await app.command("status")).texts[0]
            # Past the deadline and its grace, though not yet late for the next sync.
            late = 1000.0
            status, body = await app.health()
            assert (body["status"], body["latest_sync"]["late"]) == ("degraded", False)
            assert body["run_lock"]["stuck"] is True
            assert body["run_lock"]["age_seconds"] >= 1000
            reply = await app.command("status")
            assert "A sync has held the run lock for 16 min" in reply.texts[0]
        await app.wait_for_lock(held=False)
        _, body = await app.health()
        assert body["run_lock"] is None


async def test_an_admins_sync_that_finds_the_lock_stuck_says_so(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with running_app(sandbox, sqlite_store) as app:
        with held_since(sqlite_store, utc_now() - dt.timedelta(hours=2)):
            await app.command("sync", user_id=ADMIN)
            (outcome,) = await app.fake.wait_for_replies(1)
    assert outcome.body["text"].startswith(":x: A sync has held the run lock for 2 h")
