"""Running a command as a child process and reading its wall time, CPU time and peak RSS."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTING_PREFIXES = ("ORGAPI_", "DIALNEXA_", "GOOGLE_", "SLACK_", "DATABASE_URL")


@dataclass(frozen=True, slots=True)
class Measured:
    returncode: int
    wall: float
    cpu: float
    peak_rss_mb: float
    stdout: str
    stderr: str


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without syncbot settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    env.update(extra)
    return env


def measure(args: list[str], *, env: dict[str, str], cwd: Path) -> Measured:
    """Run ``args`` to completion; ``wait4`` gives this child's own CPU time and peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=err)  # noqa: S603 - our own commands
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            returncode=proc.returncode,
            wall=wall,
            cpu=usage.ru_utime + usage.ru_stime,
            peak_rss_mb=usage.ru_maxrss / 1024,
            stdout=out.read(),
            stderr=err.read(),
        )
