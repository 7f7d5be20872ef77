"""Shutdown is not failure (issue 16): SIGTERM to a `syncbot sync` process group at random moments
of a run (listing, normalizing in the worker process, commit, sheet write), as Heroku sends it
to every process of a dyno. The fault campaign's SIGKILL invariants hold (the store holds the
previous snapshot or the new one whole, the lock is free, the next run goes through, the sheet
has one row per number), plus: exit 143, no source recorded failed, no alert."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncbot.sandbox.data import inserted_records
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.sheets import INVENTORY_HEADER
from syncbot.store import open_store
from tests import pg
from tests.procs import LIMIT, clean_env, finish, spawn
from tests.test_locking import Snapshot, eventually, lock_is_free, snapshot

CHANNEL = "C0ALERTS"
# The campaign's seed: a failure names its round, and the same seed finds it again.
SEED = 16


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture(params=pg.BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as url:
        yield url


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def failed_states(database_url: str) -> list[str]:
    with open_store(database_url) as store:
        return [s.key for s in store.source_states() if s.status == "failed"]


def one_row_per_number(box: SheetsSandbox, database_url: str) -> bool:
    rows = box.fake.values(box.spreadsheet_id, "Inventory")[1:]
    at = [INVENTORY_HEADER.index(name) for name in ("Source", "Account", "Number ID")]
    keys = [tuple(row[i] for i in at) for row in rows]
    with open_store(database_url) as store:
        stored = {n.key for n in store.load_numbers()}
    return len(keys) == len(set(keys)) and set(keys) == stored


Moment = Callable[[Sandbox, asyncio.subprocess.Process], Awaitable[None]]


async def while_listing(sandbox: Sandbox, proc: asyncio.subprocess.Process) -> None:
    del proc
    first = sandbox.orgapi.total + sandbox.dialnexa.total
    await eventually(
        lambda: sandbox.orgapi.total + sandbox.dialnexa.total > first, "the run's first request"
    )
    await asyncio.sleep(random.Random(SEED).uniform(0, 0.2))


async def while_normalizing(sandbox: Sandbox, proc: asyncio.subprocess.Process) -> None:
    del sandbox
    await eventually(lambda: bool(children(proc.pid)), "the normalizing worker process")


async def campaign_round(
    moment: Moment,
    *,
    sandbox: Sandbox,
    env: dict[str, str],
    tmp_path: Path,
    slack: FakeSlack,
    database_url: str,
) -> tuple[int, str, Snapshot, Snapshot]:
    """One `sync`, SIGTERM to its whole process group at ``moment``; its exit code, stderr,
    and the store before and after."""
    before = snapshot(database_url)
    proc = await spawn("sync", "--json", env=env, cwd=tmp_path, group=True)
    await moment(sandbox, proc)
    pool = children(proc.pid)
    os.killpg(proc.pid, signal.SIGTERM)
    code, out, err = await finish(proc)
    del out
    # The parent shut its worker process down; none is left behind.
    await eventually(
        lambda: not any(map(running, pool)), "the worker processes ending with their parent"
    )
    return code, err, before, snapshot(database_url)


async def test_sigterm_to_the_group_while_listing_stores_nothing_and_fails_nothing(
    database_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    """Stopped while listing: exit 143, nothing committed, no source failed, no alert; the
    next sync goes through."""
    await stopped_before_the_commit(
        while_listing, 200, database_url=database_url, slack=slack, tmp_path=tmp_path
    )


async def test_sigterm_to_the_group_while_the_worker_process_normalizes_fails_nothing(
    slack: FakeSlack, tmp_path: Path
) -> None:
    """A first sync's records are with the normalizing worker process when the whole group
    gets SIGTERM: the worker ignores it and is shut down by its parent, so no page fails and
    no source is recorded failed (before issue 16: a broken pool, both sources failed)."""
    database_url = f"sqlite:///{tmp_path / 'syncbot.db'}"
    await stopped_before_the_commit(
        while_normalizing, 2200, database_url=database_url, slack=slack, tmp_path=tmp_path
    )


async def stopped_before_the_commit(
    moment: Moment, numbers: int, *, database_url: str, slack: FakeSlack, tmp_path: Path
) -> None:
    slow = ProviderOptions(latency_ms=40, max_page_size=100 if numbers > 1000 else 5)
    with open_store(database_url) as store:
        store.migrate()
    async with Sandbox(numbers=numbers, orgapi=slow, dialnexa=slow) as sandbox:
        env = clean_env(
            tmp_path,
            DATABASE_URL=database_url,
            **sandbox.env(),
            **slack.env(),
            SLACK_ALERT_CHANNEL=CHANNEL,
        )
        code, err, before, after = await campaign_round(
            moment,
            sandbox=sandbox,
            env=env,
            tmp_path=tmp_path,
            slack=slack,
            database_url=database_url,
        )
        assert code == 143, err
        assert "stopped by a signal while listing" in err
        assert "Traceback" not in err
        assert after == before
        assert failed_states(database_url) == []
        assert slack.calls_to("chat.postMessage") == []
        await eventually(lambda: lock_is_free(database_url), "the lock being released")
        sandbox.orgapi.options.latency_ms = sandbox.dialnexa.options.latency_ms = 0
        proc = await spawn("sync", "--json", env=env, cwd=tmp_path, group=True)
        code, out, err = await finish(proc)
    assert code == 0, err
    assert json.loads(out)["total"] == numbers


async def test_sigterm_to_the_group_during_the_commit_lets_it_end_whole(
    slack: FakeSlack, tmp_path: Path
) -> None:
    """PostgreSQL holds the commit open until the test lets it go, after SIGTERM came: the
    commit ends whole, the run is stored, the process still exits 143 and sends no alert."""
    with pg.store_url("postgres", tmp_path) as database_url:
        async with Sandbox(numbers=40) as sandbox:
            env = clean_env(
                tmp_path,
                DATABASE_URL=database_url,
                **sandbox.env(),
                **slack.env(),
                SLACK_ALERT_CHANNEL=CHANNEL,
            )
            proc = await spawn("sync", env=env, cwd=tmp_path, group=True)
            assert (await finish(proc))[0] == 0
            alerts = len(slack.calls_to("chat.postMessage"))
            sandbox.dialnexa.records += inserted_records("dialnexa", 3)
            hold = await asyncio.to_thread(pg.CommitHold, database_url)
            try:
                proc = await spawn("sync", "--json", env=env, cwd=tmp_path, group=True)
                await asyncio.to_thread(hold.wait_until_holding)
                os.killpg(proc.pid, signal.SIGTERM)
                await asyncio.sleep(0.3)
            finally:
                await asyncio.to_thread(hold.close)
            code, out, err = await finish(proc)
        assert code == 143, err
        result = json.loads(out)
        assert (result["status"], result["changes"]["added"]) == ("ok", 3)
        assert failed_states(database_url) == []
        assert len(slack.calls_to("chat.postMessage")) == alerts
        assert lock_is_free(database_url)


async def test_sigterm_to_the_group_during_the_sheet_write_leaves_one_row_per_number(
    box: SheetsSandbox, slack: FakeSlack, tmp_path: Path
) -> None:
    """The run has committed and is writing the sheet when SIGTERM comes: the write ends
    (within the grace period), every number has exactly one row, exit 143, no alert."""
    database_url = f"sqlite:///{tmp_path / 'syncbot.db'}"
    async with Sandbox(numbers=40) as sandbox:
        env = clean_env(
            tmp_path,
            **sandbox.env(),
            **box.env(),
            **slack.env(),
            SLACK_ALERT_CHANNEL=CHANNEL,
        )
        proc = await spawn("sync", env=env, cwd=tmp_path, group=True)
        assert (await finish(proc))[0] == 0
        alerts = len(slack.calls_to("chat.postMessage"))
        sandbox.dialnexa.records += inserted_records("dialnexa", 3)
        reached, release = threading.Event(), threading.Event()

        def person(workbook: Any) -> None:
            del workbook
            reached.set()
            release.wait(LIMIT)

        box.fake.before_next("*", person)
        proc = await spawn("sync", "--json", env=env, cwd=tmp_path, group=True)
        try:
            await asyncio.to_thread(reached.wait, LIMIT)
            os.killpg(proc.pid, signal.SIGTERM)
            await asyncio.sleep(0.3)
        finally:
            release.set()
        code, out, err = await finish(proc)
    assert code == 143, err
    result = json.loads(out)
    assert (result["status"], result["sheet"]["status"]) == ("ok", "ok")
    assert failed_states(database_url) == []
    assert len(slack.calls_to("chat.postMessage")) == alerts
    assert one_row_per_number(box, database_url)
    assert lock_is_free(database_url)
