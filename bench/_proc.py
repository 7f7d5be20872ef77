"""Running a command as a child process and reading its wall time, CPU time and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTING_PREFIXES = ("ORGAPI_", "DIALNEXA_", "GOOGLE_", "SLACK_", "DATABASE_URL")
_LAUNCHER = Path(__file__).with_name("_launch.py")


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
    """Run ``args`` to completion, started by ``bench/_launch.py`` so that the CPU time and
    peak RSS that ``wait4`` reports are the command's own, not inherited from this process."""
    with (
        tempfile.TemporaryFile("w+") as out,
        tempfile.TemporaryFile("w+") as err,
        tempfile.TemporaryDirectory(prefix="bench-measure-") as tmp,
    ):
        report = Path(tmp) / "report.json"
        # -I -S: no site-packages, no environment-driven imports, so the launcher stays small.
        launcher = [sys.executable, "-I", "-S", str(_LAUNCHER), str(report)]
        done = subprocess.run(  # noqa: S603 - our own commands
            [*launcher, *args], env=env, cwd=cwd, stdout=out, stderr=err, check=False
        )
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        if done.returncode != 0 or not report.exists():
            return Measured(done.returncode or 1, 0.0, 0.0, 0.0, stdout, stderr)
        figures = json.loads(report.read_text(encoding="utf-8"))
        return Measured(
            returncode=figures["returncode"],
            wall=figures["wall"],
            cpu=figures["cpu"],
            peak_rss_mb=figures["peak_rss_mb"],
            stdout=stdout,
            stderr=stderr,
        )
