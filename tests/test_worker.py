"""`syncbot worker`: a real process stopped by SIGTERM, and the loop's behaviour in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from syncbot.errors import ConfigError
from syncbot.sandbox.faults import Fault, ProviderOptions
from syncbot.sandbox.providers import DIALNEXA_API_KEY, ORGAPI_API_KEY, Sandbox
from syncbot.settings import Settings, settings_from
from syncbot.stopping import Stop
from syncbot.store import SqliteStore, open_store
from syncbot.sync import SyncOptions, run_sync
from syncbot.worker import GRACE_SECONDS, run_worker
from tests import pg
from tests.conftest import settings_for
from tests.procs import LIMIT, clean_env, finish, spawn
from tests.test_locking import eventually

HEROKU_KILL_AFTER = 30.0
_PAIR = r'[A-Za-z_][A-Za-z0-9_]*=(?:"(?:[^"\\]|\\.)*"|[^\s"]*)'
LOGFMT_LINE = re.compile(rf"^{_PAIR}(?: {_PAIR})*$")
FIELD = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


@pytest.fixture(params=pg.BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as url:
        yield url


def fields(line: str) -> dict[str, str]:
    return {key: value.strip('"') for key, value in FIELD.findall(line)}


def test_the_grace_period_ends_before_heroku_kills_the_dyno() -> None:
    assert GRACE_SECONDS < HEROKU_KILL_AFTER


async def test_sigterm_twice_mid_listing_stops_the_run_commits_nothing_and_exits_143(
    database_url: str, tmp_path: Path
) -> None:
    """Heroku's SIGTERM (twice) while the first run lists: the listing stops, nothing is
    committed, no source is recorded as failed, the lock is free and the exit code says
    SIGTERM. (Before issue 16 the run went on listing for up to 20 s.)"""
    slow = ProviderOptions(latency_ms=100, max_page_size=5)
    async with Sandbox(numbers=40, orgapi=slow, dialnexa=slow) as sandbox:
        env = clean_env(tmp_path, DATABASE_URL=database_url, **sandbox.env())
        worker = await spawn("worker", env=env, cwd=tmp_path)
        await eventually(lambda: sandbox.orgapi.total > 0, "the first run's first request")
        worker.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.1)
        # The first may already have ended it: a stop that quick is what this proves.
        with contextlib.suppress(ProcessLookupError):
            worker.send_signal(signal.SIGTERM)
        code, out, err = await finish(worker)
        requests = sandbox.orgapi.total + sandbox.dialnexa.total

    assert code == 143, err
    # 40 numbers in pages of 5 at 100 ms each take far more requests than came.
    assert requests < 12
    with open_store(database_url) as store:
        assert store.recent_runs(10) == []
        assert store.load_numbers() == []
        assert store.source_states() == []
        with store.run_lock() as acquired:
            assert acquired

    lines = out.splitlines()
    assert lines, err
    for line in lines:
        assert LOGFMT_LINE.match(line), f"not logfmt: {line!r}"
    messages = [fields(line)["msg"] for line in lines]
    assert messages[0] == "worker started"
    assert "sync stopped" in messages
    assert messages[-1] == "worker stopped"
    assert not {"source failed", "sync failed", "sync finished"} & set(messages)
    for secret in (ORGAPI_API_KEY, DIALNEXA_API_KEY, pg.PASSWORD):
        assert secret not in out + err


# Stops at once, then gets Heroku's next SIGTERM while the process is still shutting down.
LATE_SIGTERM = """
import asyncio, os, signal
from syncbot.settings import settings_from
from syncbot.stopping import Stop
from syncbot.store import SqliteStore
from syncbot.worker import GRACE_SECONDS, run_worker

async def main():
    stop = Stop()
    stop.install()
    stop.set()
    await run_worker(settings_from({}), SqliteStore(":memory:"), stop=stop)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.sleep(0.2)
    print("shut down cleanly")

asyncio.run(main())
"""


async def test_a_sigterm_during_shutdown_after_the_worker_stopped_does_not_kill_it(
    tmp_path: Path,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LATE_SIGTERM,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    code, out, err = await finish(proc)
    assert code == 0, err
    assert "shut down cleanly" in out


# -- the loop, in-process -----------------------------------------------------------------


def every(settings: Settings, seconds: float) -> Settings:
    """The settings with a pause between runs shorter than SYNC_INTERVAL_SECONDS allows."""
    return settings.model_copy(update={"sync_interval_seconds": seconds})


def logged(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == message]


async def test_a_failed_run_is_logged_and_the_next_run_still_comes(
    sandbox: Sandbox, sqlite_store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with closing(sqlite3.connect(sqlite_store.path)) as conn:
        conn.execute(
            "CREATE TRIGGER syncbot_test_fail BEFORE INSERT ON runs "
            "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
        conn.commit()
    stop = Stop()
    worker = asyncio.create_task(
        run_worker(every(settings_for(sandbox), 0.05), sqlite_store, stop=stop)
    )
    await eventually(lambda: bool(logged(caplog, "sync failed")), "a failed run")
    with closing(sqlite3.connect(sqlite_store.path)) as conn:
        conn.execute("DROP TRIGGER syncbot_test_fail")
        conn.commit()
    await eventually(lambda: sqlite_store.latest_run() is not None, "a run after the failure")
    stop.set()
    await asyncio.wait_for(worker, LIMIT)

    error = logged(caplog, "sync failed")[0].fields["error"]  # type: ignore[attr-defined]
    assert "disk on fire" in error
    assert "previous snapshot is unchanged" in error
    latest = sqlite_store.latest_run()
    assert latest is not None
    assert latest.status == "ok"


async def test_a_run_stopped_while_listing_stores_nothing_and_frees_the_lock_at_once(
    sandbox: Sandbox, sqlite_store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider that never answers: the stop does not wait out the grace period (an hour
    here), the listing ends at once and the previous snapshot stands."""
    caplog.set_level(logging.INFO)
    # syncbot's own loggers at INFO too, whatever level an earlier test's set-up left them.
    caplog.set_level(logging.INFO, logger="syncbot")
    settings = settings_for(sandbox)
    await run_sync(settings, sqlite_store, options=SyncOptions())
    before = (sqlite_store.load_numbers(), sqlite_store.recent_runs(10))
    sandbox.orgapi.options.always = Fault.timeout(seconds=LIMIT)
    sandbox.orgapi.reset()
    stop = Stop()
    worker = asyncio.create_task(run_worker(settings, sqlite_store, stop=stop, grace_seconds=3600))
    await eventually(lambda: sandbox.orgapi.total > 0, "the run's first request")
    stop.set()
    await asyncio.wait_for(worker, LIMIT)

    assert logged(caplog, "sync stopped")
    assert not logged(caplog, "sync cancelled: the grace period is over")
    assert (sqlite_store.load_numbers(), sqlite_store.recent_runs(10)) == before
    with sqlite_store.run_lock() as acquired:
        assert acquired


async def test_a_configuration_error_ends_the_worker_instead_of_repeating_forever(
    sqlite_store: SqliteStore,
) -> None:
    # Settings are read once: a run that cannot start now never will in this process.
    with pytest.raises(ConfigError, match="no source is configured"):
        await asyncio.wait_for(run_worker(every(settings_from({}), 0.05), sqlite_store), LIMIT)
