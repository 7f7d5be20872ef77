"""What the docs tell a newcomer to run works as they say."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.kit import SheetsSandbox
from tests.procs import clean_env, syncbot

ROOT = Path(__file__).resolve().parent.parent


def test_the_sheets_benchmark_has_help_as_the_readme_runs_it() -> None:
    done = subprocess.run(
        [sys.executable, "bench/sheets_bench.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SIZE" in done.stdout
    assert "Calls, bytes and CPU per sheet write" in done.stdout


def test_the_files_the_readme_and_the_sandbox_write_are_not_committed_by_accident() -> None:
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    names = ["inventory.csv", "syncbot-sandbox-key.json", "syncbot-sandbox.db", ".venv-3.13/x"]
    done = subprocess.run(  # noqa: S603 - git, on our own checkout
        [git, "check-ignore", *names], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.stdout.split() == names


LOGFMT_KEY = re.compile(r'(\w+)=(?:"[^"]*"|\S*)')


def _keys(line: str) -> tuple[str, list[str]]:
    keys = LOGFMT_KEY.findall(line)
    message = re.search(r'msg=("[^"]*"|\S+)', line)
    assert message is not None, line
    return message.group(1).strip('"'), keys


async def test_the_heroku_log_sample_has_the_fields_a_real_sync_logs(
    sandbox: Sandbox, box: SheetsSandbox, tmp_path: Path
) -> None:
    heroku = (ROOT / "docs" / "heroku.md").read_text()
    sample = [line for line in heroku.splitlines() if line.startswith("at=")]
    assert sample
    code, _, err = await syncbot(
        "sync", env=clean_env(tmp_path, **sandbox.env(), **box.env()), cwd=tmp_path
    )
    assert code == 0, err
    real = dict(_keys(line) for line in err.splitlines() if line.startswith("at="))
    for line in sample:
        message, keys = _keys(line)
        assert real.get(message) == keys, f"docs/heroku.md's {message!r} line is stale"
