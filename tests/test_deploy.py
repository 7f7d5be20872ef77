"""What Heroku reads from the repository: Procfile, app.json, .python-version, dependencies."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from syncbot.errors import ConfigError
from syncbot.sandbox.providers import DIALNEXA_API_KEY, ORGAPI_API_KEY, Sandbox
from syncbot.settings import Settings, load_settings
from tests.procs import LIMIT, clean_env, finish
from tests.test_locking import sync_json

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# Heroku sets these itself: the PostgreSQL add-on attaches DATABASE_URL, the router gives PORT.
SET_BY_HEROKU = {"DATABASE_URL", "PORT"}


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: json.loads would keep the last of two."""
    names = [name for name, _ in pairs]
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"app.json names {twice} twice"
    return dict(pairs)


def app_json() -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((ROOT / "app.json").read_text(), object_pairs_hook=_once)
    return manifest


def test_app_json_describes_each_setting_once() -> None:
    assert set(app_json()["env"]) <= setting_names()


def setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_procfile_runs_the_slack_app_the_worker_and_migrations_on_release() -> None:
    assert procfile() == {
        "web": "syncbot serve",
        "worker": "syncbot worker",
        "release": "syncbot migrate",
    }


async def test_honcho_check_accepts_the_procfile() -> None:
    honcho = await asyncio.create_subprocess_exec(
        BIN / "honcho",
        "-f",
        ROOT / "Procfile",
        "check",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    code, out, _ = await finish(honcho)
    assert code == 0, out
    assert "Valid procfile detected (web, worker, release)" in out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        body: dict[str, Any] = await response.json()
        return response.status, body


async def test_honcho_start_web_serves_healthz_with_the_latest_sync(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(
        tmp_path,
        **sandbox.env(),
        SLACK_BOT_TOKEN="xoxb-deploy-test-token",
        SLACK_SIGNING_SECRET="deploy-test-signing-secret",
        # Nothing may reach the real Slack: a closed loopback port.
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
        PATH=f"{BIN}:{clean_env(tmp_path)['PATH']}",
    )
    synced = await sync_json(env, tmp_path)
    port = free_port()
    # Run from the test's directory, so no developer's .env is read.
    honcho = await asyncio.create_subprocess_exec(
        BIN / "honcho",
        "-f",
        ROOT / "Procfile",
        "-d",
        tmp_path,
        "start",
        "-p",
        str(port),
        "web",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    answers: list[tuple[int, dict[str, Any]]] = []

    async def answered() -> bool:
        try:
            answers.append(await healthz(port))
        except aiohttp.ClientError:
            return False
        return answers[-1][0] == 200

    try:
        deadline = asyncio.get_running_loop().time() + LIMIT
        while not await answered() and honcho.returncode is None:
            assert asyncio.get_running_loop().time() < deadline, "no answer from /healthz"
            await asyncio.sleep(0.1)
    finally:
        if honcho.returncode is None:
            honcho.terminate()
        _, out, _ = await finish(honcho)
    assert answers, f"honcho exited before /healthz answered:\n{out}"
    status, body = answers[-1]
    assert status == 200, out
    assert body["latest_sync"]["run_id"] == synced["run_id"]
    assert re.search(r"web\.1\s*\|.*msg=listening", out), out
    for secret in (ORGAPI_API_KEY, DIALNEXA_API_KEY, env["SLACK_BOT_TOKEN"]):
        assert secret not in out


def test_app_json_describes_every_setting_and_whether_it_is_required() -> None:
    env = app_json()["env"]
    assert set(env) == setting_names() - SET_BY_HEROKU
    for name, entry in env.items():
        assert entry["description"].strip(), name
        assert isinstance(entry["required"], bool), name
    required = {name for name, entry in env.items() if entry["required"]}
    # `syncbot serve`, the web dyno, cannot start without these.
    assert required == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}


def test_app_json_prefills_every_setting_a_blank_value_would_break(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A form field left blank may reach the dynos as an empty config var.
    monkeypatch.chdir(tmp_path)
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    defaults = load_settings()
    env = app_json()["env"]
    for name, entry in env.items():
        monkeypatch.setenv(name, "")
        try:
            load_settings()
        except ConfigError:
            assert "value" in entry, f"a blank {name} is refused: app.json must pre-fill it"
        monkeypatch.delenv(name)
    prefilled = {name: entry["value"] for name, entry in env.items() if "value" in entry}
    for name, value in prefilled.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    for name in prefilled:
        assert getattr(settings, name.lower()) == getattr(defaults, name.lower()), name


def test_app_json_provisions_postgresql_and_scheduler_and_builds_with_python() -> None:
    manifest = app_json()
    plans = {addon["plan"].split(":")[0] for addon in manifest["addons"]}
    assert plans == {"heroku-postgresql", "scheduler"}
    database = next(a for a in manifest["addons"] if a["plan"].startswith("heroku-postgresql"))
    assert database["as"] == "DATABASE"
    assert manifest["buildpacks"] == [{"url": "heroku/python"}]
    # Scheduler runs the syncs by default; the worker dyno is the alternative, off at first.
    assert manifest["formation"] == {"web": {"quantity": 1}, "worker": {"quantity": 0}}
    # The schema is created by the release phase, which also runs for Heroku Button deploys.
    assert procfile()["release"] == "syncbot migrate"


def test_the_heroku_build_installs_syncbot_with_the_locked_dependencies() -> None:
    # The Python buildpack installs from requirements.txt; the Procfile needs the `syncbot`
    # command, which only installing the project itself provides.
    path = ROOT / "requirements.txt"
    assert path.exists(), "Heroku's Python buildpack needs requirements.txt"
    lines = {line.strip() for line in path.read_text().splitlines()}
    assert "-c requirements.lock" in lines
    assert "." in lines
