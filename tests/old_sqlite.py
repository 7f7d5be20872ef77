"""SQLite 3.31.1 (Ubuntu 20.04's), built once into build/ for the tests that prove the store on it.

Python's ``sqlite3`` module links ``libsqlite3.so.0`` dynamically, so a Python started with
``LD_LIBRARY_PATH`` pointing at this build runs on SQLite 3.31.1. Its source comes from the one
registry the tests can reach that still serves it: the npm package ``sqlite3`` 4.2.0 bundles
SQLite's own amalgamation tarball, checked here against its SHA-256. Anything missing (npm, a C
compiler, the registry) fails the build loudly: the tests that need it never skip.

``python -m tests.old_sqlite`` builds it and prints its directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "3.31.1"
_PACKAGE = "sqlite3@4.2.0"
_TARBALL = "package/deps/sqlite-autoconf-3310100.tar.gz"
_SHA256 = "62284efebc05a76f909c580ffa5c008a7d22a1287285d68b7825a2b6b51949ae"
_SOURCE = "sqlite-autoconf-3310100/sqlite3.c"
# Python's module calls sqlite3_serialize, which SQLite only had on request before 3.36.
# -O0: the build takes a third of the time, and the tests store a few hundred rows.
_CFLAGS = ("-shared", "-fPIC", "-O0", "-DSQLITE_THREADSAFE=1", "-DSQLITE_ENABLE_DESERIALIZE")
ROOT = Path(__file__).resolve().parent.parent / "build" / f"sqlite-{VERSION}"


class BuildError(RuntimeError):
    pass


def library_dir() -> Path:
    """The directory holding ``libsqlite3.so.0`` 3.31.1, built on first use."""
    ROOT.mkdir(parents=True, exist_ok=True)
    library = ROOT / "libsqlite3.so.0"
    # One build at a time: test sessions of several worktrees may start together.
    with (ROOT / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not library.is_file():
            _build(library)
    return ROOT


def _run(what: str, command: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603 - fixed commands
    except FileNotFoundError:
        raise BuildError(f"cannot build SQLite {VERSION}: {command[0]} is not installed") from None
    if done.returncode != 0:
        raise BuildError(
            f"cannot build SQLite {VERSION}: {what} failed ({done.returncode}):\n{done.stderr}"
        )
    return done.stdout


def _build(library: Path) -> None:
    with tempfile.TemporaryDirectory(dir=ROOT) as work:
        here = Path(work)
        packed = _run(f"npm pack {_PACKAGE}", ["npm", "pack", "--silent", _PACKAGE], here)
        with tarfile.open(here / packed.strip().splitlines()[-1]) as package:
            member = package.extractfile(_TARBALL)
            if member is None:
                raise BuildError(f"cannot build SQLite {VERSION}: {_PACKAGE} lacks {_TARBALL}")
            tarball = member.read()
        digest = hashlib.sha256(tarball).hexdigest()
        if digest != _SHA256:
            raise BuildError(
                f"cannot build SQLite {VERSION}: {_TARBALL} in {_PACKAGE} has SHA-256 {digest}, "
                f"not {_SHA256}"
            )
        with tarfile.open(fileobj=io.BytesIO(tarball)) as source:
            amalgamation = source.extractfile(_SOURCE)
            assert amalgamation is not None
            (here / "sqlite3.c").write_bytes(amalgamation.read())
        built = here / library.name
        _run(
            "compiling sqlite3.c",
            ["gcc", *_CFLAGS, "-Wl,-soname,libsqlite3.so.0", "-o", str(built), "sqlite3.c",
             "-lpthread", "-ldl", "-lm"],
            here,
        )  # fmt: skip
        built.replace(library)


if __name__ == "__main__":
    try:
        print(library_dir())
    except BuildError as exc:
        sys.exit(str(exc))
