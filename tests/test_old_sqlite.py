"""The store on SQLite 3.31.1, Ubuntu 20.04's, where syntax of newer SQLites is a syntax error.

The store's own suite runs again in a Python that loads the SQLite library tests/old_sqlite.py
builds, and the tests below check that it really did.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from syncbot.cli.doctor import run_checks
from syncbot.errors import StoreError
from syncbot.settings import settings_from
from syncbot.store import open_store
from syncbot.store.sqlite import _drop_column
from tests import old_sqlite
from tests.procs import clean_env

ROOT = Path(__file__).resolve().parent.parent
# The store's suites on SQLite, every tests/test_*store*.py (their PostgreSQL half is the same
# SQL on another server, and runs in the main suite), and `syncbot forget`.
STORE_TESTS = (
    *sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("tests/test_*store*.py")),
    "tests/test_forget.py::test_forget_asks_first_then_removes_the_source_and_records_each_number",
)


@pytest.fixture(scope="module")
def old_env() -> dict[str, str]:
    """This environment, with Python's sqlite3 module loading SQLite 3.31.1."""
    directory = old_sqlite.library_dir()
    found = os.environ.get("LD_LIBRARY_PATH")
    path = str(directory) if not found else f"{directory}{os.pathsep}{found}"
    env = {**os.environ, "LD_LIBRARY_PATH": path}
    version = subprocess.run(
        [sys.executable, "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # A Python with SQLite linked in statically ignores LD_LIBRARY_PATH: then nothing here
    # would test the old library, so say so rather than pass.
    assert version == old_sqlite.VERSION, f"{sys.executable} does not load {directory}"
    return env


def test_the_store_suite_passes_on_sqlite_3_31(old_env: dict[str, str]) -> None:
    """IS DISTINCT FROM (3.39), RETURNING and DROP COLUMN (3.35) were syntax errors there: every
    migration and commit failed."""
    done = subprocess.run(  # noqa: S603 - our own suite
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-k", "not postgres",
         *STORE_TESTS],
        cwd=ROOT,
        env=old_env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"SQLite {old_sqlite.VERSION}" in done.stdout
    assert " passed" in done.stdout
    assert " skipped" not in done.stdout


def test_doctor_reports_the_sqlite_library_version(old_env: dict[str, str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncbot", "doctor"],
        cwd=tmp_path,
        env=clean_env(tmp_path, **{k: v for k, v in old_env.items() if k == "LD_LIBRARY_PATH"}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert "✓ SQLite: library version 3.31.1 (3.31.0 or later needed)" in done.stdout


def test_an_older_sqlite_library_is_refused_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # No older SQLite can be built here; the refusal reads only these two attributes.
    monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 22, 0))
    monkeypatch.setattr(sqlite3, "sqlite_version", "3.22.0")
    url = f"sqlite:///{tmp_path / 'syncbot.db'}"

    with pytest.raises(StoreError, match=r"version 3\.22\.0, older than 3\.31\.0") as refused:
        open_store(url)
    assert "DATABASE_URL to a PostgreSQL database" in str(refused.value)
    [check] = [c for c in run_checks(settings_from({"DATABASE_URL": url}), store_label="x")
               if c.name in {"SQLite", "store"}]  # fmt: skip
    assert (check.ok, check.name, check.detail) == (False, "SQLite", str(refused.value))
    assert not (tmp_path / "syncbot.db").exists()


def test_dropping_a_column_by_rebuilding_keeps_the_rows_key_constraints_and_indexes(
    tmp_path: Path,
) -> None:
    """How SQLite before 3.35 drops a column (migration 3), checked on this one's library."""
    with closing(sqlite3.connect(tmp_path / "t.db", isolation_level=None)) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("CREATE TABLE runs (run_id INTEGER PRIMARY KEY)")
        conn.execute(
            "CREATE TABLE t (a TEXT NOT NULL, b TEXT NOT NULL, gone TEXT, c INTEGER DEFAULT 7, "
            "run_id INTEGER REFERENCES runs (run_id) ON DELETE CASCADE, PRIMARY KEY (b, a))"
        )
        conn.execute("CREATE INDEX t_c ON t (c)")
        conn.execute("INSERT INTO runs VALUES (1)")
        conn.execute("INSERT INTO t VALUES ('a1', 'b1', 'x', 1, 1), ('a2', 'b1', NULL, 2, NULL)")

        _drop_column(conn.cursor(), "t", "gone")

        info = conn.execute("PRAGMA table_info(t)").fetchall()
        assert [row[1:] for row in info] == [
            ("a", "TEXT", 1, None, 2),
            ("b", "TEXT", 1, None, 1),
            ("c", "INTEGER", 0, "7", 0),
            ("run_id", "INTEGER", 0, None, 0),
        ]
        assert conn.execute("SELECT * FROM t ORDER BY a").fetchall() == [
            ("a1", "b1", 1, 1),
            ("a2", "b1", 2, None),
        ]
        assert [row[1] for row in conn.execute("PRAGMA index_list(t)")] == [
            "t_c",
            "sqlite_autoindex_t_1",
        ]
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO t (a, b) VALUES ('a1', 'b1')")
        conn.execute("DELETE FROM runs")
        assert conn.execute("SELECT a FROM t").fetchall() == [("a2",)]
