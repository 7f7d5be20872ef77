"""The SQL both backends share: schema, the run commit and the other writes.

Backends differ only in how they connect, their column types, their placeholders and their
lock (``backend.py``); everything that decides what is stored lives here once, and the reads
that need no write in ``reads.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
import time
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from syncbot.errors import StoreError
from syncbot.followups import (
    ActionResult,
    FollowUp,
    FollowUpAction,
    FollowUpRef,
    Person,
    check_expectation,
)
from syncbot.models import Key, RunResult, utc_now
from syncbot.store import followups as followup_sql
from syncbot.store.backend import Cursor
from syncbot.store.forget import forget_rows
from syncbot.store.reads import SqlReads
from syncbot.store.reconcile import apply_run, unlisted
from syncbot.store.schema import MIGRATIONS
from syncbot.store.staging import Staging, digests, prepare, stage


class _DryRun(Exception):
    """Rolls a dry run's transaction back once its figures are known."""


class SqlStore(SqlReads):
    """A DB-API backed store; subclasses supply the connection, types and lock."""

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
