"""Follow-ups in `syncbot query` (the engine /numbers shares): real processes over a store on
SQLite and on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncbot.followups import FollowUpRef, Person
from syncbot.models import Key, utc_now
from syncbot.store import open_store
from syncbot.store.sql import SqlStore
from tests import pg
from tests.procs import clean_env, syncbot
from tests.runs import number, run

ALICE = Person("U0ALICE", "alice")
BOB = Person("U0BOB", "bob")
ORG, DIAL = "orgapi/default", "dialnexa/default"
FREE = [f"pn_free_{i}" for i in range(6)]


def key(number_id: str) -> Key:
    return ("dialnexa" if number_id.endswith(("4", "5")) else "orgapi", "default", number_id)


def listing(*, routed: str | None = None) -> dict[str, list[Any]]:
    """Six unassigned numbers (two of them DialNexa's) and two assigned; ``routed`` gets an
    agent."""
    numbers = [
        number(i, source=key(i)[0], agent="agent_routed" if i == routed else None) for i in FREE
    ] + [number("pn_busy_1"), number("pn_busy_2", source="dialnexa")]
    return {
        ORG: [n for n in numbers if n.source == "orgapi"],
        DIAL: [n for n in numbers if n.source == "dialnexa"],
    }


@pytest.fixture(params=pg.BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'syncbot.db'}"


def synced(url: str) -> SqlStore:
    store = open_store(url)
    assert isinstance(store, SqlStore)
    store.migrate()
    run(store, listing(), at=utc_now() - dt.timedelta(days=40))
    return store


async def query(url: str, cwd: Path, *words: str, **env: str) -> dict[str, Any]:
    code, out, err = await syncbot(
        "query", *words, "--json", env=clean_env(cwd, DATABASE_URL=url, **env), cwd=cwd
    )
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def keys(answer: dict[str, Any]) -> list[Key]:
    return [(n["source"], n["account"], n["number_id"]) for n in answer["numbers"]]


async def test_a_taken_number_shows_its_owner_and_its_follow_up_closes_once_assigned(
    url: str, tmp_path: Path
) -> None:
    store = synced(url)
    store.take_followup(FollowUpRef(key(FREE[0])), ALICE)
    until = utc_now().date() + dt.timedelta(days=30)
    store.expect_followup(FollowUpRef(key(FREE[1])), BOB, until=until, reason="spring campaign")
    answer = await query(url, tmp_path, "unassigned")
    shown = {k: n["follow_up"] for k, n in zip(keys(answer), answer["numbers"], strict=True)}
    taken, expected = shown.pop(key(FREE[0])), shown.pop(key(FREE[1]))
    assert (taken["state"], taken["owner"], taken["owner_name"]) == ("owned", "U0ALICE", "alice")
    assert taken["text"] == f"@alice since {utc_now().date().isoformat()}"
    assert (expected["state"], expected["expected_until"]) == ("expected", until.isoformat())
    assert expected["text"] == f"expected until {until.isoformat()}: spring campaign"
    assert {f["state"] for f in shown.values()} == {"unowned"}
    assert keys(await query(url, tmp_path, "mine", "--user", "U0ALICE")) == [key(FREE[0])]
    # The next sync sees it routed: the follow-up is closed, the history stays.
    run(store, listing(routed=FREE[0]), at=utc_now())
    assert (await query(url, tmp_path, "mine", "--user", "U0ALICE"))["numbers"] == []
    assert key(FREE[0]) not in store.followups()
    assert len(store.followup_actions(key=key(FREE[0]))) == 1
    store.close()


async def test_mine_unowned_and_expected_select_by_follow_up(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = synced(sqlite_url)
    store.take_followup(FollowUpRef(key(FREE[0])), ALICE)
    store.take_followup(FollowUpRef(key(FREE[4])), BOB)
    until = utc_now().date() + dt.timedelta(days=3)
    store.expect_followup(FollowUpRef(key(FREE[2])), ALICE, until=until, reason="port")
    store.close()
    mine = await query(sqlite_url, tmp_path, "mine", "--user", "U0ALICE")
    assert set(keys(mine)) == {key(FREE[0]), key(FREE[2])}
    assert keys(await query(sqlite_url, tmp_path, "expected")) == [key(FREE[2])]
    unowned = await query(sqlite_url, tmp_path, "unowned")
    assert set(keys(unowned)) == {key(i) for i in (FREE[1], FREE[3], FREE[5])}
    # They combine with the other words.
    narrowed = await query(sqlite_url, tmp_path, "unowned", "source:dialnexa")
    assert keys(narrowed) == [key(FREE[5])]


async def test_mine_without_a_user_on_the_command_line_says_how(
    sqlite_url: str, tmp_path: Path
) -> None:
    synced(sqlite_url).close()
    env = clean_env(tmp_path, DATABASE_URL=sqlite_url)
    code, out, err = await syncbot("query", "mine", env=env, cwd=tmp_path)
    # A query the grammar cannot answer as asked is a usage error (QueryError).
    assert code == 2
    assert "--user U0123ABCD" in err
    assert "Traceback" not in err + out


async def test_stats_and_idle_count_follow_ups_and_price_the_unowned(
    sqlite_url: str, tmp_path: Path
) -> None:
    store = synced(sqlite_url)
    store.take_followup(FollowUpRef(key(FREE[0])), ALICE)
    until = utc_now().date() + dt.timedelta(days=3)
    store.expect_followup(FollowUpRef(key(FREE[1])), BOB, until=until, reason="port")
    since = store.load_numbers()[0].first_seen_at
    store.close()
    costs = {"NUMBER_COSTS": '[{"monthly": 2.5}]'}
    stats = await query(sqlite_url, tmp_path, "stats", **costs)
    assert stats["follow_ups"] == {
        "open": 6,
        "owned": 1,
        "expected": 1,
        "unowned": 4,
        "oldest_unowned_since": since.isoformat().replace("+00:00", "Z") if since else None,
        "unowned_monthly_cost": {"amount": 10.0, "currency": "USD", "numbers": 4, "unpriced": 0},
    }
    idle = await query(sqlite_url, tmp_path, "idle", "30d", "source:dialnexa", **costs)
    assert (idle["follow_ups"]["open"], idle["follow_ups"]["unowned"]) == (2, 2)
    env = clean_env(tmp_path, DATABASE_URL=sqlite_url, **costs)
    code, out, err = await syncbot("query", "stats", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "Follow-ups: 6 open: 1 owned, 1 expected, 4 unowned" in out
    assert "4 unowned: 10.00 USD a month" in out
    code, out, err = await syncbot("query", "unassigned", env=env, cwd=tmp_path)
    assert code == 0, err
    header = next(line for line in out.splitlines() if line.startswith("PHONE NUMBER"))
    assert header.endswith("FOLLOW-UP")
    assert f"@alice since {utc_now().date().isoformat()}" in out
    assert "expected until" in out
