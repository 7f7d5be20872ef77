"""The sheet's health, kept like a source's: stored by whichever process syncs, shown by
`query status`, `/numbers status`, `doctor` and `/healthz`, and told in the alert channel once
when it starts failing and once when it recovers."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncbot.models import RunResult, SheetResult, SheetState
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.app import Workbook
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.store import SqliteStore, Store, open_store
from syncbot.sync import SyncOptions, run_sync
from tests import pg
from tests.conftest import FAST, settings_for
from tests.procs import LIMIT, clean_env, syncbot
from tests.test_slack_app import running_app
from tests.test_sync_sheet import sheet_env

CHANNEL = "C0ALERTS"


def alerts(slack: FakeSlack) -> list[str]:
    return [str(call.args["text"]) for call in slack.calls_to("chat.postMessage")]


async def status(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    code, out, err = await syncbot("query", "status", "--json", env=env, cwd=cwd)
    assert code == 0, err
    sheet: dict[str, Any] = json.loads(out)["sheet"]
    return sheet


async def test_a_failing_sheet_shows_in_status_and_doctor_and_alerts_once_per_transition(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    async with FakeSlack() as slack:
        env = {
            **sheet_env(sandbox, box, tmp_path),
            **slack.env(),
            "SLACK_ALERT_CHANNEL": CHANNEL,
        }
        code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
        assert code == 0, err
        written = await status(env, tmp_path)
        assert written["status"] == "ok"
        assert written["error"] is None
        box.fake.unshare(box.spreadsheet_id, box.email)
        for _ in range(3):
            code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
            assert code == 1, err
        failing = await status(env, tmp_path)
        assert failing["status"] == "failing"
        assert box.email in failing["error"]
        # The last sheet that was written is still the first sync's.
        assert failing["last_ok_at"] == written["last_ok_at"]
        code, out, _ = await syncbot("query", "status", env=env, cwd=tmp_path)
        assert f"Sheet: FAILING: {failing['error']}" in out
        code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
        assert code == 1
        assert "✗ sheet health: the sync" in out
        assert "could not write the sheet" in out
        # Three failed syncs, one alert.
        sheet_alerts = [text for text in alerts(slack) if "Sheet health" in text]
        assert sheet_alerts == ["Sheet health changed in sync run 2: the sheet failing"]

        box.fake.share(box.spreadsheet_id, box.email)
        code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
        assert code == 0, err
        code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
        assert code == 0, err
        recovered = await status(env, tmp_path)
        assert recovered["status"] == "ok"
        assert recovered["error"] is None
        assert recovered["last_ok_at"] is not None
        _, out, _ = await syncbot("query", "status", env=env, cwd=tmp_path)
        assert f"Sheet: ok (last written {recovered['last_ok_at']})" in out
        sheet_alerts = [text for text in alerts(slack) if "Sheet health" in text]
        assert sheet_alerts == [
            "Sheet health changed in sync run 2: the sheet failing",
            "Sheet health changed in sync run 5: the sheet recovered",
        ]


async def test_status_says_the_sheet_is_off_when_none_is_configured(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    await syncbot("sync", env=env, cwd=tmp_path)
    assert await status(env, tmp_path) == {"status": "off", "error": None, "last_ok_at": None}
    _, out, _ = await syncbot("query", "status", env=env, cwd=tmp_path)
    assert "Sheet: off (GOOGLE_SHEET_ID is not set)" in out


async def test_the_slack_app_sees_the_sheet_fail_after_it_loaded_the_same_run(
    sandbox: Sandbox, box: SheetsSandbox, sqlite_store: SqliteStore
) -> None:
    """The run is committed (and loaded by the app) before its sheet write fails: the app
    notices the run's final outcome under the same run id."""
    loaded = threading.Event()

    def lose_access_once_loaded(workbook: Workbook) -> None:
        # Under the fake's lock: every Sheets call waits until the app has loaded the run.
        loaded.wait(LIMIT)
        workbook.shared_with.pop(box.email, None)

    async with running_app(sandbox, sqlite_store, **box.env()) as app:
        _, healthy = await app.health()
        assert healthy["status"] == "ok"
        assert healthy["sheet"]["status"] == "ok"
        box.fake.before_next("*", lose_access_once_loaded)
        settings = settings_for(sandbox, **box.env())
        syncing = asyncio.create_task(
            run_sync(settings, sqlite_store, options=SyncOptions(policy=FAST))
        )
        try:
            await app.wait_for_run(2)
        finally:
            loaded.set()
        result = await syncing
        assert result.run_id == 2
        assert result.sheet.status == "failed"
        async with asyncio.timeout(LIMIT):
            while True:
                body = (await app.health())[1]
                if body["status"] != "ok":
                    break
                await asyncio.sleep(0.02)
        assert body["status"] == "degraded"
        assert body["reasons"] == ["the sheet is failing"]
        assert body["sheet"]["status"] == "failing"
        assert body["latest_sync"] == {**body["latest_sync"], "run_id": 2, "status": "partial"}
        answer = await app.command("status")
        text = "\n".join(answer.texts)
        assert "*Sheet*: failing" in text
        assert box.email in text


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with pg.store_url(request.param, tmp_path) as url, open_store(url, create=True) as opened:
        opened.migrate()
        yield opened


def committed(store: Store, result: RunResult) -> int:
    """``result`` committed as a run that listed nothing, with its sheet outcome recorded."""
    staging = store.staging()
    try:
        run_id = store.commit_run(result)
    finally:
        staging.close()
    assert run_id is not None
    store.update_run(run_id, result)
    return run_id


def test_the_sheet_state_keeps_its_last_good_write_through_failures(store: Store) -> None:
    assert store.sheet_state() is None
    at = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
    committed(store, RunResult(started_at=at, finished_at=at, sheet=SheetResult(status="ok")))
    later = at + dt.timedelta(minutes=15)
    failed = RunResult(
        started_at=later, finished_at=later, sheet=SheetResult(status="failed", error="403")
    )
    run_id = committed(store, failed)
    assert store.sheet_state() == SheetState("failed", at, later, "403")
    # A dry run and a run without a sheet leave the sheet's health alone.
    skipped = RunResult(started_at=later, finished_at=later)
    store.update_run(run_id, skipped)
    assert store.sheet_state() == SheetState("failed", at, later, "403")
