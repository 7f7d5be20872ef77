"""A fresh directory, before any sync: reading commands say what to run and create nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from syncbot.cli.doctor import run_checks
from syncbot.settings import settings_from
from tests.procs import clean_env, syncbot


def default_store_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No DATABASE_URL: the default store, syncbot.db in the working directory."""
    env = clean_env(tmp_path, **extra)
    del env["DATABASE_URL"]
    return env


async def test_reading_commands_before_any_sync_say_so_and_create_no_store(
    tmp_path: Path,
) -> None:
    env = default_store_env(tmp_path)
    (query, export) = await asyncio.gather(
        syncbot("query", "unassigned", env=env, cwd=tmp_path),
        syncbot("export", "--csv", "-", env=env, cwd=tmp_path),
    )
    for code, out, err in (query, export):
        assert code == 1
        assert out == ""
        assert "no sync has run yet" in err
        assert "run `syncbot sync` first" in err
        assert "unexpected" not in err
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


async def test_doctor_and_a_sync_stopped_by_a_missing_setting_create_no_store(
    tmp_path: Path,
) -> None:
    env = default_store_env(tmp_path)
    sheet = default_store_env(
        tmp_path, DIALNEXA_API_KEY="key", GOOGLE_SHEET_ID="1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    )
    (doctor, sync, sheetless) = await asyncio.gather(
        syncbot("doctor", env=env, cwd=tmp_path),
        syncbot("sync", env=env, cwd=tmp_path),
        syncbot("sync", env=sheet, cwd=tmp_path),
    )
    assert sheetless[0] == 2
    assert "GOOGLE_SERVICE_ACCOUNT_JSON is not set" in sheetless[2]
    assert (
        "store: sqlite:///syncbot.db: no store yet; the first `syncbot sync` creates it"
        in (doctor[1])
    )
    assert sync[0] == 2
    assert "no source is configured" in sync[2]
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


def test_doctor_says_orgapi_base_url_is_still_the_placeholder(tmp_path: Path) -> None:
    settings = settings_from(
        {
            "ORGAPI_API_KEY": "key",
            "ORGAPI_ORGANIZATION_ID": "org_1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'syncbot.db'}",
        }
    )
    (orgapi,) = [c for c in run_checks(settings, store_label="x") if c.name == "orgapi/default"]
    assert not orgapi.ok
    assert orgapi.detail.startswith(
        "ORGAPI_BASE_URL is still the placeholder https://api.example.com, and the orgapi key "
        "is not sent there: set it"
    )
