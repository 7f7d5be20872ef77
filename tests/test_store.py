"""The store suite, run against SQLite and against a real PostgreSQL: same behaviour on both."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, closing, contextmanager
from pathlib import Path
from typing import Protocol

import pytest

from syncbot.costs import IDLE_DAYS, CostRules, parse_rules
from syncbot.errors import StoreError
from syncbot.models import (
    ChangeKind,
    SheetResult,
)
from syncbot.store import open_store
from syncbot.store.backend import STREAM_BATCH
from syncbot.store.base import NumberBatch
from syncbot.store.postgres import PostgresStore
from syncbot.store.schema import MIGRATIONS
from syncbot.store.sql import SqlStore
from syncbot.store.sqlite import SqliteStore, sqlite_path
from syncbot.store.staging import LISTED
from tests import pg
from tests.runs import T0, T1, T2, by_key, number, run

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


class Hold(Protocol):
    def wait_until_holding(self) -> None: ...
    def release(self) -> None: ...


class Backend(ABC):
    """One database for one test, and the stores opened on it (closed at the end)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stores: list[SqlStore] = []

    def open(self) -> SqlStore:
        store = open_store(self.url)
        assert isinstance(store, SqlStore)
        self._stores.append(store)
        return store

    def close(self) -> None:
        for store in self._stores:
            store.close()

    @abstractmethod
    def fail_inserts(self, *, number_id: str) -> None:
        """Make the database reject the change row of ``number_id``, half-way into a commit."""

    @abstractmethod
    def hold_commits(self, writer: SqlStore) -> AbstractContextManager[Hold]:
        """Make ``writer``'s commits stop, transaction open, at their first change row."""


class SqliteBackend(Backend):
    def fail_inserts(self, *, number_id: str) -> None:
        with closing(sqlite3.connect(sqlite_path(self.url))) as conn:
            conn.execute(
                "CREATE TRIGGER syncbot_test_fail BEFORE INSERT ON changes "
                f"WHEN NEW.number_id = '{number_id}' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
            )
            conn.commit()

    @contextmanager
    def hold_commits(self, writer: SqlStore) -> Iterator[Hold]:
        hold = _SqliteHold(writer)
        try:
            yield hold
        finally:
            hold.release()


class _SqliteHold:
    """A TEMP trigger on the writer's own connection calls back into the test and waits."""

    def __init__(self, writer: SqlStore) -> None:
        assert isinstance(writer, SqliteStore)
        self._entered = threading.Event()
        self._released = threading.Event()
        conn = writer._conn
        conn.create_function("syncbot_test_hold", 0, self._hold)
        conn.execute(
            "CREATE TEMP TRIGGER syncbot_test_hold BEFORE INSERT ON main.changes "
            "BEGIN SELECT syncbot_test_hold(); END"
        )

    def _hold(self) -> int:
        self._entered.set()
        self._released.wait(30)
        return 0

    def wait_until_holding(self) -> None:
        assert self._entered.wait(30), "no commit reached the held trigger"

    def release(self) -> None:
        self._released.set()


class PostgresBackend(Backend):
    def fail_inserts(self, *, number_id: str) -> None:
        pg.fail_inserts(self.url, number_id=number_id)

    def hold_commits(self, writer: SqlStore) -> AbstractContextManager[Hold]:
        del writer  # the trigger holds commits from every connection
        return pg.hold_commits(self.url)


