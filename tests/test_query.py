"""The query engine and grammar shared by `/numbers` and `syncbot query`."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from syncbot.errors import QueryError
from syncbot.query import Snapshot, answer, load_snapshot, parse
from syncbot.query.engine import Answer
from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions, run_sync
from tests.conftest import FAST, settings_for


async def synced(sandbox: Sandbox, store: SqliteStore) -> Snapshot:
    await run_sync(settings_for(sandbox), store)
    return load_snapshot(store)


def ask(snapshot: Snapshot, text: str, *, days_later: float = 0, interval: int = 900) -> Answer:
    assert snapshot.run is not None
    now = snapshot.run.finished_at + dt.timedelta(days=days_later)
    return answer(parse(text), snapshot, now=now, interval_seconds=interval)


def test_empty_query_and_help_give_usage() -> None:
    assert parse("").action == "help"
    assert parse("help").action == "help"
    assert parse("  HELP ").action == "help"


def test_words_combine_in_any_order() -> None:
    a = parse("country:GB unassigned type:mobile")
    b = parse("type:mobile unassigned country:gb")
    assert a.status == b.status == "unassigned"
    assert a.filters["type"] == b.filters["type"] == frozenset({"mobile"})


def test_a_phone_number_split_over_several_words_is_one_number() -> None:
    q = parse("+91 22 3456 7890 unassigned")
    assert q.phone == "+91 22 3456 7890"
    assert q.status == "unassigned"


def test_unknown_word_names_it_and_suggests_the_closest_word() -> None:
    with pytest.raises(QueryError, match=r'"unasigned"\..*Did you mean "unassigned"'):
        parse("unasigned")
    with pytest.raises(QueryError, match=r'Did you mean "country:"\?'):
        parse("contry:US")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agent", "agent id"),
        ("idle", "number of days"),
        ("idle 30", "number of days"),
        ("country:", "needs a value"),
    ],
)
def test_incomplete_words_say_what_they_need(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse(text)


async def test_unassigned_and_assigned_partition_the_inventory(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    free = ask(snap, "unassigned").numbers
    taken = ask(snap, "assigned").numbers
    assert free
    assert taken
    assert all(n.status == "unassigned" for n in free)
    assert all(n.agent_id for n in taken)
    assert len(free) + len(taken) == len(snap.numbers)


async def test_agent_finds_that_agents_numbers_across_sources(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    found = ask(snap, "agent AGENT_SALES_EU").numbers
    assert {n.agent_id for n in found} == {"agent_sales_eu"}
    assert {n.source for n in found} == {"orgapi", "dialnexa"}


async def test_a_number_is_found_in_any_common_format_or_by_a_digit_run(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    target = next(n for n in snap.numbers if n.country_code == "GB" and n.valid)
    national = target.phone_number[3:]
    spaced = f"+44 {national[:2]} {national[2:6]} {national[6:]}"
    assert ask(snap, spaced).numbers == [target]
    assert ask(snap, target.phone_number).numbers == [target]
    assert ask(snap, f"0044{national}").numbers == [target]
    assert target in ask(snap, national[-6:]).numbers
    assert ask(snap, "+99999999999999").numbers == []


async def test_key_value_filters_narrow_by_source_account_country_type_and_carrier(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    assert {n.source for n in ask(snap, "source:orgapi").numbers} == {"orgapi"}
    assert ask(snap, "account:default").total == len(snap.numbers)
    assert ask(snap, "account:nobody").total == 0
    us = ask(snap, "country:us").numbers
    assert us
    assert {n.country_code for n in us} == {"US"}
    assert {n.number_type for n in ask(snap, "type:toll_free").numbers} == {"toll_free"}
    assert {n.carrier for n in ask(snap, "carrier:twilio source:orgapi").numbers} == {"twilio"}
    both = ask(snap, "country:US country:GB").numbers
    assert {n.country_code for n in both} == {"US", "GB"}


async def test_stats_count_by_source_status_country_and_type(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    stats = ask(snap, "stats").stats
    assert stats["by_source"] == {"dialnexa/default": 20, "orgapi/default": 20}
    assert sum(stats["by_status"].values()) == 40
    assert sum(stats["by_country"].values()) == 40
    assert set(stats) == {"by_source", "by_status", "by_country", "by_type"}
    assert ask(snap, "stats unassigned").stats["by_status"] == {
        "unassigned": len(ask(snap, "unassigned").numbers)
    }


async def test_changes_shows_the_latest_sync_changes(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await synced(sandbox, sqlite_store)
    removed = sandbox.dialnexa.records.pop(0)
    snap = await synced(sandbox, sqlite_store)
    changes = ask(snap, "changes").changes
    assert [(c.kind.value, c.number_id) for c in changes] == [("removed", str(removed["id"]))]
    assert ask(snap, "changes source:orgapi").changes == []
    assert ask(snap, "changes source:dialnexa").changes == changes


async def test_idle_finds_numbers_unassigned_for_at_least_n_days(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    unassigned = ask(snap, "unassigned").numbers
    assert ask(snap, "idle 30d", days_later=29).numbers == []
    assert ask(snap, "idle 30d", days_later=31).numbers == unassigned


async def test_status_reports_the_run_and_each_sources_health(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    found = ask(snap, "status")
    data = found.to_dict()
    assert data["sync"]["run_id"] == snap.run_id
    assert set(data["sources"]) == {"orgapi/default", "dialnexa/default"}
    assert {s["status"] for s in data["sources"].values()} == {"ok"}


async def test_a_stale_source_or_an_old_sync_puts_a_warning_first(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    snap = await synced(sandbox, sqlite_store)
    assert ask(snap, "unassigned").warnings == []
    old = ask(snap, "unassigned", days_later=1, interval=900)
    assert any("twice the sync interval" in w for w in old.warnings)
    sandbox.orgapi.options.always = Fault.status(500)
    await run_sync(
        settings_for(sandbox),
        sqlite_store,
        options=SyncOptions(policy=dataclasses.replace(FAST, attempts=1)),
    )
    stale = ask(load_snapshot(sqlite_store), "unassigned")
    assert any(w.startswith("orgapi/default is stale") for w in stale.warnings)
    assert stale.to_dict()["sync"]["stale_sources"] == ["orgapi/default"]


def test_no_sync_yet_is_a_warning_not_an_error(sqlite_store: SqliteStore) -> None:
    snap = load_snapshot(sqlite_store)
    found = answer(parse("unassigned"), snap, now=dt.datetime.now(dt.UTC), interval_seconds=900)
    assert found.numbers == []
    assert "No sync has run yet" in found.warnings[0]
