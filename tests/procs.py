"""Real `syncbot` processes for the tests, configured only by the environment they are given."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

# Generous: these bound a hang, never a speed.
LIMIT = 60.0
SETTING_PREFIXES = (
    "ORGAPI_",
    "DIALNEXA_",
    "GOOGLE_",
    "SLACK_",
    "DATABASE_URL",
    "PORT",
    "SYNC_",
    "NUMBER_COSTS",
    "COST_CURRENCY",
)


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This machine's environment without any syncbot setting, a store in ``tmp_path``, and
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'syncbot.db'}"
    env.update(extra)
    return env


async def spawn(
    *args: str, env: dict[str, str], cwd: Path, group: bool = False
) -> asyncio.subprocess.Process:
    """A real `syncbot` process; its cwd holds no .env, so only ``env`` configures it.
    ``group``: the leader of a process group of its own, as a dyno's process is."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "syncbot",
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=group,
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    """Wait for ``proc``: its exit code, stdout and stderr."""
    out, err = await asyncio.wait_for(proc.communicate(), LIMIT)
    assert proc.returncode is not None
    return proc.returncode, (out or b"").decode(), (err or b"").decode()


async def syncbot(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run `syncbot ARGS...` to the end."""
    return await finish(await spawn(*args, env=env, cwd=cwd))
