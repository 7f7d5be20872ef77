"""PostgreSQL: the store when web and scheduled dynos run on separate machines."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
from psycopg import IsolationLevel
from psycopg.conninfo import conninfo_to_dict

from syncbot.errors import StoreError
from syncbot.store.backend import STREAM_BATCH, Cursor
from syncbot.store.base import Store
from syncbot.store.sql import SqlStore
from syncbot.store.staging import columns, stage
from syncbot.store.urls import redact, store_label

# The staging table's columns that are not TEXT (staging.py creates it), for a binary COPY.
_STAGED_TYPES = {
    "digest": "int8",
    "fresh": "bool",
    "valid": "bool",
    "inbound": "bool",
    "outbound": "bool",
    "created_at": "timestamptz",
}
# Advisory lock keys: fixed numbers derived from names, so every syncbot agrees on them.
RUN_LOCK_KEY = zlib.crc32(b"syncbot:run")
MIGRATE_LOCK_KEY = zlib.crc32(b"syncbot:migrate")


def _where(url: str) -> str:
    """The server and database a URL names, never its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return f"PostgreSQL at {store_label(url).partition('://')[2] or 'DATABASE_URL'}"
    host, port, name = (
        parts.get("host", "localhost"),
        parts.get("port", "5432"),
        parts.get("dbname", ""),
    )
    return f"PostgreSQL at {host}:{port}/{name}"


class PostgresStore(SqlStore):
    driver_error = psycopg.Error
    types: ClassVar[dict[str, str]] = {
        "ts": "TIMESTAMPTZ",
        "bool": "BOOLEAN",
        "bigint": "BIGINT",
        "serial": "BIGINT GENERATED ALWAYS AS IDENTITY",
    }

    def __init__(self, url: str) -> None:
        self._url = url
        self._where = _where(url)
        self._conn = self._connect()
        self._mutex = threading.Lock()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            reason = redact(str(exc), self._url).strip().splitlines()[0]
            raise StoreError(
                f"cannot connect to {self._where} ({reason}); check DATABASE_URL and that "
                "the server is up"
            ) from None
        return conn

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Cursor]:
        with self._mutex:
            if self._conn.closed:
                # The server dropped the connection (a restart, a failover): the call that
                # noticed failed, and the calls after it get a new connection.
                self._conn = self._connect()
            # Reads take one snapshot, so the inventory and the source states always match.
            # Writes must not: their snapshot would predate the advisory lock they wait for,
            # and they would miss what the writer before them committed (a concurrent
            # `migrate` would create the tables again).
            self._conn.isolation_level = (
                IsolationLevel.READ_COMMITTED if write else IsolationLevel.REPEATABLE_READ
            )
            try:
                with self._conn.transaction(), self._conn.cursor() as cur:
                    if write:
                        # Serializes schema upgrades and run commits across processes.
                        cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK_KEY,))
                    yield cur
            except psycopg.OperationalError as exc:
                raise StoreError(f"{self._where}: {redact(str(exc), self._url)}") from None

    def interrupt(self) -> None:
        # A cancel request on a connection of its own: safe from another thread, and it ends
        # a statement that waits for a lock as well as one that works.
        self._conn.cancel_safe()

    @contextmanager
    def statements(self) -> Iterator[Cursor]:
        with self._mutex:
            if self._conn.closed:
                self._conn = self._connect()
            try:
                # The connection is in autocommit mode: each statement is its own transaction.
                with self._conn.cursor() as cur:
                    yield cur
            except psycopg.OperationalError as exc:
                raise StoreError(f"{self._where}: {redact(str(exc), self._url)}") from None

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    def insert_id(self, cur: Cursor, statement: str, params: Sequence[Any], *, key: str) -> int:
        cur.execute(f"{self.sql(statement)} RETURNING {key}", params)
        return int(cur.fetchone()[0])

    def to_db_time(self, value: dt.datetime | None) -> Any:
        return value

    def from_db_time(self, value: Any) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        return value.astimezone(dt.UTC)

    def stream(self, cur: Cursor, statement: str, params: Sequence[Any]) -> Iterator[list[Any]]:
        del cur  # the transaction's connection is ours while the mutex is held
        # A server-side cursor: a client-side one would receive every row before the first.
        with self._conn.cursor(name="syncbot_stream") as named:
            named.execute(statement, params)
            while batch := named.fetchmany(STREAM_BATCH):
                yield batch

    def stage_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        # COPY: at 100,000 rows a fifth of the wall time of INSERTs and a thirtieth of their
        # CPU. It cannot skip a key staged before, so a batch with one (a number listed twice,
        # as a listing shifted between pages) is undone to its savepoint and inserted row by
        # row instead, keeping the number's first row as SQLite does.
        with self._staging() as cur:
            try:
                with self._conn.transaction(), self._conn.cursor() as copying:
                    shapes: dict[tuple[str, ...], list[Sequence[Any]]] = {}
                    for row in rows:
                        shapes.setdefault(columns(row), []).append(row)
                    for names, shape in shapes.items():
                        self._copy(copying, names, shape)
            except psycopg.errors.UniqueViolation:
                stage(self, cur, rows)

    @staticmethod
    def _copy(
        cur: psycopg.Cursor[Any], names: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        statement = f"COPY staged ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
        with cur.copy(statement) as copy:
            copy.set_types([_STAGED_TYPES.get(name, "text") for name in names])
            for row in rows:
                copy.write_row(row)

    def binary(self, column: str) -> str:
        # "C" compares bytes, and UTF-8 bytes order as code points do.
        return f'{column} COLLATE "C"'

    def has_table(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s)", (name,))
        row = cur.fetchone()
        return row is not None and row[0] is not None

    @contextmanager
    def run_lock(self) -> Iterator[bool]:
        # A session lock on a connection of its own: if this process dies, the server ends
        # the session and the lock goes with it.
        conn = self._connect()
        try:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,)).fetchone()
            acquired = bool(row and row[0])
            try:
                yield acquired
            finally:
                # A connection lost meanwhile took the lock with it: nothing left to release.
                if acquired:
                    with contextlib.suppress(psycopg.Error):
                        conn.execute("SELECT pg_advisory_unlock(%s)", (RUN_LOCK_KEY,))
        finally:
            conn.close()

    def run_lock_since(self) -> dt.datetime | None:
        # The lock's session was opened to take it, so the session's start is the lock's.
        with self.transaction() as cur:
            cur.execute(
                "SELECT a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = 0 "
                "AND l.objid::bigint = %s AND l.objsubid = 1 "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                (RUN_LOCK_KEY,),
            )
            row = cur.fetchone()
        return None if row is None else self.from_db_time(row[0])

    @property
    def url(self) -> str | None:
        return self._url

    @contextmanager
    def reader(self) -> Iterator[Store]:
        store = PostgresStore(self._url)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        self._conn.close()
