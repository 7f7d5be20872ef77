"""One sync at a time, as real `syncbot sync` processes see it, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any, Protocol

import pytest

from syncbot.models import PhoneNumber, RunRecord, SourceState
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox
from syncbot.store import open_store
from syncbot.store.sqlite import sqlite_path
from tests import pg
from tests.procs import LIMIT, clean_env, finish, spawn


@pytest.fixture(params=pg.BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as url:
        yield url


async def sync_json(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    code, out, err = await finish(await spawn("sync", "--json", env=env, cwd=cwd))
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


async def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + LIMIT
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {LIMIT:g} s")
        await asyncio.sleep(0.02)


def lock_is_free(database_url: str) -> bool:
    with open_store(database_url) as store, store.run_lock() as acquired:
        return acquired


Snapshot = tuple[list[PhoneNumber], list[SourceState], list[RunRecord]]


def snapshot(database_url: str) -> Snapshot:
    with open_store(database_url) as store:
        return store.load_numbers(), store.source_states(), store.recent_runs(10)


async def test_two_syncs_started_at_once_one_runs_and_the_other_says_skipped(
    database_url: str, tmp_path: Path
) -> None:
    # One-record pages at 200 ms each keep the winner's run going until the other process has
    # tried the lock, however slowly it starts; after that the pages come at once.
    slow = ProviderOptions(latency_ms=200, max_page_size=1)
    async with Sandbox(numbers=80, orgapi=slow) as sandbox:
        env = clean_env(tmp_path, DATABASE_URL=database_url, **sandbox.env())
        procs = [await spawn("sync", "--json", env=env, cwd=tmp_path) for _ in range(2)]
        ends = [asyncio.ensure_future(finish(proc)) for proc in procs]
        await asyncio.wait(ends, timeout=LIMIT, return_when=asyncio.FIRST_COMPLETED)
        sandbox.orgapi.options.latency_ms = 0
        (code_a, out_a, err_a), (code_b, out_b, err_b) = await asyncio.gather(*ends)
        requests = len(sandbox.orgapi.requests) + len(sandbox.dialnexa.requests)

    assert (code_a, code_b) == (0, 0), err_a + err_b
    results = sorted((json.loads(out_a), json.loads(out_b)), key=lambda r: str(r["status"]))
    ran, skipped = results
    assert ran["status"] == "ok"
    assert ran["total"] == 80
    assert skipped["status"] == "skipped"
    assert skipped["run_id"] is None
    assert "another sync is running" in skipped["message"]
    # The skipped process wrote nothing and asked the providers for nothing.
    _, _, runs = snapshot(database_url)
    assert [r.run_id for r in runs] == [ran["run_id"]]
    assert requests == sum(s["requests"] for s in ran["sources"].values())


class CommitHold(Protocol):
    def wait_until_holding(self) -> None: ...


class _SlowSqliteCommit:
    """A trigger that keeps a commit busy for minutes, inside its transaction.

    SQLite cannot make a trigger wait for the test, so it computes; ``wait_until_holding``
    sees the commit by its write lock, once the run has begun listing (the schema check at
    start also takes the write lock, briefly, before any request).
    """

    def __init__(self, path: str) -> None:
        self._path = path
        with closing(sqlite3.connect(path)) as conn:
            conn.execute(
                "CREATE TRIGGER syncbot_test_slow BEFORE INSERT ON changes BEGIN "
                "SELECT count(*) FROM numbers a, numbers b, numbers c, numbers d, numbers e, "
                "numbers f; END"
            )
            conn.commit()

    def writing(self) -> bool:
        with closing(sqlite3.connect(self._path, timeout=0, isolation_level=None)) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc):
                    return True
                raise
            conn.execute("ROLLBACK")
            return False

    def wait_until_holding(self) -> None:
        deadline = time.monotonic() + LIMIT
        while not self.writing():
            if time.monotonic() > deadline:
                pytest.fail("the commit never took the write lock")
            time.sleep(0.02)

    def close(self) -> None:
        with closing(sqlite3.connect(self._path, timeout=LIMIT)) as conn:
            conn.execute("DROP TRIGGER syncbot_test_slow")
            conn.commit()


@asynccontextmanager
async def commit_held(database_url: str) -> AsyncIterator[CommitHold]:
    """The next commit stays open, part-written, until the block ends."""
    hold: _SlowSqliteCommit | pg.CommitHold
    if database_url.startswith("sqlite"):
        hold = _SlowSqliteCommit(sqlite_path(database_url))
    else:
        hold = await asyncio.to_thread(pg.CommitHold, database_url)
    try:
        yield hold
    finally:
        await asyncio.to_thread(hold.close)


async def test_a_sync_killed_mid_commit_leaves_the_previous_snapshot_and_frees_the_lock(
    database_url: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, DATABASE_URL=database_url, **sandbox.env())
    first = await sync_json(env, tmp_path)
    assert first["status"] == "ok"
    before = snapshot(database_url)
    sandbox.orgapi.records.append(
        {**sandbox.orgapi.records[0], "phone_number_id": "pn_new", "phone_number": "+14155550111"}
    )

    sandbox.orgapi.reset()
    async with commit_held(database_url) as hold:
        killed = await spawn("sync", "--json", env=env, cwd=tmp_path)
        await eventually(lambda: bool(sandbox.orgapi.requests), "a request from the second run")
        await asyncio.wait_for(asyncio.to_thread(hold.wait_until_holding), LIMIT)
        killed.kill()
        await finish(killed)
    assert killed.returncode == -9

    assert snapshot(database_url) == before
    # PostgreSQL ends the dead process's session as soon as it sees the socket close.
    await eventually(lambda: lock_is_free(database_url), "the lock being released")
    after = await sync_json(env, tmp_path)
    assert after["status"] == "ok"
    assert after["changes"]["added"] == 1
    _, _, runs = snapshot(database_url)
    assert [r.run_id for r in runs] == [after["run_id"], first["run_id"]]
