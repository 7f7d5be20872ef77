"""SQLite: the embedded default, for a laptop or a single dyno."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
import re
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from syncbot.errors import ConfigError, StoreError
from syncbot.models import utc_now
from syncbot.store.backend import STREAM_BATCH, Cursor
from syncbot.store.base import Store
from syncbot.store.sql import SqlStore

MEMORY = ":memory:"
# Ubuntu 20.04's SQLite, the oldest syncbot's SQL is written and tested for (`make test` runs the
# store suite on it: tests/old_sqlite.py).
OLDEST = (3, 31, 0)
# ALTER TABLE ... DROP COLUMN came in SQLite 3.35; older ones rebuild the table.
_DROP_COLUMN = re.compile(r"ALTER TABLE (\w+) DROP COLUMN (\w+)")
# How long to wait on another process's hold of the database before giving up.
BUSY_SECONDS = 30.0


def library_problem() -> str | None:
    """Why the SQLite library this Python uses cannot hold the store, or None when it can."""
    if sqlite3.sqlite_version_info >= OLDEST:
        return None
    oldest = ".".join(map(str, OLDEST))
    return (
        f"this Python's SQLite library is version {sqlite3.sqlite_version}, older than "
        f"{oldest}, the oldest syncbot's SQL works on: run syncbot on a Python built with SQLite "
        f"{oldest} or later (Ubuntu 20.04 and Heroku-20 onwards), or set DATABASE_URL to a "
        "PostgreSQL database"
    )


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite://`` (in memory)."""
    rest = url.split(":", 1)[1]
    if rest in {"", "//", f"///{MEMORY}"}:
        return MEMORY
    if not rest.startswith("///"):
        raise ConfigError(
            f"DATABASE_URL {url!r} is not a SQLite URL syncbot understands: use "
            "sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    return rest[3:]


def check_directory(path: str, *, setting: str = "DATABASE_URL") -> None:
    """That SQLite can keep the store at ``path``: it writes the file and its -wal, -shm and
    .lock files beside it, so the directory must exist and take new files. Says so, naming
    ``setting`` (what chose the path), instead of SQLite's "unable to open database file"."""
    directory = Path(path).absolute().parent
    if not directory.is_dir():
        raise ConfigError(
            f"{setting} puts the SQLite store in {directory}, which does not exist: create it "
            f"(mkdir -p {directory}) or point {setting} at an existing directory"
        )
    try:
        probe, name = tempfile.mkstemp(dir=directory, prefix=".syncbot-write-check-")
    except OSError as exc:
        raise StoreError(
            f"cannot write the SQLite store {path}: its directory {directory} does not take "
            f"new files ({exc.strerror}), and SQLite keeps the store's -wal and -shm files "
            f"beside it. Make the directory writable, or point {setting} at one that is"
        ) from None
    os.close(probe)
    os.unlink(name)


class SqliteStore(SqlStore):
    driver_error = sqlite3.Error
    types: ClassVar[dict[str, str]] = {
        "ts": "TEXT",
        "bool": "INTEGER",
        "bigint": "INTEGER",
        "serial": "INTEGER",
    }

    def __init__(self, path: str) -> None:
        if problem := library_problem():
            raise StoreError(problem)
        self.path = path
        try:
            if path != MEMORY:
                check_directory(path)
            self._conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS
            )
            self._use_wal()
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store at {path!r}: {exc}") from None
        self._mutex = threading.Lock()
        self._memory_lock = threading.Lock()
        self._memory_since: dt.datetime | None = None
        self._lock_path = f"{path}.lock"

    def _use_wal(self) -> None:
        """WAL lets readers (the Slack app) see the last committed run while a sync writes.

        Switching a new database to WAL fails at once with "database is locked", without
        waiting out the busy timeout, while another process writes to it: two syncs started
        together on a new store (release and scheduler dynos) would see that. So wait here.
        """
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Cursor]:
        with self._mutex:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.rollback()
                raise
            finally:
                cur.close()

    def interrupt(self) -> None:
        self._conn.interrupt()

    @contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[None]:
        # SQLite's busy handler sleeps through an interrupt: shorten the busy timeout instead.
        with self._mutex:
            self._conn.execute(f"PRAGMA busy_timeout = {int(min(seconds, BUSY_SECONDS) * 1000)}")
        try:
            yield
        finally:
            with self._mutex:
                self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")

    @contextmanager
    def statements(self) -> Iterator[Cursor]:
        with self._mutex:
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def sql(self, statement: str) -> str:
        return statement

    def insert_id(self, cur: Cursor, statement: str, params: Sequence[Any], *, key: str) -> int:
        # RETURNING needs SQLite 3.35; the key is the rowid (an INTEGER PRIMARY KEY).
        del key
        cur.execute(statement, params)
        cur.execute("SELECT last_insert_rowid()")
        return int(cur.fetchone()[0])

    def run_migration(self, cur: Cursor, statement: str) -> None:
        drop = _DROP_COLUMN.fullmatch(statement)
        if drop and sqlite3.sqlite_version_info < (3, 35, 0):
            _drop_column(cur, drop[1], drop[2])
        else:
            super().run_migration(cur, statement)

    def to_db_time(self, value: dt.datetime | None) -> Any:
        return None if value is None else value.astimezone(dt.UTC).isoformat()

    def from_db_time(self, value: Any) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)

    def stream(self, cur: Cursor, statement: str, params: Sequence[Any]) -> Iterator[list[Any]]:
        cur.execute(statement, params)
        while batch := cur.fetchmany(STREAM_BATCH):
            yield batch

    def binary(self, column: str) -> str:
        # SQLite's default collation compares UTF-8 bytes, which orders as code points do.
        return column

    def has_table(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    @contextmanager
    def run_lock(self) -> Iterator[bool]:
        if self.path == MEMORY:
            acquired = self._memory_lock.acquire(blocking=False)
            try:
                if acquired:
                    self._memory_since = utc_now()
                yield acquired
            finally:
                if acquired:
                    self._memory_since = None
                    self._memory_lock.release()
            return
        # An OS file lock: the kernel drops it when the process dies, even by SIGKILL.
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in {errno.EWOULDBLOCK, errno.EAGAIN}:
                    raise
                yield False
                return
            # The file says since when it is held, for ``run_lock_since`` (and a curious human).
            os.ftruncate(fd, 0)
            os.pwrite(fd, utc_now().isoformat().encode(), 0)
            try:
                yield True
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def run_lock_since(self) -> dt.datetime | None:
        if self.path == MEMORY:
            return self._memory_since
        try:
            fd = os.open(self._lock_path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            if not text:
                return None
            # A run killed while holding the lock leaves its time behind: check it is held.
            # (This probe runs only then, so it never makes a starting sync find the lock taken.)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in {errno.EWOULDBLOCK, errno.EAGAIN}:
                    raise
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
            try:
                return dt.datetime.fromisoformat(text)
            except ValueError:
                return dt.datetime.fromtimestamp(os.fstat(fd).st_mtime, dt.UTC)
        finally:
            os.close(fd)

    @property
    def url(self) -> str | None:
        return None if self.path == MEMORY else f"sqlite:///{self.path}"

    @contextmanager
    def reader(self) -> Iterator[Store]:
        if self.path == MEMORY:
            # An in-memory database exists on this connection only.
            yield self
            return
        store = SqliteStore(self.path)
        try:
            yield store
        finally:
            store.close()

    def close(self) -> None:
        self._conn.close()


def _drop_column(cur: Cursor, table: str, column: str) -> None:
    """``ALTER TABLE table DROP COLUMN column`` the way SQLite's documentation says to do it
    before 3.35: a new table without the column, the rows copied over, the indexes made again.
    (A table another one references keeps its name through the RENAME.)"""
    cur.execute(f"PRAGMA table_info({table})")
    kept = [row for row in cur.fetchall() if row[1] != column]
    definitions = [
        f"{name} {kind}{' NOT NULL' if not_null else ''}"
        f"{'' if default is None else f' DEFAULT {default}'}"
        for _, name, kind, not_null, default, _ in kept
    ]
    key = [row[1] for row in sorted((r for r in kept if r[5]), key=lambda r: r[5])]
    if key:
        definitions.append(f"PRIMARY KEY ({', '.join(key)})")
    cur.execute(f"PRAGMA foreign_key_list({table})")
    references: dict[int, list[Any]] = {}
    for row in cur.fetchall():
        references.setdefault(row[0], []).append(row)
    for rows in references.values():
        definitions.append(
            f"FOREIGN KEY ({', '.join(r[3] for r in rows)}) "
            f"REFERENCES {rows[0][2]} ({', '.join(r[4] for r in rows)}) "
            f"ON UPDATE {rows[0][5]} ON DELETE {rows[0][6]}"
        )
    cur.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    )
    indexes = [row[0] for row in cur.fetchall()]
    columns = ", ".join(row[1] for row in kept)
    cur.execute(f"CREATE TABLE {table}_rebuilt ({', '.join(definitions)})")
    cur.execute(f"INSERT INTO {table}_rebuilt ({columns}) SELECT {columns} FROM {table}")  # noqa: S608 - the table's own columns
    cur.execute(f"DROP TABLE {table}")
    cur.execute(f"ALTER TABLE {table}_rebuilt RENAME TO {table}")
    for index in indexes:
        cur.execute(index)
