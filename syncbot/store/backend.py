"""The hooks a DB-API backend supplies: its cursor, transactions, types, placeholders and times.

``SqlBackend`` declares them, and the SQL both backends share (``reads.py``, ``sql.py``) is
written against it alone; ``postgres.py`` and ``sqlite.py`` fill them in. Apart so that the
shared reads and writes can each live in a module of their own.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from syncbot.store.base import Store


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]], /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int, /) -> list[Any]: ...


# Rows a streamed read holds at once: enough to amortize each fetch, little beside 500,000.
STREAM_BATCH = 2_000


class SqlBackend(Store):
    """What each DB-API backend supplies; ``SqlStore`` builds the store on it."""

    types: ClassVar[dict[str, str]]
    # The driver's base exception (DB-API ``Error``), turned into StoreError at the interface.
    driver_error: ClassVar[type[Exception]]

    @abstractmethod
    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Cursor]:
        """A cursor inside one transaction, committed on success and rolled back on error."""

    @abstractmethod
    @contextmanager
    def statements(self) -> Iterator[Cursor]:
        """A cursor whose statements each commit on their own, outside any transaction: no
        wait for a run's commit (PostgreSQL's write transactions queue behind it)."""

    @abstractmethod
    def sql(self, statement: str) -> str:
        """Translate ``?`` placeholders into the driver's."""

    @abstractmethod
    def insert_id(self, cur: Cursor, statement: str, params: Sequence[Any], *, key: str) -> int:
        """Run an INSERT of one row (``?`` placeholders) and return its generated ``key``."""

    def run_migration(self, cur: Cursor, statement: str) -> None:
        """Run one statement of a migration, its types filled in."""
        cur.execute(statement.format(**self.types))

    @abstractmethod
    def to_db_time(self, value: dt.datetime | None) -> Any: ...

    @abstractmethod
    def from_db_time(self, value: Any) -> dt.datetime | None: ...

    @abstractmethod
    def has_table(self, cur: Cursor, name: str) -> bool: ...

    @abstractmethod
    def stream(self, cur: Cursor, statement: str, params: Sequence[Any]) -> Iterator[list[Any]]:
        """A query's rows in batches of ``STREAM_BATCH``, fetched as they are read.

        ``cur`` is the transaction's cursor: the rows belong to its snapshot.
        """

    @abstractmethod
    def binary(self, column: str) -> str:
        """``column`` compared by code point, the order Python sorts strings in."""
