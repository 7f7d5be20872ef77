"""The SQL both backends share: schema, row mapping and the run commit.

Backends differ only in how they connect, their column types, their placeholders and their
lock; everything that decides what is stored lives here once.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol

from syncbot.costs import Tally
from syncbot.errors import StoreError
from syncbot.followups import (
    ActionResult,
    FollowUp,
    FollowUpAction,
    FollowUpRef,
    Person,
    check_expectation,
)
from syncbot.models import (
    Change,
    ChangeKind,
    Key,
    PhoneNumber,
    RunRecord,
    RunResult,
    SheetState,
    SourceState,
    utc_now,
)
from syncbot.store import followups as followup_sql
from syncbot.store.base import NumberBatch, Store
from syncbot.store.forget import forget_rows
from syncbot.store.schema import MIGRATIONS
from syncbot.store.staging import Staging, apply_run, digests, prepare, stage, unlisted


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


_LOADED_COLUMNS = (
    "source, account, number_id, phone_number, valid, country_code, number_type, carrier, "
    "status, provider_status, agent_id, label, inbound, outbound, created_at, first_seen_at, "
    "unassigned_since"
)
# Changes read from the store a batch at a time.
_CHANGES_BATCH = 1000
_CHANGE_COLUMNS = (
    "kind, source, account, number_id, phone_number, agent_before, agent_after, label, at, "
    "run_id, previous_id"
)


def _shared(
    column: Sequence[Any], shared: dict[Any, Any], convert: Callable[[Any], Any]
) -> list[Any]:
    """``column``'s values converted, each distinct one once, as shared objects."""
    for raw in set(column).difference(shared):
        shared[raw] = convert(raw)
    return list(map(shared.__getitem__, column))


def _same(value: Any) -> Any:
    return value


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


class _DryRun(Exception):
    """Rolls a dry run's transaction back once its figures are known."""


