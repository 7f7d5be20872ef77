"""Python 3.11 to 3.13: what each of them is told, and how `make` keeps .venv on the one asked."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from syncbot.pythons import NEWEST, OLDEST, problem

ROOT = Path(__file__).resolve().parent.parent
PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def interpreter(version: str) -> str:
    """A Python `version` (e.g. '3.10') from pyenv, as .ci/run finds them; skip without one."""
    found = sorted(glob.glob(str(PYENV_VERSIONS / f"{version}.*" / "bin" / "python")))
    if not found:
        pytest.skip(f"no Python {version} installed under {PYENV_VERSIONS}")
    return found[-1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHON", "VENV", "MAKEFLAGS"}}
    return subprocess.run(  # noqa: S603 - our own commands
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_pyproject_python_version_and_tools_name_the_supported_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    oldest, newest = ".".join(map(str, OLDEST)), ".".join(map(str, NEWEST))
    assert project["project"]["requires-python"] == f">={oldest},<3.{NEWEST[1] + 1}"
    # Checked and pinned for the oldest: what passes there passes on the newer ones.
    assert (ROOT / ".python-version").read_text().strip() == oldest
    assert project["tool"]["ruff"]["target-version"] == f"py3{OLDEST[1]}"
    assert project["tool"]["mypy"]["python_version"] == oldest
    # CI runs the suite on both ends of the range.
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"python_for {oldest})" in ci
    assert f"python_for {newest})" in ci


@pytest.mark.parametrize("version", [(3, 10, 13), (3, 14, 0), (2, 7, 18)])
def test_an_unsupported_python_gets_one_line_naming_the_versions_that_work(
    version: tuple[int, int, int],
) -> None:
    line = problem(version, "/usr/bin/python3")
    assert line is not None
    assert "\n" not in line
    assert "needs Python 3.11, 3.12 or 3.13" in line
    assert f"/usr/bin/python3 is Python {'.'.join(map(str, version))}" in line


@pytest.mark.parametrize("version", [(3, 11, 0), (3, 12, 1), (3, 13, 9)])
def test_every_supported_python_is_accepted(version: tuple[int, int, int]) -> None:
    assert problem(version, "python3") is None


def test_syncbot_on_python_3_10_says_which_pythons_work_instead_of_an_import_error() -> None:
    python = interpreter("3.10")
    # The source tree on its path, as `python -m syncbot` from a checkout: its dependencies are
    # not even installed for 3.10, so only the guard coming first gives a clear answer.
    done = run(python, "-m", "syncbot", "sync")
    assert done.returncode == 2, done.stderr
    version = run(python, "-c", "import platform; print(platform.python_version())").stdout
    assert done.stderr.splitlines() == [
        f"syncbot needs Python 3.11, 3.12 or 3.13; {python} is Python {version.strip()}. "
        "Install one of those and point make at it, e.g. `make PYTHON=python3.13 demo`."
    ]
    assert "Traceback" not in done.stderr


def test_make_refuses_an_unsupported_python_before_building_anything(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    done = run(
        "make", "--no-print-directory", "setup", f"PYTHON={interpreter('3.10')}", f"VENV={venv}"
    )
    assert done.returncode != 0
    assert "syncbot needs Python 3.11, 3.12 or 3.13" in done.stderr
    assert "ResolutionImpossible" not in done.stderr + done.stdout
    assert not venv.exists()


def test_a_venv_built_by_another_python_or_broken_is_rebuilt_for_this_one(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(  # noqa: S603 - a real venv of another interpreter
        [interpreter("3.12"), "-m", "venv", "--without-pip", str(venv)], check=True
    )
    this = sys.version.split()[0]
    # What `make setup` runs first, with the interpreter it was given.
    done = run(sys.executable, "syncbot/pythons.py", "--venv", str(venv))
    assert done.returncode == 0, done.stderr
    assert f"Rebuilding {venv} for Python {this}: it was built by Python 3.12" in done.stderr
    rebuilt = run(str(venv / "bin" / "python"), "-c", "import sys, pip; print(sys.version)")
    assert rebuilt.stdout.split()[0] == this
    # Built by this Python: kept as it is.
    marker = venv / "kept"
    marker.touch()
    done = run(sys.executable, "syncbot/pythons.py", "--venv", str(venv))
    assert (done.returncode, done.stderr) == (0, "")
    assert marker.exists()
    # Its interpreter gone (removed, or upgraded away by the system): rebuilt.
    (venv / "bin" / "python").unlink()
    done = run(sys.executable, "syncbot/pythons.py", "--venv", str(venv))
    assert f"Rebuilding {venv} for Python {this}: its Python no longer runs." in done.stderr
    assert not marker.exists()
    assert run(str(venv / "bin" / "python"), "-c", "").returncode == 0


def test_make_clean_removes_what_make_and_the_sandboxes_made_but_keeps_the_store(
    tmp_path: Path,
) -> None:
    (tmp_path / "Makefile").write_text((ROOT / "Makefile").read_text())
    made = [".venv", ".venv-3.13", ".mypy_cache", "build", "syncbot.egg-info"]
    for name in made:
        (tmp_path / name).mkdir()
    for name in ["syncbot-demo.db", "syncbot-sandbox.db", "syncbot-sandbox.db-wal", "syncbot.db"]:
        (tmp_path / name).touch()
    done = run("make", "--no-print-directory", "clean", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Makefile", "syncbot.db"]
    assert "Kept syncbot.db: your store and its history" in done.stdout
