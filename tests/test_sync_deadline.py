"""SYNC_DEADLINE_SECONDS covers the whole run: a Sheets API that stalls fails the sheet at the
deadline, the store keeps the run's commit, and the run lock is released for the next sync.

The stall (a person's edit that never ends, holding the fake Sheets API) lasts far longer than
the deadline and than the tests' bound on a hang: a sync that ends at all ended by its deadline.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.app import Workbook
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.settings import settings_from
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions, run_sync
from tests.conftest import FAST
from tests.procs import LIMIT, syncbot
from tests.test_sync_sheet import sheet_env

DEADLINE = 5
STALL = 20 * LIMIT


@pytest.fixture
def stalled(box: SheetsSandbox) -> Iterator[None]:
    """Every Sheets API call hangs from the next one on, until the test ends."""
    released = threading.Event()

    def stall(workbook: Workbook) -> None:
        del workbook
        # Under the fake's lock: the calls after this one wait for it too.
        released.wait(STALL)

    box.fake.before_next("*", stall)
    try:
        yield
    finally:
        released.set()


@pytest.mark.usefixtures("stalled")
async def test_a_stalled_sheets_api_fails_the_sheet_at_the_deadline_and_keeps_the_commit(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    env = {**sheet_env(sandbox, box, tmp_path), "SYNC_DEADLINE_SECONDS": str(DEADLINE)}
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 1, err
    result = json.loads(out)
    assert result["status"] == "partial"
    assert {s["status"] for s in result["sources"].values()} == {"ok"}
    assert result["sheet"]["status"] == "failed"
    error = result["sheet"]["error"]
    assert f"not written within SYNC_DEADLINE_SECONDS ({DEADLINE} s for the whole run)" in error
    # The store has the run; the sheet's health says what happened to the sheet.
    code, out, _ = await syncbot("query", "status", "--json", env=env, cwd=tmp_path)
    status = json.loads(out)
    assert status["total"] == 40
    assert status["sync"]["run_id"] == result["run_id"]
    assert status["sheet"] == {"status": "failing", "error": error, "last_ok_at": None}
    # The run lock was released: the next sync runs (and meets the same stall).
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 1, err
    again = json.loads(out)
    assert again["status"] == "partial"
    assert again["run_id"] == result["run_id"] + 1
    assert again["sheet"]["error"] == error


async def test_retries_wait_no_longer_than_the_deadline_allows(
    sandbox: Sandbox, box: SheetsSandbox, sqlite_store: SqliteStore
) -> None:
    """Google asks to come back in 25 s, again and again: five attempts would take minutes,
    but the retries stop at the deadline, which fails the sheet and frees the run lock."""
    box.fake.fail_next("*", 503, times=1000, retry_after=25, spreadsheet_id=box.spreadsheet_id)
    settings = settings_from({**sandbox.env(), **box.env(), "SYNC_DEADLINE_SECONDS": str(DEADLINE)})
    result = await run_sync(settings, sqlite_store, options=SyncOptions(policy=FAST))
    assert result.sheet.status == "failed"
    assert result.sheet.error is not None
    assert f"not written within SYNC_DEADLINE_SECONDS ({DEADLINE} s" in result.sheet.error
    assert sqlite_store.latest_run() is not None
    with sqlite_store.run_lock() as acquired:
        assert acquired
