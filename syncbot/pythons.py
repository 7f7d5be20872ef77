"""The Pythons syncbot runs on, in one place: the package refuses any other on import, and `make`
runs this file with the interpreter it is about to use (`python syncbot/pythons.py --venv .venv`)
to refuse it, or to rebuild a .venv that another interpreter built (or that no longer runs).

Kept to the syntax and standard library of any Python 3.7+, so that an old or new interpreter
reaches the one clear line instead of a SyntaxError or a ResolutionImpossible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

# pyproject's requires-python says the same (a test holds them together).
OLDEST = (3, 11)
NEWEST = (3, 13)
# Exit code for a configuration error, as everywhere in syncbot.
EXIT_CONFIG = 2


def supported() -> str:
    """'3.11, 3.12 or 3.13'."""
    names = [f"{OLDEST[0]}.{minor}" for minor in range(OLDEST[1], NEWEST[1] + 1)]
    return ", ".join(names[:-1]) + " or " + names[-1]


def problem(version: tuple[int, ...], executable: str) -> str | None:
    """The one line that refuses this interpreter, or None when syncbot runs on it."""
    if OLDEST <= tuple(version[:2]) <= NEWEST:
        return None
    found = ".".join(str(part) for part in version[:3])
    return (
        f"syncbot needs Python {supported()}; {executable} is Python {found}. "
        f"Install one of those and point make at it, e.g. `make PYTHON=python{NEWEST[0]}."
        f"{NEWEST[1]} demo`."
    )


def _identity(python: str) -> str | None:
    """What tells interpreters apart: the installation a venv is built on, and its version.
    None when it does not run (a venv whose interpreter was removed or upgraded away)."""
    code = "import sys; print(sys.base_prefix, sys.version)"
    try:
        done = subprocess.run(  # noqa: S603 - the interpreters named by make's own settings
            [python, "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def prepare_venv(venv: str) -> str | None:
    """Make `venv` a virtual environment of the running interpreter: keep it when it is one,
    rebuild it when another interpreter built it or it no longer runs. Says why it rebuilt."""
    python = os.path.join(venv, "bin", "python")
    if os.path.exists(venv):
        built_by = _identity(python)
        if built_by == _identity(sys.executable):
            return None
        shutil.rmtree(venv)
        reason = (
            "its Python no longer runs"
            if built_by is None
            else f"it was built by Python {built_by.split(' ', 1)[1].split()[0]}"
        )
        note = f"Rebuilding {venv} for Python {sys.version.split()[0]}: {reason}."
    else:
        note = None
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)  # noqa: S603 - ours
    return note


def main(argv: list[str]) -> int:
    refusal = problem(sys.version_info[:3], sys.executable)
    if refusal is not None:
        print(refusal, file=sys.stderr)
        return EXIT_CONFIG
    if argv[:1] == ["--venv"] and len(argv) == 2:
        note = prepare_venv(argv[1])
        if note is not None:
            print(note, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