@pytest.fixture(params=pg.BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with pg.store_url(request.param, tmp_path) as url:
        chosen = SqliteBackend(url) if request.param == "sqlite" else PostgresBackend(url)
        yield chosen
        chosen.close()


@pytest.fixture
def store(backend: Backend) -> SqlStore:
    store = backend.open()
    store.migrate()
    return store


def snapshot(store: SqlStore) -> tuple[object, ...]:
    """Everything a reader can see."""
    runs = store.recent_runs(100)
    return (
        store.load_numbers(),
        store.source_states(),
        runs,
        [store.changes(r.run_id) for r in runs],
    )


def assert_utc(value: dt.datetime | None) -> None:
    assert value is not None
    assert value.utcoffset() == dt.timedelta(0)


# -- schema -------------------------------------------------------------------------------


def test_migrate_twice_is_a_no_op(backend: Backend) -> None:
    store = backend.open()
    assert store.schema_version() == 0
    assert store.migrate() == len(MIGRATIONS)
    run(store, {"orgapi/default": [number("pn_1")]}, at=T0)
    before = snapshot(store)
    assert store.migrate() == len(MIGRATIONS)
    assert store.schema_version() == len(MIGRATIONS)
    assert snapshot(store) == before
    with store.transaction() as cur:
        cur.execute("SELECT version FROM schema_version ORDER BY version")
        assert [int(r[0]) for r in cur.fetchall()] == list(range(1, len(MIGRATIONS) + 1))


def test_an_older_store_keeps_its_numbers_when_the_parse_cache_columns_go(
    backend: Backend,
) -> None:
    store = backend.open()
    with store.transaction(write=True) as cur:
        cur.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, statements in enumerate(MIGRATIONS[:2], start=1):
            for statement in statements:
                cur.execute(statement.format(**store.types))
            cur.execute(store.sql("INSERT INTO schema_version (version) VALUES (?)"), (version,))
        cur.execute(
            store.sql(
                "INSERT INTO numbers (source, account, number_id, phone_number, valid, status, "
                "first_seen_at, phone_text, parsed_e164) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ),
            ("orgapi", "default", "pn_1", "+14155550123", True, "unassigned",
             store.to_db_time(T0), "(415) 555-0123", "+14155550123"),
        )  # fmt: skip
    assert store.migrate() == len(MIGRATIONS)
    [kept] = store.load_numbers()
    assert (kept.number_id, kept.phone_number, kept.first_seen_at) == ("pn_1", "+14155550123", T0)
    with store.transaction() as cur, pytest.raises(store.driver_error):
        cur.execute("SELECT phone_text FROM numbers")


def test_connections_migrating_a_new_store_at_once_all_succeed(backend: Backend) -> None:
    # Release, web, worker and a scheduled sync may all start on a new database together.
    stores = [backend.open() for _ in range(4)]
    start = threading.Barrier(len(stores))

    def migrate(store: SqlStore) -> int:
        start.wait()
        return store.migrate()

    with ThreadPoolExecutor(len(stores)) as pool:
        versions = list(pool.map(migrate, stores))
    assert versions == [len(MIGRATIONS)] * len(stores)
    assert stores[0].schema_version() == len(MIGRATIONS)


def test_a_schema_newer_than_this_syncbot_is_refused(store: SqlStore) -> None:
    with store.transaction(write=True) as cur:
        cur.execute(store.sql("INSERT INTO schema_version (version) VALUES (?)"), (99,))
    with pytest.raises(StoreError, match="version 99, newer than this syncbot knows"):
        store.migrate()


def test_a_new_store_reads_as_empty(store: SqlStore) -> None:
    assert store.load_numbers() == []
    assert store.source_states() == []
    assert store.latest_run() is None
    assert store.recent_runs(5) == []


# -- what a run stores ---------------------------------------------------------------------


def test_a_number_staged_twice_keeps_its_first_row_in_one_batch_and_across_batches(
    store: SqlStore,
) -> None:
    """A listing that shifts between pages repeats numbers; the first listing of each stays.
    (PostgreSQL stages by COPY, which cannot skip a key: such a batch goes in row by row.)"""
    staging = store.staging()
    try:
        staging.add(number("pn_1", label="first"), 1)
        staging.add(number("pn_1", label="second"), 2)
        staging.add(number("pn_2", label="first"), 3)
        staging.flush()
        staging.keep("orgapi", "default", "pn_3", 4)
        staging.add(number("pn_2", label="second"), 5)
        staging.add(number("pn_4", label="first"), 6)
        staging.settle()
        assert staging.count("orgapi", "default") == 4
    finally:
        staging.close()
    with store.transaction() as cur:
        cur.execute("SELECT number_id, label, digest FROM staged ORDER BY number_id")
        assert cur.fetchall() == [
            ("pn_1", "first", 1),
            ("pn_2", "first", 3),
            ("pn_3", None, 4),
            ("pn_4", "first", 6),
        ]


def test_commit_then_load_round_trips_every_field(store: SqlStore) -> None:
    full = number(
        "pn_full",
        label='=HYPERLINK("https://x.test") & <b>Zoë</b>',
        carrier="sip",
        provider_status="in-use",
        inbound=True,
        outbound=False,
        created_at=dt.datetime(2023, 5, 4, 3, 2, 1, 123456, tzinfo=IST),
    )
    sparse = number(
        "dn_sparse",
        source="dialnexa",
        agent=None,
        phone_number="call reception",
        valid=False,
        country_code=None,
        number_type=None,
        carrier=None,
        provider_status=None,
        inbound=None,
        outbound=None,
        created_at=None,
    )
    run_id, reconciled, _ = run(
        store, {"orgapi/default": [full], "dialnexa/default": [sparse]}, at=T0
    )

    loaded = store.load_numbers()
    assert loaded == reconciled.inventory
    by_id = {n.number_id: n for n in loaded}
    got_full, got_sparse = by_id["pn_full"], by_id["dn_sparse"]
    # Booleans come back as booleans, and unknown stays unknown rather than false.
    assert got_full.valid is True
    assert got_full.inbound is True
    assert got_full.outbound is False
    assert got_sparse.valid is False
    assert got_sparse.inbound is None
    assert got_sparse.outbound is None
    assert got_sparse.created_at is None
    assert got_sparse.label is None
    assert got_full.label == full.label
    # The same instant, microseconds included, expressed in UTC.
    assert got_full.created_at == full.created_at
    assert got_full.created_at is not None
    assert got_full.created_at.microsecond == 123456
    for n in loaded:
        assert_utc(n.first_seen_at)
        assert_utc(n.last_seen_at)
        assert n.first_seen_at == n.last_seen_at == T0
        assert n.stale is False
    assert_utc(got_full.created_at)
    assert_utc(got_sparse.unassigned_since)
    assert got_sparse.unassigned_since == T0
    assert got_full.unassigned_since is None
    assert sorted(store.changes(run_id), key=by_key) == sorted(
        (dataclasses.replace(c, run_id=run_id) for c in reconciled.changes), key=by_key
    )


def test_the_run_record_keeps_the_whole_result(store: SqlStore) -> None:
    run_id, _, result = run(
        store,
        {"orgapi/default": [number("pn_1")]},
        failed={"dialnexa/default": "HTTP 503 after 4 attempts"},
        at=T0,
    )
    latest = store.latest_run()
    assert latest is not None
    assert latest.run_id == run_id
    assert latest.status == result.status == "partial"
    assert latest.started_at == T0
    assert latest.finished_at == T0 + dt.timedelta(seconds=7)
    assert_utc(latest.started_at)
    assert_utc(latest.finished_at)
    assert latest.result == result.to_dict()


def test_update_run_records_what_happened_after_the_commit(store: SqlStore) -> None:
    run_id, _, result = run(store, {"orgapi/default": [number("pn_1")]}, at=T0)
    result.sheet = SheetResult(status="failed", error="the sheet is not shared with the bot")
    result.settle()
    store.update_run(run_id, result)
    latest = store.latest_run()
    assert latest is not None
    assert latest.status == "partial"
    assert latest.result["sheet"]["error"] == "the sheet is not shared with the bot"


def test_inventory_and_states_come_back_in_the_same_order_on_every_backend(
    store: SqlStore,
) -> None:
    # A language collation (PostgreSQL's on Heroku) and byte order disagree on these.
    listed = {
        "orgapi/east": [
            number("e1", account="east"),
            number("e2", account="east", phone_number="(415) 555-0100"),
        ],
        "orgapi/West": [
            number("w1", account="West", phone_number="+14155550101"),
            number("w2", account="West", phone_number="415 555 0102"),
            number("w3", account="West", phone_number="(415) 555-0103"),
        ],
    }
    _, reconciled, _ = run(store, listed, at=T0)
    assert [n.key for n in store.load_numbers()] == [n.key for n in reconciled.inventory]
    assert [s.key for s in store.source_states()] == ["orgapi/West", "orgapi/east"]


def test_scan_numbers_streams_the_inventory_field_by_field_in_load_numbers_order(
    store: SqlStore,
) -> None:
    listed = {
        "orgapi/West": [
            number("w1", account="West", phone_number="+14155550101"),
            number("w2", account="West", phone_number="(415) 555-0103", agent=None),
        ],
        "orgapi/east": [
            number(f"e{i}", account="east", agent=None if i % 3 else f"agent_{i % 7}")
            for i in range(STREAM_BATCH + 10)
        ],
    }
    run(store, listed, at=T0)
    batches = list(store.scan_numbers())
    assert [len(b.source) for b in batches] == [STREAM_BATCH, 12]
    names = [f.name for f in dataclasses.fields(NumberBatch)]
    scanned = [row for b in batches for row in zip(*(getattr(b, n) for n in names), strict=True)]
    assert scanned == [tuple(getattr(n, name) for name in names) for n in store.load_numbers()]


def test_a_reader_streams_on_a_connection_of_its_own(store: SqlStore) -> None:
    run(store, {"orgapi/default": [number("a"), number("b")]}, at=T0)
    with store.reader() as reader:
        batches = reader.scan_numbers()
        first = next(batches)
        # The reader's transaction is open: the store itself still answers other threads.
        with ThreadPoolExecutor(max_workers=1) as pool:
            states = pool.submit(store.source_states).result(timeout=60)
        batches.close()
    assert list(first.number_id) == ["a", "b"]
    assert [s.key for s in states] == ["orgapi/default"]


def test_each_run_keeps_its_own_changes(store: SqlStore) -> None:
    first_id, _, _ = run(
        store,
        {
            "orgapi/default": [
                number("n1", agent="a1"),
                number("n2", agent=None),
                number("n3", agent="a1"),
                number("n4", agent="a2"),
            ]
        },
        at=T0,
    )
    second_id, _, result = run(
        store,
        {
            "orgapi/default": [
                number("n1", agent=None),
                number("n2", agent="a3"),
                number("n3", agent="a9"),
                number("n5", agent="a4"),
            ]
        },
        at=T1,
    )
    assert [r.run_id for r in store.recent_runs(10)] == [second_id, first_id]
    assert sorted((c.kind, c.number_id) for c in store.changes(first_id)) == [
        (ChangeKind.ADDED, n) for n in ("n1", "n2", "n3", "n4")
    ]
    second = {c.number_id: c for c in store.changes(second_id)}
    assert {n: (c.kind, c.agent_before, c.agent_after) for n, c in second.items()} == {
        "n1": (ChangeKind.UNASSIGNED, "a1", None),
        "n2": (ChangeKind.ASSIGNED, None, "a3"),
        "n3": (ChangeKind.REASSIGNED, "a1", "a9"),
        "n5": (ChangeKind.ADDED, None, "a4"),
        "n4": (ChangeKind.REMOVED, "a2", None),
    }
    assert all(c.run_id == second_id and c.at == T1 for c in second.values())
    assert result.changes == {
        "added": 1,
        "removed": 1,
        "assigned": 1,
        "unassigned": 1,
        "reassigned": 1,
        "rekeyed": 0,
    }
    stored = {n.number_id: n for n in store.load_numbers()}
    assert set(stored) == {"n1", "n2", "n3", "n5"}
    assert stored["n1"].unassigned_since == T1
    assert stored["n1"].first_seen_at == T0
    assert stored["n2"].unassigned_since is None
    assert stored["n5"].first_seen_at == T1


def test_source_states_record_each_sources_last_success_and_failure(store: SqlStore) -> None:
    listed = {"orgapi/default": [number("pn_1")], "dialnexa/default": [number("dn_1")]}
    run(store, listed, at=T0)
    run(
        store,
        {"orgapi/default": [number("pn_1")]},
        failed={"dialnexa/default": "HTTP 403: the key cannot read phone numbers"},
        at=T1,
    )
    states = {s.key: s for s in store.source_states()}
    assert states["orgapi/default"].status == "ok"
    assert states["orgapi/default"].last_ok_at == T1
    assert states["orgapi/default"].error is None
    failed = states["dialnexa/default"]
    assert failed.status == "failed"
    assert failed.last_ok_at == T0
    assert failed.last_attempt_at == T1
    assert failed.error == "HTTP 403: the key cannot read phone numbers"
    assert_utc(failed.last_ok_at)
    assert_utc(failed.last_attempt_at)

    # A source no longer configured keeps its rows too, and says why they are stale.
    run(store, {"dialnexa/default": [number("dn_1")]}, at=T2)
    states = {s.key: s for s in store.source_states()}
    assert states["orgapi/default"].status == "unconfigured"
    assert states["orgapi/default"].last_ok_at == T1
    assert states["dialnexa/default"].status == "ok"


def test_a_failed_sources_rows_are_kept_and_marked_stale_until_it_recovers(
    store: SqlStore,
) -> None:
    dialnexa = [number("dn_1", source="dialnexa"), number("dn_2", source="dialnexa", agent=None)]
    listed = {"orgapi/default": [number("pn_1")], "dialnexa/default": dialnexa}
    run(store, listed, at=T0)
    run(
        store,
        {"orgapi/default": [number("pn_1")]},
        failed={"dialnexa/default": "timed out"},
        at=T1,
    )
    kept = {n.number_id: n for n in store.load_numbers()}
    assert set(kept) == {"pn_1", "dn_1", "dn_2"}
    assert kept["pn_1"].stale is False
    assert kept["pn_1"].last_seen_at == T1
    for number_id in ("dn_1", "dn_2"):
        assert kept[number_id].stale is True
        assert kept[number_id].last_seen_at == T0
    assert kept["dn_2"].unassigned_since == T0

    run(store, listed, at=T2)
    recovered = {n.number_id: n for n in store.load_numbers()}
    assert not any(n.stale for n in recovered.values())
    assert recovered["dn_1"].last_seen_at == T2
    assert recovered["dn_1"].first_seen_at == T0


# -- atomicity and isolation ---------------------------------------------------------------


def test_a_commit_that_fails_half_way_leaves_the_previous_snapshot_intact(
    backend: Backend, store: SqlStore
) -> None:
    run(store, {"orgapi/default": [number("n1"), number("n2"), number("n3")]}, at=T0)
    before = snapshot(store)
    # The run, n1's update, n3's removal and n1's change are written before n9's change fails.
    backend.fail_inserts(number_id="n9")
    with pytest.raises(StoreError, match="previous snapshot is unchanged"):
        run(
            store,
            {"orgapi/default": [number("n1", agent="a7"), number("n2"), number("n9")]},
            at=T1,
        )
    assert snapshot(store) == before
    assert snapshot(backend.open()) == before


def test_readers_see_the_previous_snapshot_until_a_commit_completes(
    backend: Backend, store: SqlStore
) -> None:
    run(store, {"orgapi/default": [number("n1"), number("n2")]}, at=T0)
    reader = backend.open()
    before = snapshot(reader)
    with backend.hold_commits(store) as hold, ThreadPoolExecutor(1) as pool:
        writing = pool.submit(
            run, store, {"orgapi/default": [number("n1", agent=None), number("n3")]}, at=T1
        )
        hold.wait_until_holding()
        assert snapshot(reader) == before
        hold.release()
        run_id, reconciled, _ = writing.result(timeout=30)
    latest = reader.latest_run()
    assert latest is not None
    assert latest.run_id == run_id
    assert reader.load_numbers() == reconciled.inventory


# -- the one-sync-at-a-time lock -----------------------------------------------------------


def test_the_run_lock_admits_one_holder_at_a_time_and_frees_on_exit(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    with first.run_lock() as acquired:
        assert acquired is True
        with second.run_lock() as also:
            assert also is False
    with second.run_lock() as acquired:
        assert acquired is True


# -- PostgreSQL specifics ------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg.fresh_database() as url:
        yield url


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_both_postgresql_url_schemes_open_the_postgresql_store(pg_url: str, scheme: str) -> None:
    url = f"{scheme}://{pg_url.split('://', 1)[1]}"
    with open_store(url) as store:
        assert isinstance(store, PostgresStore)
        assert store.migrate() == len(MIGRATIONS)


def test_a_connection_the_server_dropped_is_replaced_on_the_next_call(pg_url: str) -> None:
    with open_store(pg_url) as store:
        assert isinstance(store, PostgresStore)
        store.migrate()
        run(store, {"orgapi/default": [number("pn_1")]}, at=T0)
        before = store.load_numbers()
        with pg.connect(pg_url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (store._conn.info.backend_pid,))
        with pytest.raises(StoreError, match=r"PostgreSQL at 127\.0\.0\.1:5432/syncbot_test_"):
            store.load_numbers()
        assert store.load_numbers() == before


def test_an_unreachable_server_is_named_without_the_password() -> None:
    with pytest.raises(StoreError) as caught:
        open_store(f"postgres://syncbot:{pg.PASSWORD}@127.0.0.1:1/inventory")
    message = caught.value.message
    assert "PostgreSQL at 127.0.0.1:1/inventory" in message
    assert pg.PASSWORD not in message
    assert "DATABASE_URL" in message


def test_tallies_price_all_unassigned_and_long_idle_numbers_without_loading_them(
    store: SqlStore,
) -> None:
    costs = CostRules(
        parse_rules('[{"country": "GB", "monthly": 1.5}, {"source": "orgapi", "monthly": 1.15}]')
    )
    listed = {
        "orgapi/default": [
            number("a1"),
            number("a2", agent=None),
            number("a3", agent=None, country_code="GB"),
        ],
        "dialnexa/default": [number("d1", source="dialnexa", agent=None, country_code=None)],
    }
    run(store, listed, at=T0)
    listed["orgapi/default"][0] = number("a1", agent=None)
    run(store, listed, at=T0 + dt.timedelta(days=31))
    now = T0 + dt.timedelta(days=31)
    overview = costs.overview_of(store.tallies(idle_since=now - dt.timedelta(days=IDLE_DAYS)))
    # a1 became unassigned only now: unassigned, but not idle for 30 days.
    assert (overview.all.amount, overview.all.numbers, overview.all.unpriced) == (3.8, 4, 1)
    assert (overview.unassigned.amount, overview.unassigned.numbers) == (3.8, 4)
    assert (overview.idle.amount, overview.idle.numbers, overview.idle.unpriced) == (2.65, 3, 1)


def test_a_new_sqlite_store_opens_while_another_process_writes_to_it(tmp_path: Path) -> None:
    """Switching a new database to WAL waits for a writer instead of failing at once."""
    path = tmp_path / "new.db"
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE elsewhere (x INTEGER)")
    with ThreadPoolExecutor(1) as pool:
        opening = pool.submit(SqliteStore, str(path))
        time.sleep(0.3)  # let the open meet the lock before it is released
        writer.execute("COMMIT")
        store = opening.result(timeout=60)
    try:
        assert store.migrate() == len(MIGRATIONS)
    finally:
        store.close()
        writer.close()


def test_a_numbers_listed_fields_come_in_the_staging_tables_column_order() -> None:
    n = number("pn_1", agent="agent_7")
    assert dict(zip(LISTED, n.listed(), strict=True)) == {name: getattr(n, name) for name in LISTED}
