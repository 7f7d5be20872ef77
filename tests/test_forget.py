"""`syncbot forget`: a source the settings no longer name leaves the store and the sheet."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sheets.layout import SYNC_LOG_HEADER
from syncbot.store import open_store
from tests.procs import LIMIT, clean_env, syncbot


async def run_with_input(*args: str, stdin: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "syncbot", *args),
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin.encode()), LIMIT)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def dialnexa_only(sandbox: Sandbox, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The settings after orgapi was dropped from them."""
    return clean_env(
        tmp_path,
        **{k: v for k, v in sandbox.env().items() if k.startswith("DIALNEXA_")},
        **extra,
    )


async def test_forget_asks_first_then_removes_the_source_and_records_each_number(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    assert (await syncbot("sync", env=clean_env(tmp_path, **sandbox.env()), cwd=tmp_path))[0] == 0
    env = dialnexa_only(sandbox, tmp_path)
    assert (await syncbot("sync", env=env, cwd=tmp_path))[0] == 0

    code, out = await run_with_input("forget", "orgapi", stdin="n\n", env=env, cwd=tmp_path)
    assert code == 1
    assert out.startswith("Forget orgapi/default? Its 20 numbers leave the store, each recorded")
    assert out.endswith("Nothing forgotten.\n")

    code, out = await run_with_input("forget", "orgapi", stdin="y\n", env=env, cwd=tmp_path)
    assert code == 0, out
    assert out.endswith("Forgot orgapi/default: 20 numbers removed (run 3).\n")
    with open_store(env["DATABASE_URL"]) as store:
        assert {n.source for n in store.load_numbers()} == {"dialnexa"}
        assert [s.key for s in store.source_states()] == ["dialnexa/default"]
        changes = store.changes(3)
    assert len(changes) == 20
    assert {(c.kind.value, c.source) for c in changes} == {("removed", "orgapi")}
    code, out, _ = await syncbot("query", "status", env=env, cwd=tmp_path)
    assert "orgapi" not in out


async def test_forget_refuses_a_source_still_configured_and_names_what_the_store_has(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env())
    assert (await syncbot("sync", env=env, cwd=tmp_path))[0] == 0
    code, _, err = await syncbot("forget", "orgapi/default", "--yes", env=env, cwd=tmp_path)
    assert code == 2
    assert "orgapi/default is still configured" in err
    code, _, err = await syncbot("forget", "orgapi/acme", "--yes", env=env, cwd=tmp_path)
    assert code == 1
    assert "the store has no orgapi/acme; it has dialnexa/default, orgapi/default" in err


async def test_forget_with_yes_takes_the_rows_out_of_the_sheet_into_changes(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    sheet = {
        "GOOGLE_SHEET_ID": box.spreadsheet_id,
        "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(box.key),
        "GOOGLE_SHEETS_API_URL": box.url,
    }
    env = clean_env(tmp_path, **sandbox.env(), **sheet)
    assert (await syncbot("sync", env=env, cwd=tmp_path))[0] == 0
    env = dialnexa_only(sandbox, tmp_path, **sheet)
    code, _, err = await syncbot("forget", "orgapi", "--yes", env=env, cwd=tmp_path)
    assert code == 0, err
    inventory = box.fake.values(box.spreadsheet_id, "Inventory")
    assert {row[4] for row in inventory[1:]} == {"dialnexa"}
    changes = box.fake.values(box.spreadsheet_id, "Changes")
    removed = [row for row in changes[1:] if row[2] == "removed"]
    assert len(removed) == 20
    assert {row[1] for row in removed} == {"2"}
    log = box.fake.values(box.spreadsheet_id, "Sync log")
    sources = SYNC_LOG_HEADER.index("Sources")
    assert any(row[0] == "2" and row[sources] == "forgot orgapi/default" for row in log[1:])


def _as_a_background_job() -> None:
    # What a non-interactive shell does to `command &`: SIGINT ignored, inherited over exec.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def test_the_sandbox_points_syncs_at_a_store_of_its_own(tmp_path: Path) -> None:
    """Its settings point syncs at a store of its own, and SIGINT stops it even when started as
    a background job (which ignores SIGINT)."""
    sandbox = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "syncbot", "sandbox", "--numbers", "10"),
        *("--orgapi-port", "0", "--dialnexa-port", "0"),
        env=clean_env(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=_as_a_background_job,
    )
    assert sandbox.stdout is not None
    exports: dict[str, str] = {}
    try:
        async with asyncio.timeout(LIMIT):
            while not (line := (await sandbox.stdout.readline()).decode()).startswith("# then"):
                if line.startswith("export "):
                    name, _, value = line.removeprefix("export ").strip().partition("=")
                    exports[name] = value
        assert exports["DATABASE_URL"] == "sqlite:///syncbot-sandbox.db"
        env = {**clean_env(tmp_path), **exports}
        assert (await syncbot("sync", env=env, cwd=tmp_path))[0] == 0
    finally:
        sandbox.send_signal(signal.SIGINT)
        await asyncio.wait_for(sandbox.wait(), LIMIT)
    files = await asyncio.to_thread(os.listdir, tmp_path)
    assert sorted(name for name in files if name.endswith(".db")) == ["syncbot-sandbox.db"]
