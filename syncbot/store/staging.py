"""A run's listings staged in the store as they arrive.

Each page's numbers land in ``staged``, a TEMP table of the store's own connection, in batches
written by one thread so the event loop never waits for the database (PostgreSQL's store
writes them by COPY). The commit then works out the run's diff there (``reconcile``). No step
holds the inventory in Python; a killed run leaves nothing behind, since TEMP tables die with
their connection.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from syncbot.models import PhoneNumber

if TYPE_CHECKING:
    from syncbot.store.backend import Cursor
    from syncbot.store.sql import SqlStore

# A number's listed fields: what a fresh staged row carries and a commit writes.
LISTED = (
    "phone_number",
    "valid",
    "country_code",
    "number_type",
    "carrier",
    "status",
    "provider_status",
    "agent_id",
    "label",
    "inbound",
    "outbound",
    "created_at",
)
_STAGED_COLUMNS = ("source", "account", "number_id", "digest", "fresh", *LISTED)
# A kept row names its number only: the stored row stands, unchanged since the last good sync.
_KEPT_COLUMNS = _STAGED_COLUMNS[:5]
_CREATED_AT = 3 + LISTED.index("created_at")
# Rows handed to the writer thread at once: one transaction each.
BATCH = 20000

# `fresh` rows were validated and normalized this run; the others matched a stored digest.
_CREATE = (
    """CREATE TEMP TABLE IF NOT EXISTS staged (
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        number_id TEXT NOT NULL,
        digest {bigint} NOT NULL,
        fresh {bool} NOT NULL,
        phone_number TEXT,
        valid {bool},
        country_code TEXT,
        number_type TEXT,
        carrier TEXT,
        status TEXT,
        provider_status TEXT,
        agent_id TEXT,
        label TEXT,
        inbound {bool},
        outbound {bool},
        created_at {ts},
        PRIMARY KEY (source, account, number_id)
    )""",
    # This run's sources: `ok` ones update their rows, `failed` ones keep theirs, stale; only
    # a `complete` listing removes the numbers it lacks.
    """CREATE TEMP TABLE IF NOT EXISTS run_sources (
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        complete {bool} NOT NULL,
        PRIMARY KEY (source, account)
    )""",
    # Stored numbers listed under a new id (same E.164 number, same account): the old id.
    """CREATE TEMP TABLE IF NOT EXISTS rekeys (
        source TEXT NOT NULL,
        account TEXT NOT NULL,
        old_id TEXT NOT NULL,
        new_id TEXT NOT NULL,
        PRIMARY KEY (source, account, old_id)
    )""",
)
# A staged row that only holds its number's place: the record was listed, with its id, but
# failed validation. Its stored row stands as it was; it is never removed for that.
HELD = 0


def prepare(store: SqlStore, cur: Cursor) -> None:
    """Create this connection's staging tables, empty."""
    for statement in _CREATE:
        cur.execute(statement.format(**store.types))
    for table in ("staged", "run_sources", "rekeys"):
        cur.execute(f"DELETE FROM {table}")


def listed_values(n: PhoneNumber) -> tuple[Any, ...]:
    """A number's key and ``LISTED`` fields: what a worker process hands back, picklable."""
    return (*n.key, *n.listed())


class Staging:
    """One run's numbers on their way into the store, and the digests that let unchanged
    records skip validation and normalization."""

    def __init__(self, store: SqlStore, known: array[int]) -> None:
        self._store = store
        # Sorted digests of the stored records: 8 bytes a number, where a set would take 60.
        self._known = known
        self._pending: list[tuple[Any, ...]] = []
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncbot-staging")
        self._writes: list[Future[None]] = []
        self.held = 0

    def known(self, digest: int) -> bool:
        """Whether a stored number's raw record had this digest when last listed."""
        at = bisect_left(self._known, digest)
        return at < len(self._known) and self._known[at] == digest

    def keep(self, source: str, account: str, number_id: str, digest: int) -> None:
        """Stage a number whose record is unchanged: its stored row stands."""
        self._pending.append((source, account, number_id, digest, False))
        if len(self._pending) >= BATCH:
            self.flush()

    def hold(self, source: str, account: str, number_id: str) -> None:
        """Stage a number whose record was listed but failed validation: its stored row, if
        any, stands as it was. Call once the listing is done, so that a valid record of the
        same id listed anywhere in it wins."""
        self.held += 1
        self.keep(source, account, number_id, HELD)

    def add(self, n: PhoneNumber, digest: int) -> None:
        """Stage a new or changed number, as normalized from its record."""
        self.add_values(listed_values(n), digest)

    def add_values(self, values: Sequence[Any], digest: int) -> None:
        """``add`` for a number's ``listed_values``."""
        created_at = self._store.to_db_time(values[_CREATED_AT])
        self._pending.append(
            (
                *values[:3],
                digest,
                True,
                *values[3:_CREATED_AT],
                created_at,
                *values[_CREATED_AT + 1 :],
            )
        )
        if len(self._pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Hand the pending rows to the writer thread; returns at once."""
        if self._pending:
            rows, self._pending = self._pending, []
            self._writes.append(self._writer.submit(self._store.stage_rows, rows))

    def discard(self, source: str, account: str) -> None:
        """Unstage everything one account staged so far (returns at once; in order with the
        batches before and after)."""
        self.flush()
        self._writes.append(self._writer.submit(self._store.unstage, source, account))

    def count(self, source: str, account: str) -> int:
        """The unique numbers staged for one account in the batches flushed so far (blocks;
        safe from another thread, as it leaves the pending rows alone)."""
        # The writer takes its work in order: this runs after every batch handed over before.
        return self._writer.submit(self._store.staged_count, source, account).result()

    def settle(self) -> None:
        """Wait for every batch to be written; raises the first write's error (blocks)."""
        self.flush()
        writes, self._writes = self._writes, []
        for write in writes:
            write.result()

    def close(self) -> None:
        self._writer.shutdown(wait=True, cancel_futures=True)


def columns(row: Sequence[Any]) -> tuple[str, ...]:
    """The staged columns a row fills: a kept row its five, a fresh one all of them (binding
    the seventeen empty ones of kept rows too made up a third of an unchanged sync's staging)."""
    return _KEPT_COLUMNS if len(row) == len(_KEPT_COLUMNS) else _STAGED_COLUMNS


def stage(store: SqlStore, cur: Cursor, rows: Sequence[Sequence[Any]]) -> None:
    """Insert staged rows in their order; a number staged before keeps its first row."""
    start = 0
    while start < len(rows):
        width = len(rows[start])
        end = start
        while end < len(rows) and len(rows[end]) == width:
            end += 1
        cur.executemany(
            store.sql(
                f"INSERT INTO staged ({', '.join(columns(rows[start]))}) "
                f"VALUES ({', '.join('?' * width)}) "
                "ON CONFLICT (source, account, number_id) DO NOTHING"
            ),
            rows[start:end],
        )
        start = end


def digests(cur: Cursor) -> array[int]:
    """The stored digests, sorted, read a slice at a time."""
    out: array[int] = array("q")
    cur.execute("SELECT digest FROM numbers WHERE digest IS NOT NULL ORDER BY digest")
    for (value,) in _rows(cur):
        out.append(value)
    return out


def _rows(cur: Cursor) -> Iterator[Any]:
    while rows := cur.fetchmany(10_000):
        yield from rows
