"""Slack tried offline: `syncbot sandbox` runs every API syncbot talks to and prints the settings
for all of them; `syncbot ask` asks a running `syncbot serve` as Slack would. All real processes
talking over real sockets."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from syncbot.cli.blockkit import BUILDER_URL
from syncbot.sandbox.slack_requests import SIGNING_SECRET
from tests.procs import LIMIT, clean_env, finish, spawn, syncbot
from tests.test_deploy import free_port, healthz


async def _settings_block(sandbox: asyncio.subprocess.Process) -> dict[str, str]:
    """The settings the sandbox prints, read as a .env file would be."""
    assert sandbox.stdout is not None
    printed: dict[str, str] = {}
    async with asyncio.timeout(LIMIT):
        while line := (await sandbox.stdout.readline()).decode():
            if line.startswith("export "):
                name, _, value = line.removeprefix("export ").strip().partition("=")
                printed[name] = value
            if line.startswith("# then"):
                return printed
    raise AssertionError(f"the sandbox ended before printing its settings: {printed}")


@pytest.fixture
async def sandbox_settings(tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """A running `syncbot sandbox` (every port picked free) and the settings it printed."""
    ports = ("--orgapi-port", "--dialnexa-port", "--slack-port", "--sheets-port")
    sandbox = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "syncbot", "sandbox", "--numbers", "40"),
        *(arg for port in ports for arg in (port, "0")),
        env=clean_env(tmp_path),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield await _settings_block(sandbox)
    finally:
        sandbox.send_signal(signal.SIGINT)
        code, _, err = await finish(sandbox)
        # Ctrl-C is how a sandbox ends: 130, as for every command.
        assert (code, err) == (130, "syncbot sandbox: interrupted\n")


async def test_the_sandbox_prints_settings_for_providers_slack_and_sheets_that_sync_uses(
    tmp_path: Path, sandbox_settings: dict[str, str]
) -> None:
    assert sorted(sandbox_settings) == [
        "DATABASE_URL",
        "DIALNEXA_API_KEY",
        "DIALNEXA_BASE_URL",
        "GOOGLE_SERVICE_ACCOUNT_JSON",
        "GOOGLE_SHEETS_API_URL",
        "GOOGLE_SHEET_ID",
        "ORGAPI_API_KEY",
        "ORGAPI_BASE_URL",
        "ORGAPI_ORGANIZATION_ID",
        "SLACK_ADMIN_USER_IDS",
        "SLACK_ALERT_CHANNEL",
        "SLACK_API_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
    ]
    # The block is a .env file as it stands: saved there, syncbot reads it from the directory.
    (tmp_path / ".env").write_text(
        "".join(f"export {name}={value}\n" for name, value in sandbox_settings.items())
    )
    env = {k: v for k, v in clean_env(tmp_path).items() if k != "DATABASE_URL"}
    code, out, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["status"] == "ok"
    assert result["total"] == 40
    # The sheet was written through the sandbox Sheets API, with the key file it wrote.
    assert result["sheet"]["status"] == "ok", result["sheet"]
    assert (tmp_path / "syncbot-sandbox.db").is_file()
    code, out, err = await syncbot("doctor", env=env, cwd=tmp_path)
    assert code == 0, out + err
    assert "can write 'syncbot sandbox' as syncbot@" in out
    assert "bot @syncbot in Sandbox" in out


async def test_ask_gets_the_running_serve_s_answer_as_slack_would_with_a_builder_link(
    tmp_path: Path, sandbox_settings: dict[str, str]
) -> None:
    port = free_port()
    env = {**clean_env(tmp_path), **sandbox_settings, "PORT": str(port)}
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    serve = await spawn("serve", env=env, cwd=tmp_path)
    try:
        async with asyncio.timeout(LIMIT):
            while True:
                try:
                    if (await healthz(port))[0] == 200:
                        break
                except aiohttp.ClientError:
                    assert serve.returncode is None, "serve ended before it answered /healthz"
                await asyncio.sleep(0.1)
        code, out, err = await syncbot("ask", "unassigned", env=env, cwd=tmp_path)
        assert code == 0, err
        # The answer as a person reads it in Slack, then where to see it as Slack shows it.
        first = out.splitlines()[0]
        assert re.fullmatch(r"\d+ numbers match `unassigned`\.", first), out[:300]
        assert f"In Slack's Block Kit Builder: {BUILDER_URL}" in out
        code, out, err = await syncbot("ask", "unassigned", "--json", env=env, cwd=tmp_path)
        assert code == 0, err
        assert json.loads(out)["response_type"] == "ephemeral"
        # An admin's sync: acknowledged at once, then its outcome, posted to the response_url.
        code, out, err = await syncbot("ask", "sync", env=env, cwd=tmp_path)
        assert code == 0, err
        assert out.startswith("🔄 Sync started. I'll post the outcome here.\n"), out[:300]
        assert out.count("In Slack's Block Kit Builder:") == 2, out[:300]
        # Signed with another secret, the request is refused, and ask says why.
        wrong = {**env, "SLACK_SIGNING_SECRET": SIGNING_SECRET + "-not"}
        code, _, err = await syncbot("ask", "unassigned", env=wrong, cwd=tmp_path)
        assert code == 1
        assert "refused the request's signature" in err
        assert "SLACK_SIGNING_SECRET" in err
    finally:
        serve.send_signal(signal.SIGINT)
        code, _, err = await finish(serve)
    assert code == 130, err
    # Nothing listening: ask says what to start.
    code, _, err = await syncbot("ask", "unassigned", env=env, cwd=tmp_path)
    assert code == 1
    assert f"nothing answers at http://127.0.0.1:{port}/slack/events: start `syncbot serve`" in err
