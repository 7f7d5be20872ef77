"""A whole `syncbot sync` into a Google Sheet: real CLI, real gspread, the fake Sheets API."""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
from pathlib import Path

from syncbot.models import utc_now
from syncbot.query import answer, parse
from syncbot.query.snapshot import load_snapshot
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.settings import settings_from
from syncbot.sheets import INVENTORY_HEADER
from syncbot.slack.blocks import answer_message
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions, run_sync
from tests.conftest import FAST
from tests.procs import clean_env, syncbot


def sheet_env(sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        tmp_path,
        **sandbox.env(),
        GOOGLE_SHEET_ID=f"https://docs.google.com/spreadsheets/d/{box.spreadsheet_id}/edit",
        GOOGLE_SERVICE_ACCOUNT_JSON=json.dumps(box.key),
        GOOGLE_SHEETS_API_URL=box.url,
    )


async def test_sync_writes_every_number_to_the_inventory_tab_as_raw_text(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    code, out, err = await syncbot(
        "sync", "--json", env=sheet_env(sandbox, box, tmp_path), cwd=tmp_path
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["sheet"]["status"] == "ok"
    inventory = box.fake.values(box.spreadsheet_id, "Inventory")
    assert tuple(inventory[0]) == INVENTORY_HEADER
    assert len(inventory) == 1 + 40
    phones = [row[0] for row in inventory[1:]]
    assert all(p.startswith("+") for p in phones if p[1:].isdigit())
    labels = [row[INVENTORY_HEADER.index("Label")] for row in inventory[1:]]
    assert '=HYPERLINK("http://x","y")' in labels
    for tab in ("Summary", "Changes", "Sync log"):
        assert box.fake.values(box.spreadsheet_id, tab)


async def test_an_unshared_sheet_fails_the_run_but_the_store_still_commits(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    box.fake.unshare(box.spreadsheet_id, box.email)
    env = sheet_env(sandbox, box, tmp_path)
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 1, err
    result = json.loads(out)
    assert result["status"] == "partial"
    assert result["sheet"]["status"] == "failed"
    assert box.email in result["sheet"]["error"]
    assert {s["status"] for s in result["sources"].values()} == {"ok"}
    code, out, _ = await syncbot("query", "stats", "--json", env=env, cwd=tmp_path)
    assert json.loads(out)["total"] == 40
    code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
    assert code == 1
    assert "✗ sheet:" in out
    assert box.email in out


async def test_doctor_names_the_service_account_to_share_with(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    code, out, _ = await syncbot("doctor", env=sheet_env(sandbox, box, tmp_path), cwd=tmp_path)
    assert code == 0, out
    assert f"✓ sheet: can write 'syncbot sandbox' as {box.email}" in out
    assert "PRIVATE KEY" not in out


async def test_export_writes_the_inventory_as_csv_in_the_sheets_columns(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    await syncbot("sync", env=env, cwd=tmp_path)
    code, out, err = await syncbot("export", "--csv", "-", env=env, cwd=tmp_path)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    assert tuple(rows[0]) == INVENTORY_HEADER
    assert len(rows) == 41
    code, _, err = await syncbot("export", "--csv", "inventory.csv", env=env, cwd=tmp_path)
    assert code == 0
    assert "Wrote 40 numbers" in err
    assert (tmp_path / "inventory.csv").read_text().count("\n") == 41


async def test_costs_reach_the_sync_log_and_the_csv_export(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    env = {**sheet_env(sandbox, box, tmp_path), "NUMBER_COSTS": '[{"monthly": 1.25}]'}
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    unassigned = result["monthly_cost"]["unassigned"]
    assert unassigned == {
        "amount": result["unassigned"] * 1.25,
        "currency": "USD",
        "numbers": result["unassigned"],
        "unpriced": 0,
    }
    log = box.fake.values(box.spreadsheet_id, "Sync log")
    assert log[1][log[0].index("Unassigned monthly cost")] == f"{unassigned['amount']:g}"
    code, out, err = await syncbot("export", "--csv", "-", env=env, cwd=tmp_path)
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {row["Monthly cost"] for row in rows} == {"1.25"}


async def test_the_normalizing_worker_is_gone_before_the_sheet_is_written(
    sandbox: Sandbox, box: SheetsSandbox, sqlite_store: SqliteStore
) -> None:
    """Its memory goes back before the sheet write, the run's largest, needs its own."""
    alive_at_sheet_write: list[int] = []
    box.fake.before_next(
        "spreadsheets.batchUpdate",
        lambda _: alive_at_sheet_write.append(len(multiprocessing.active_children())),
    )
    settings = settings_from({**sandbox.env(), **box.env()})
    options = SyncOptions(policy=FAST, page_size=5, worker_after=0)
    result = await run_sync(settings, sqlite_store, options=options)
    assert result.sheet.status == "ok", result.sheet.error
    assert result.phones_parsed == 40
    assert alive_at_sheet_write == [0]


def status_message(tmp_path: Path) -> str:
    """What `/numbers status` answers from the store of ``tmp_path``."""
    with SqliteStore(tmp_path / "syncbot.db") as store:
        found = answer(parse("status"), load_snapshot(store), now=utc_now(), interval_seconds=60)
    return json.dumps(answer_message(found, now=utc_now()))


async def test_a_spreadsheet_nearly_full_is_told_once_in_the_channel_and_in_doctor_and_status(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    # People's own tab holds 8,400,000 cells: with syncbot's tabs, past 80% of Google's limit.
    archive = box.spreadsheet().add_worksheet("Archive", rows=336_000, cols=25)
    async with FakeSlack() as slack:
        env = {**sheet_env(sandbox, box, tmp_path), **slack.env(), "SLACK_ALERT_CHANNEL": "C1"}
        for _ in range(2):
            code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
            assert code == 0, err
        warning = json.loads(out)["sheet"]["warning"]
        code, doctor, _ = await syncbot("doctor", env=env, cwd=tmp_path)
        nearly_full = status_message(tmp_path)
        archive.resize(rows=10, cols=25)
        await syncbot("sync", env=env, cwd=tmp_path)
        texts = [call.args["text"] for call in slack.calls_to("chat.postMessage")]
    assert "numbers fit in it (40 now)" in warning
    assert "sheet size: warning: The spreadsheet holds" in doctor, doctor
    assert "The spreadsheet is nearly full" in nearly_full
    assert "The spreadsheet is nearly full" not in status_message(tmp_path)
    told = [text for text in texts if "spreadsheet" in text]
    assert len(told) == 2
    assert told[0].startswith("The spreadsheet is nearly full: The spreadsheet holds 8,4")
    assert "numbers fit in it (40 now)" in told[0]
    assert told[1] == "The spreadsheet is back under 80% of Google's cell limit."