class SqlStore(Store):
    """A DB-API backed store; subclasses supply the connection, types and lock."""

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

    # -- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.transaction() as cur:
            return self._version(cur)

    def _version(self, cur: Cursor) -> int:
        if not self.has_table(cur, "schema_version"):
            return 0
        cur.execute("SELECT MAX(version) FROM schema_version")
        row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> int:
        try:
            return self._migrate()
        except self.driver_error as exc:
            raise StoreError(
                f"the store's schema could not be created or upgraded ({exc})"
            ) from None

    def _migrate(self) -> int:
        with self.transaction(write=True) as cur:
            if not self.has_table(cur, "schema_version"):
                cur.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            current = self._version(cur)
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"the store's schema is version {current}, newer than this syncbot knows "
                    f"({len(MIGRATIONS)}); upgrade syncbot"
                )
            for version, statements in enumerate(MIGRATIONS[current:], start=current + 1):
                for statement in statements:
                    self.run_migration(cur, statement)
                cur.execute(self.sql("INSERT INTO schema_version (version) VALUES (?)"), (version,))
            return len(MIGRATIONS)

    def require_schema(self) -> None:
        version = self.schema_version()
        if version < len(MIGRATIONS):
            raise StoreError(
                f"the store's schema is at version {version} of {len(MIGRATIONS)}: "
                "run `syncbot migrate` first"
            )

    # -- reads ----------------------------------------------------------------------------

    def source_states(self) -> list[SourceState]:
        with self.transaction() as cur:
            return self._states(cur)

    def _states(self, cur: Cursor) -> list[SourceState]:
        cur.execute(
            "SELECT source, account, status, last_ok_at, last_attempt_at, error FROM source_states"
        )
        states = [
            SourceState(r[0], r[1], r[2], self.from_db_time(r[3]), self._time(r[4]), r[5])
            for r in cur.fetchall()
        ]
        # In Python for one order on every backend, as in load_numbers.
        return sorted(states, key=lambda state: (state.source, state.account))

    def sheet_state(self) -> SheetState | None:
        with self.transaction() as cur:
            cur.execute(
                "SELECT status, last_ok_at, last_attempt_at, error FROM sheet_state WHERE id = 1"
            )
            row = cur.fetchone()
        if row is None:
            return None
        return SheetState(row[0], self.from_db_time(row[1]), self._time(row[2]), row[3])

    def _time(self, value: Any) -> dt.datetime:
        parsed = self.from_db_time(value)
        assert parsed is not None
        return parsed

    def counts_by_source(self) -> dict[str, int]:
        with self.transaction() as cur:
            cur.execute("SELECT source, account, COUNT(*) FROM numbers GROUP BY source, account")
            return {f"{r[0]}/{r[1]}": int(r[2]) for r in cur.fetchall()}

    def load_numbers(self) -> list[PhoneNumber]:
        with self.transaction() as cur:
            states = {s.key: s for s in self._states(cur)}
            cur.execute(f"SELECT {_LOADED_COLUMNS} FROM numbers")  # noqa: S608 - fixed columns
            rows = cur.fetchall()
        numbers = self._numbers(rows, states)
        # Sorted here rather than by ORDER BY: PostgreSQL sorts text by the database's collation
        # (en_US on Heroku) and SQLite by bytes, so only Python gives one order on every backend,
        # the order the sheet and the answers list numbers in.
        return sorted(numbers, key=lambda n: (n.source, n.account, n.phone_number, n.number_id))

    def tallies(self, *, idle_since: dt.datetime) -> list[Tally]:
        with self.transaction() as cur:
            cur.execute(
                self.sql(
                    "SELECT source, account, country_code, number_type, status, "
                    "CASE WHEN status = 'unassigned' AND unassigned_since <= ? THEN 1 ELSE 0 END, "
                    "COUNT(*) FROM numbers GROUP BY 1, 2, 3, 4, 5, 6"
                ),
                (self.to_db_time(idle_since),),
            )
            rows = cur.fetchall()
        return [
            Tally(source, account, country, kind, status == "unassigned", bool(idle), int(count))
            for source, account, country, kind, status, idle, count in rows
        ]

    def _numbers(self, rows: list[Any], states: dict[str, SourceState]) -> list[PhoneNumber]:
        """Rows to records, sharing one object per repeated value.

        The Slack app keeps the inventory in memory; 100,000 rows repeat a few sources,
        statuses, countries, agents and run times, and sharing them keeps a third less.
        """
        shared: dict[object, Any] = {}

        def one(value: object) -> Any:
            return shared.setdefault(value, value)

        def when(value: object) -> dt.datetime | None:
            if value is None:
                return None
            found = shared.get(("time", value))
            if found is None:
                found = shared[("time", value)] = self.from_db_time(value)
            return found

        out = []
        for r in rows:
            state = states.get(f"{r[0]}/{r[1]}")
            out.append(
                PhoneNumber(
                    one(r[0]),
                    one(r[1]),
                    r[2],
                    r[3],
                    bool(r[4]),
                    one(r[5]),
                    one(r[6]),
                    one(r[7]),
                    one(r[8]),
                    one(r[9]),
                    one(r[10]),
                    r[11],
                    None if r[12] is None else bool(r[12]),
                    None if r[13] is None else bool(r[13]),
                    self.from_db_time(r[14]),
                    when(r[15]),
                    state.last_ok_at if state else None,
                    when(r[16]),
                    state.stale if state else False,
                )
            )
        return out

    def _run(self, row: Sequence[Any]) -> RunRecord:
        return RunRecord(
            run_id=int(row[0]),
            status=row[1],
            started_at=self._time(row[2]),
            finished_at=self._time(row[3]),
            result=json.loads(row[4]),
        )

    def latest_run(self) -> RunRecord | None:
        runs = self.recent_runs(1)
        return runs[0] if runs else None

    def recent_runs(self, limit: int) -> list[RunRecord]:
        with self.transaction() as cur:
            cur.execute(
                self.sql(
                    "SELECT run_id, status, started_at, finished_at, result FROM runs "
                    "ORDER BY run_id DESC LIMIT ?"
                ),
                (limit,),
            )
            return [self._run(row) for row in cur.fetchall()]

    def run_before(self, at: dt.datetime) -> RunRecord | None:
        with self.transaction() as cur:
            cur.execute(
                self.sql(
                    "SELECT run_id, status, started_at, finished_at, result FROM runs "
                    "WHERE started_at <= ? ORDER BY run_id DESC LIMIT 1"
                ),
                (self.to_db_time(at),),
            )
            row = cur.fetchone()
        return None if row is None else self._run(row)

    def changes(self, run_id: int) -> list[Change]:
        return list(self.iter_changes(run_id))

    def iter_changes(self, run_id: int) -> Iterator[Change]:
        after = -1
        while True:
            with self.transaction() as cur:
                cur.execute(
                    self.sql(
                        f"SELECT {_CHANGE_COLUMNS}, change_id FROM changes "  # noqa: S608 - fixed columns
                        "WHERE run_id = ? AND change_id > ? ORDER BY change_id LIMIT ?"
                    ),
                    (run_id, after, _CHANGES_BATCH),
                )
                rows = cur.fetchall()
            yield from (self._change(r) for r in rows)
            if len(rows) < _CHANGES_BATCH:
                return
            after = int(rows[-1][11])

    def changes_since(self, at: dt.datetime) -> list[Change]:
        with self.transaction() as cur:
            # Through the runs (few, and run_id is indexed on changes) rather than a scan of
            # every change ever recorded for its time.
            cur.execute(
                self.sql(
                    f"SELECT {_CHANGE_COLUMNS} FROM changes WHERE run_id >= "  # noqa: S608 - fixed columns
                    "(SELECT MIN(run_id) FROM runs WHERE started_at >= ?) ORDER BY change_id DESC"
                ),
                (self.to_db_time(at),),
            )
            return [self._change(r) for r in cur.fetchall()]

    def _change(self, r: Sequence[Any]) -> Change:
        return Change(
            ChangeKind(r[0]),
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            self._time(r[8]),
            int(r[9]),
            r[10],
        )

    def scan_numbers(self) -> Iterator[NumberBatch]:
        # Sorted by code point in the database, as load_numbers sorts in Python, rather than by
        # the database's collation (en_US on Heroku's PostgreSQL).
        order = ", ".join(
            self.binary(c) for c in ("source", "account", "phone_number", "number_id")
        )
        statement = f"SELECT {_LOADED_COLUMNS} FROM numbers ORDER BY {order}"  # noqa: S608 - fixed columns
        # Converted a column at a time, repeated values once: a record per row would cost
        # seconds at 500,000 numbers. Ids, phone numbers, labels and creation times are mostly
        # distinct, so they are not shared.
        texts: dict[Any, Any] = {}
        flags: dict[Any, bool | None] = {}
        times: dict[Any, dt.datetime | None] = {}
        with self.transaction() as cur:
            for rows in self.stream(cur, statement, ()):
                c = list(zip(*rows, strict=True))
                yield NumberBatch(
                    source=_shared(c[0], texts, _same),
                    account=_shared(c[1], texts, _same),
                    number_id=c[2],
                    phone_number=c[3],
                    valid=list(map(bool, c[4])),
                    country_code=_shared(c[5], texts, _same),
                    number_type=_shared(c[6], texts, _same),
                    carrier=_shared(c[7], texts, _same),
                    status=_shared(c[8], texts, _same),
                    provider_status=_shared(c[9], texts, _same),
                    agent_id=_shared(c[10], texts, _same),
                    label=c[11],
                    inbound=_shared(c[12], flags, _flag),
                    outbound=_shared(c[13], flags, _flag),
                    created_at=list(map(self.from_db_time, c[14])),
                    first_seen_at=_shared(c[15], times, self.from_db_time),
                    unassigned_since=_shared(c[16], times, self.from_db_time),
                )

    # -- writes ---------------------------------------------------------------------------

    def staging(self) -> Staging:
        with self.transaction() as cur:
            prepare(self, cur)
            known = digests(cur)
        return Staging(self, known)

    @contextmanager
    def _staging(self) -> Iterator[Cursor]:
        """A staging transaction, its driver's errors said as what they are."""
        try:
            with self.transaction() as cur:
                yield cur
        except self.driver_error as exc:
            raise StoreError(
                f"the store could not stage this run's listings ({type(exc).__name__}: {exc}); "
                "nothing was committed, the previous snapshot is unchanged and the next run "
                "will try again"
            ) from None

    def stage_rows(self, rows: Sequence[Sequence[Any]]) -> None:
        with self._staging() as cur:
            stage(self, cur, rows)

    def unstage(self, source: str, account: str) -> None:
        with self._staging() as cur:
            cur.execute(
                self.sql("DELETE FROM staged WHERE source = ? AND account = ?"), (source, account)
            )

    def staged_count(self, source: str, account: str) -> int:
        with self._staging() as cur:
            cur.execute(
                self.sql("SELECT COUNT(*) FROM staged WHERE source = ? AND account = ?"),
                (source, account),
            )
            return int(cur.fetchone()[0])

    def unlisted(self, staging: Staging) -> dict[str, int]:
        try:
            with self.transaction(write=True) as cur:
                return unlisted(cur, held=staging.held > 0)
        except self.driver_error as exc:
            raise StoreError(
                f"the store could not compare this run's listings with the stored numbers "
                f"({exc}); nothing was committed and the next run will try again"
            ) from None

    def commit_run(
        self, result: RunResult, *, dry_run: bool = False, seconds: float | None = None
    ) -> int | None:
        with self._cut_off(seconds) as cut_at:
            try:
                with self.transaction(write=True) as cur:
                    run_id = apply_run(self, cur, result)
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                result.run_id = None
                return None
            except (self.driver_error, StoreError) as exc:
                if seconds is not None and time.monotonic() >= cut_at:
                    raise StoreError(
                        f"the store did not finish this run's commit within the {seconds:.0f} s "
                        "left of SYNC_DEADLINE_SECONDS (the database was slow or locked by "
                        "another client); it was rolled back, the previous snapshot is "
                        "unchanged and the next run will try again"
                    ) from None
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(
                    f"the store could not commit this run ({exc}); the previous snapshot is "
                    "unchanged and the next run will try again"
                ) from None
        return run_id

    @contextmanager
    def _cut_off(self, seconds: float | None) -> Iterator[float]:
        """Interrupt the connection's work once ``seconds`` have passed; yields when, in
        ``time.monotonic()`` terms. A statement waiting for a lock is interrupted too."""
        if seconds is None:
            yield math.inf
            return
        timer = threading.Timer(max(seconds, 0.0), self.interrupt)
        timer.daemon = True
        with self.waiting_at_most(seconds):
            at = time.monotonic() + seconds
            timer.start()
            try:
                yield at
            finally:
                timer.cancel()

    @abstractmethod
    def interrupt(self) -> None:
        """Stop what the connection runs now, from another thread (a no-op when idle)."""

    @contextmanager
    def waiting_at_most(self, seconds: float) -> Iterator[None]:
        """Wait for another client's lock no longer than ``seconds`` meanwhile (for a
        backend whose lock waits ``interrupt`` cannot end)."""
        del seconds
        yield

    def forget(self, source: str, account: str | None, result: RunResult) -> int:
        try:
            with self.transaction(write=True) as cur:
                return forget_rows(self, cur, source, account, result)
        except self.driver_error as exc:
            raise StoreError(
                f"the store could not forget {source} ({exc}); nothing changed"
            ) from None

    def update_run(self, run_id: int, result: RunResult) -> None:
        with self.transaction(write=True) as cur:
            cur.execute(
                self.sql("UPDATE runs SET status = ?, result = ? WHERE run_id = ?"),
                (result.status, json.dumps(result.to_dict()), run_id),
            )
            if result.sheet.status != "skipped":
                self._record_sheet(cur, result)

    def _record_sheet(self, cur: Cursor, result: RunResult) -> None:
        at = self.to_db_time(result.finished_at or result.started_at)
        ok = result.sheet.status == "ok"
        error = None if ok else result.sheet.error
        # Both backends (SQLite since 3.24) take this upsert.
        cur.execute(
            self.sql(
                "INSERT INTO sheet_state (id, status, last_ok_at, last_attempt_at, error) "
                "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET status = excluded.status, "
                "last_ok_at = COALESCE(excluded.last_ok_at, sheet_state.last_ok_at), "
                "last_attempt_at = excluded.last_attempt_at, error = excluded.error"
            ),
            ("ok" if ok else "failed", at if ok else None, at, error),
        )

    def first_request(self, signature: str, *, now: int, expires_at: int) -> bool:
        try:
            with self.statements() as cur:
                cur.execute(self.sql("DELETE FROM seen_requests WHERE expires_at < ?"), (now,))
                cur.execute(
                    self.sql(
                        "INSERT INTO seen_requests (signature, expires_at) VALUES (?, ?) "
                        "ON CONFLICT (signature) DO NOTHING"
                    ),
                    (signature, expires_at),
                )
                return bool(cur.rowcount == 1)
        except self.driver_error as exc:
            raise StoreError(f"the store could not check a request for replay ({exc})") from None

    # -- follow-ups -----------------------------------------------------------------------

    def followups(self) -> dict[Key, FollowUp]:
        try:
            with self.transaction() as cur:
                return {f.key: f for f in followup_sql.current_followups(self, cur)}
        except self.driver_error as exc:
            # A store a syncbot before follow-ups made, not migrated yet.
            raise StoreError(
                f"the store cannot read follow-ups ({exc}): run `syncbot migrate`"
            ) from None

    def take_followup(
        self, ref: FollowUpRef, who: Person, *, at: dt.datetime | None = None
    ) -> ActionResult:
        with self.transaction(write=True) as cur:
            return followup_sql.take(self, cur, ref, who, at or utc_now())

    def expect_followup(
        self,
        ref: FollowUpRef,
        who: Person,
        *,
        until: dt.date,
        reason: str,
        at: dt.datetime | None = None,
    ) -> ActionResult:
        when = at or utc_now()
        text = check_expectation(until, reason, today=when.astimezone(dt.UTC).date())
        with self.transaction(write=True) as cur:
            return followup_sql.expect(self, cur, ref, who, when, until=until, reason=text)

    def release_followup(
        self, ref: FollowUpRef, who: Person, *, at: dt.datetime | None = None
    ) -> ActionResult:
        with self.transaction(write=True) as cur:
            return followup_sql.release(self, cur, ref, who, at or utc_now())

    def followup_actions(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        key: Key | None = None,
        after_id: int | None = None,
    ) -> list[FollowUpAction]:
        with self.transaction() as cur:
            return followup_sql.read_actions(
                self, cur, since=since, until=until, key=key, after_id=after_id
            )

    # -- the sheet's columns --------------------------------------------------------------

    def sheet_columns(self, spreadsheet: str) -> frozenset[str]:
        with self.transaction() as cur:
            cur.execute(
                self.sql("SELECT header FROM sheet_columns WHERE spreadsheet = ?"), (spreadsheet,)
            )
            return frozenset(r[0] for r in cur.fetchall())

    def add_sheet_columns(self, spreadsheet: str, headers: Iterable[str]) -> None:
        with self.transaction(write=True) as cur:
            cur.execute(
                self.sql("SELECT header FROM sheet_columns WHERE spreadsheet = ?"), (spreadsheet,)
            )
            known = {r[0] for r in cur.fetchall()}
            new = [(spreadsheet, header) for header in headers if header not in known]
            if new:
                cur.executemany(
                    self.sql("INSERT INTO sheet_columns (spreadsheet, header) VALUES (?, ?)"), new
                )
