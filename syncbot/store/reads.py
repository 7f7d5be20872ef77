"""The reads both SQL backends share: the queries and how their rows become records.

Apart from ``sql.py`` (schema and writes) because reading is most of the store's surface and
none of it changes what is stored; ``SqlStore`` inherits it from ``SqlReads``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from syncbot.costs import Tally
from syncbot.models import (
    Change,
    ChangeKind,
    PhoneNumber,
    RunRecord,
    SheetState,
    SourceState,
)
from syncbot.store.backend import Cursor, SqlBackend
from syncbot.store.base import NumberBatch

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


class SqlReads(SqlBackend):
    """The store's reads, in SQL every backend runs."""

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
