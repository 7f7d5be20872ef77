"""SYNC_DEADLINE_SECONDS bounds the commit too: a database that stalls the run's commit (another
client's lock, a commit held half-way) gets it interrupted and rolled back at the deadline; the
run fails saying so, nothing of it is stored, and the run lock is free for the next sync.

The hold lasts until the test releases it, longer than the tests' bound on a hang: a sync that
ends while it holds ended by its deadline.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from syncbot.errors import StoreError
from syncbot.models import RunResult, utc_now
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from tests import pg
from tests.procs import clean_env, finish, spawn, syncbot
from tests.test_locking import eventually

# Under the commit floor (syncbot.sync.COMMIT_FLOOR_SECONDS): the commit gets 5 s.
DEADLINE = 2


async def test_a_stalled_postgres_commit_is_rolled_back_at_the_deadline_and_frees_the_lock(
    tmp_path: Path,
) -> None:
    """A commit held half-way (a trigger waits on its first change row, transaction open)."""
    listing = asyncio.Event()
    async with Sandbox(numbers=40, orgapi=ProviderOptions(hold=listing)) as sandbox:
        with pg.fresh_database() as url:
            env = clean_env(
                tmp_path, **sandbox.env(), DATABASE_URL=url, SYNC_DEADLINE_SECONDS=str(DEADLINE)
            )
            sync = await spawn("sync", "--json", env=env, cwd=tmp_path)
            # The sync has its schema and is listing: now its commit meets the hold.
            await eventually(lambda: sandbox.orgapi.total > 0, "the listing")
            with pg.hold_commits(url):
                listing.set()
                code, out, err = await finish(sync)
            assert code == 1, err
            result = json.loads(out)
            assert result["status"] == "failed"
            assert result["run_id"] is None
            assert "commit within the 5 s left of SYNC_DEADLINE_SECONDS" in result["message"]
            assert "rolled back" in result["message"]
            # The run lock is free, and nothing of the stalled run was kept: the next sync
            # finds all 40 numbers new.
            code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
            assert code == 0, err
            assert json.loads(out)["changes"]["added"] == 40


def test_a_sqlite_commit_waits_for_another_writer_no_longer_than_its_seconds(
    sqlite_store: SqliteStore,
) -> None:
    """Another client holds SQLite's write lock far longer: the commit gives up when its time
    is out, saying so, instead of after the 30 s busy timeout as 'database is locked'."""
    staging = sqlite_store.staging()
    other = sqlite3.connect(sqlite_store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        result = RunResult(started_at=utc_now(), finished_at=utc_now())
        with pytest.raises(StoreError, match="within the 1 s left of SYNC_DEADLINE_SECONDS"):
            sqlite_store.commit_run(result, seconds=1)
        other.rollback()
        # The store is whole and takes the next commit at once.
        assert sqlite_store.commit_run(result) == 1
    finally:
        other.close()
        staging.close()
