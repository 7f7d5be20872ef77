"""A newcomer's mistakes caught before they cost: setting-name typos, the placeholder URL, a
store where none can be written, Google Sheets URLs as people copy them, doctor's verdicts."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncbot.errors import ConfigError
from syncbot.sandbox.providers import Sandbox
from syncbot.settings import settings_from
from tests.procs import clean_env, syncbot

KEY = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot create files in: read-only for a user; for root, whom
    permissions do not stop, sysfs, which takes no new files from anyone."""
    if os.geteuid() != 0:
        directory = tmp_path / "read-only"
        directory.mkdir()
        directory.chmod(stat.S_IRUSR | stat.S_IXUSR)
        yield directory
        directory.chmod(stat.S_IRWXU)
        return
    if not Path("/sys/kernel").is_dir():
        pytest.skip("running as root without sysfs: no directory refuses new files")
    yield Path("/sys/kernel")


async def test_setting_name_typos_warn_with_the_closest_setting_and_doctor_says_why_off(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        f"DIALNEXA_APIKEY={sandbox.env()['DIALNEXA_API_KEY']}\nGOOGLE_SHEETS_ID={KEY}\n"
    )
    orgapi = {k: v for k, v in sandbox.env().items() if k.startswith("ORGAPI_")}
    env = clean_env(tmp_path, **orgapi, SYNC_INTERVAL_SECOND="600")
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    dotenv = tmp_path / ".env"
    for line in (
        "SYNC_INTERVAL_SECOND (in the environment) is not a syncbot setting, so it is ignored: "
        "did you mean SYNC_INTERVAL_SECONDS?",
        f"DIALNEXA_APIKEY (in {dotenv}) is not a syncbot setting, so it is ignored: "
        "did you mean DIALNEXA_API_KEY?",
        f"GOOGLE_SHEETS_ID (in {dotenv}) is not a syncbot setting, so it is ignored: "
        "did you mean GOOGLE_SHEET_ID?",
    ):
        assert line in err
    code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
    # A typo is a problem, though not one that stops `sync`.
    assert code == 1, out
    assert f"✓ settings: from the environment and {dotenv}\n" in out
    assert "✗ setting names: DIALNEXA_APIKEY" in out
    assert (
        "✓ sources: orgapi/default on; dialnexa off: DIALNEXA_API_KEY (or DIALNEXA_ACCOUNTS) is "
        f"not set (DIALNEXA_APIKEY in {dotenv} looks like a typo of DIALNEXA_API_KEY)\n"
    ) in out
    assert "All checks passed" not in out
    # Where .env was looked for, when there is none.
    dotenv.unlink()
    code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
    assert f"✓ settings: from the environment (no .env file at {dotenv})\n" in out


async def test_the_placeholder_base_url_with_a_key_is_a_configuration_error_for_sync_and_worker(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path, ORGAPI_API_KEY="a-real-key", ORGAPI_ORGANIZATION_ID="org_1")
    for command in ("sync", "worker"):
        code, _, err = await syncbot(command, env=env, cwd=tmp_path)
        assert code == 2, err
        assert (
            "ORGAPI_BASE_URL is still the placeholder https://api.example.com, and the orgapi "
            "key is not sent there" in err
        )
        assert "a-real-key" not in err
    # Stopped before anything was opened: no store either.
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


async def test_a_store_in_a_directory_that_takes_no_files_is_named_with_what_to_do(
    sandbox: Sandbox, tmp_path: Path, unwritable: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env(), DATABASE_URL=f"sqlite:///{unwritable}/x.db")
    code, out, _ = await syncbot("doctor", env=env, cwd=tmp_path)
    assert code == 1
    assert f"✗ store: cannot write the SQLite store {unwritable}/x.db: its directory" in out
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 1
    assert f"its directory {unwritable} does not take new files" in err
    assert "point DATABASE_URL at one that is" in err
    assert "unexpected" not in err
    code, out, err = await syncbot(
        "demo", "--database", str(unwritable / "demo.db"), env=clean_env(tmp_path), cwd=tmp_path
    )
    assert code == 1
    assert "or point --database at one that is" in err
    assert "unexpected" not in err


async def test_a_store_in_a_missing_directory_is_refused_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "dir"
    env = clean_env(tmp_path, DIALNEXA_API_KEY="k", DATABASE_URL=f"sqlite:///{missing}/x.db")
    code, _, err = await syncbot("migrate", env=env, cwd=tmp_path)
    assert code == 2
    assert f"DATABASE_URL puts the SQLite store in {missing}, which does not exist" in err
    assert not missing.parent.exists()


async def test_serve_without_a_bot_token_stops_before_creating_a_store(tmp_path: Path) -> None:
    code, _, err = await syncbot("serve", env=clean_env(tmp_path), cwd=tmp_path)
    assert code == 2
    assert "SLACK_BOT_TOKEN is not set" in err
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


@pytest.mark.parametrize(
    "url",
    [
        KEY,
        f"https://docs.google.com/spreadsheets/d/{KEY}/edit#gid=0",
        f"https://docs.google.com/spreadsheets/u/1/d/{KEY}/edit",
        f"https://docs.google.com/a/acme.com/spreadsheets/d/{KEY}/edit?usp=sharing",
        f"docs.google.com/spreadsheets/d/{KEY}",
        f"https://docs.google.com/spreadsheet/ccc?key={KEY}&usp=sharing",
        f"https://drive.google.com/open?id={KEY}",
        f"https://drive.google.com/file/d/{KEY}/view",
    ],
)
def test_every_google_url_form_naming_a_key_gives_the_key(url: str) -> None:
    assert settings_from({"GOOGLE_SHEET_ID": url}).google_sheet_id == KEY


def test_a_published_sheet_url_is_refused_with_the_url_to_use() -> None:
    published = "https://docs.google.com/spreadsheets/d/e/2PACX-1vQx2Kf8Yb_abcdefghijk/pubhtml"
    with pytest.raises(ConfigError) as caught:
        settings_from({"GOOGLE_SHEET_ID": published})
    assert "GOOGLE_SHEET_ID: Value error, is a link to the sheet as published to the web" in str(
        caught.value
    )
    assert "use the editor's URL" in str(caught.value)
