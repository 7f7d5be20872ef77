"""PostgreSQL for the tests: a fresh database per test on 127.0.0.1:5432, and real triggers.

The store must behave the same on PostgreSQL as on SQLite, so a server that cannot be reached
fails the tests that need it, with what to do about it; they are never skipped.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from syncbot.store import open_store
from syncbot.store.sql import SqlStore

SERVER = "127.0.0.1:5432"
ADMIN_URL = f"postgresql://postgres@{SERVER}/test"
# The server trusts local connections and never asks for it, so tests can check that a
# password in DATABASE_URL reaches no log and no message.
PASSWORD = "pg-password-never-shown"
# An advisory lock key syncbot does not use (its keys are CRC-32s of names).
HOLD_KEY = 7_340_017


def connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip()
    pytest.fail(
        f"PostgreSQL is not reachable at {SERVER} (user postgres, database test): {reason}\n"
        "These tests need a real server and never skip: start it (`.ci/run` does), "
        "e.g. `pg_ctlcluster <version> main start`.",
        pytrace=False,
    )


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database, dropped afterwards; yields its URL the way Heroku writes it."""
    database = f"syncbot_test_{secrets.token_hex(6)}"
    name = sql.Identifier(database)
    with connect(ADMIN_URL) as admin:
        # Like Heroku Postgres, text sorts by a language's collation rather than by bytes; and
        # a TimeZone other than UTC shows that timestamps come back in UTC all the same.
        admin.execute(
            sql.SQL(
                "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            ).format(name)
        )
        admin.execute(sql.SQL("ALTER DATABASE {} SET timezone TO 'Asia/Kolkata'").format(name))
        try:
            yield f"postgres://postgres:{PASSWORD}@{SERVER}/{database}"
        finally:
            # FORCE ends what a killed syncbot process or a failed test left connected.
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))


BACKENDS = ("sqlite", "postgres")


@contextmanager
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A DATABASE_URL for an empty store of ``backend`` (one of ``BACKENDS``)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'syncbot.db'}"
        return
    with fresh_database() as url:
        yield url


@contextmanager
def migrated_store(backend: str, tmp_path: Path) -> Iterator[SqlStore]:
    """An empty, migrated store of ``backend`` (one of ``BACKENDS``), closed afterwards."""
    with store_url(backend, tmp_path) as url:
        opened = open_store(url)
        assert isinstance(opened, SqlStore)
        opened.migrate()
        try:
            yield opened
        finally:
            opened.close()


def fail_inserts(url: str, *, number_id: str) -> None:
    """Make the database itself reject the change row of ``number_id``.

    Change rows are written after the run, its numbers and the removals, so the commit fails
    half-way through its transaction.
    """
    with connect(url) as conn:
        conn.execute(
            "CREATE FUNCTION syncbot_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF NEW.number_id = TG_ARGV[0] THEN RAISE EXCEPTION 'disk on fire'; END IF; "
            "RETURN NEW; END $$"
        )
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER syncbot_test_fail BEFORE INSERT ON changes FOR EACH ROW "
                "EXECUTE FUNCTION syncbot_test_fail({})"
            ).format(sql.Literal(number_id))
        )


class CommitHold:
    """Commits stop at their first change row, transaction open, until ``release()``.

    A trigger waits for an advisory lock this object holds, so it holds commits made by any
    process, and ``wait_until_holding()`` sees one waiting in ``pg_locks``.
    """

    def __init__(self, url: str) -> None:
        self._conn = connect(url)
        self._conn.execute("SELECT pg_advisory_lock(%s)", (HOLD_KEY,))
        self._held = True
        self._conn.execute(
            "CREATE FUNCTION syncbot_test_hold() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN PERFORM pg_advisory_xact_lock_shared({HOLD_KEY}); RETURN NEW; END $$"
        )
        self._conn.execute(
            "CREATE TRIGGER syncbot_test_hold BEFORE INSERT ON changes FOR EACH ROW "
            "EXECUTE FUNCTION syncbot_test_hold()"
        )

    def wait_until_holding(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
                "AND NOT granted",
                (HOLD_KEY,),
            ).fetchone()
            if row and row[0]:
                return
            time.sleep(0.02)
        pytest.fail(f"no commit reached the held trigger within {timeout:g} s")

    def release(self) -> None:
        if self._held:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (HOLD_KEY,))
            self._held = False

    def close(self) -> None:
        self.release()
        # Waits for the commit it held, which may belong to a killed process, to end.
        self._conn.execute("DROP TRIGGER syncbot_test_hold ON changes")
        self._conn.close()


@contextmanager
def hold_commits(url: str) -> Iterator[CommitHold]:
    hold = CommitHold(url)
    try:
        yield hold
    finally:
        hold.close()
