"""Follow-ups in `syncbot query` (the engine /numbers shares): real processes, the sandbox
providers, and the store on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from syncbot.followups import FollowUpRef, Person
from syncbot.models import Key, utc_now
from syncbot.sandbox.providers import Sandbox
from syncbot.store import open_store
from syncbot.store.base import Store
from tests import pg
from tests.procs import clean_env, syncbot

ALICE = Person("U0ALICE", "alice")
BOB = Person("U0BOB", "bob")


@pytest.fixture(params=pg.BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
async def synced(
    sandbox: Sandbox, tmp_path: Path, url: str
) -> AsyncIterator[tuple[dict[str, str], Store]]:
    env = clean_env(tmp_path, **sandbox.env(), DATABASE_URL=url)
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    store = open_store(url)
    yield env, store
    store.close()


async def query(env: dict[str, str], cwd: Path, *words: str) -> dict[str, Any]:
    code, out, err = await syncbot("query", *words, "--json", env=env, cwd=cwd)
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def key_of(record: dict[str, Any]) -> Key:
    return (record["source"], record["account"], record["number_id"])


async def test_each_unassigned_number_shows_its_owner_or_expected_date(
    synced: tuple[dict[str, str], Store], tmp_path: Path
) -> None:
    env, store = synced
    first, second, *rest = (await query(env, tmp_path, "unassigned"))["numbers"]
    assert first["follow_up"]["state"] == "unowned"
    store.take_followup(FollowUpRef(key_of(first)), ALICE)
    until = utc_now().date() + dt.timedelta(days=30)
    store.expect_followup(FollowUpRef(key_of(second)), BOB, until=until, reason="spring campaign")
    by_key = {key_of(n): n for n in (await query(env, tmp_path, "unassigned"))["numbers"]}
    taken, expected = by_key[key_of(first)]["follow_up"], by_key[key_of(second)]["follow_up"]
    assert (taken["state"], taken["owner"], taken["owner_name"]) == ("owned", "U0ALICE", "alice")
    assert taken["text"] == f"@alice since {utc_now().date().isoformat()}"
    assert expected["state"] == "expected"
    assert expected["text"] == f"expected until {until.isoformat()}: spring campaign"
    assert {by_key[key_of(n)]["follow_up"]["state"] for n in rest} == {"unowned"}
    # The terminal shows it in its own column.
    code, out, err = await syncbot("query", "unassigned", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "FOLLOW-UP" in out.splitlines()[2]
    assert "@alice since" in out
    # Assigned numbers have no follow-up.
    assigned = (await query(env, tmp_path, "assigned"))["numbers"]
    assert {n["follow_up"] is None for n in assigned} == {True}


async def test_mine_unowned_and_expected_select_by_follow_up(
    synced: tuple[dict[str, str], Store], tmp_path: Path
) -> None:
    env, store = synced
    free = (await query(env, tmp_path, "unassigned"))["numbers"]
    store.take_followup(FollowUpRef(key_of(free[0])), ALICE)
    store.take_followup(FollowUpRef(key_of(free[1])), BOB)
    until = utc_now().date() + dt.timedelta(days=3)
    store.expect_followup(FollowUpRef(key_of(free[2])), ALICE, until=until, reason="port")
    mine = await query(env, tmp_path, "mine", "--user", "U0ALICE")
    assert {key_of(n) for n in mine["numbers"]} == {key_of(free[0]), key_of(free[2])}
    bobs = await query(env, tmp_path, "mine", "--user", "U0BOB")
    assert [key_of(n) for n in bobs["numbers"]] == [key_of(free[1])]
    expected = await query(env, tmp_path, "expected")
    assert [key_of(n) for n in expected["numbers"]] == [key_of(free[2])]
    unowned = await query(env, tmp_path, "unowned")
    assert {key_of(n) for n in unowned["numbers"]} == {key_of(n) for n in free[3:]}
    # Filters combine with the other words.
    source = free[0]["source"]
    narrowed = await query(env, tmp_path, "unowned", f"source:{source}")
    assert {key_of(n) for n in narrowed["numbers"]} == {
        key_of(n) for n in free[3:] if n["source"] == source
    }


async def test_mine_without_a_user_on_the_command_line_says_how(
    synced: tuple[dict[str, str], Store], tmp_path: Path
) -> None:
    env, _ = synced
    code, out, err = await syncbot("query", "mine", env=env, cwd=tmp_path)
    assert code != 0
    assert "--user U0123ABCD" in err + out
    assert "Traceback" not in err


async def test_stats_and_idle_count_follow_ups_and_price_the_unowned(
    synced: tuple[dict[str, str], Store], tmp_path: Path
) -> None:
    env, store = synced
    env = {**env, "NUMBER_COSTS": '[{"monthly": 2.5}]'}
    free = (await query(env, tmp_path, "unassigned"))["numbers"]
    store.take_followup(FollowUpRef(key_of(free[0])), ALICE)
    until = utc_now().date() + dt.timedelta(days=3)
    store.expect_followup(FollowUpRef(key_of(free[1])), BOB, until=until, reason="port")
    stats = await query(env, tmp_path, "stats")
    unowned = len(free) - 2
    assert stats["follow_ups"] == {
        "open": len(free),
        "owned": 1,
        "expected": 1,
        "unowned": unowned,
        "oldest_unowned_since": min(n["unassigned_since"] for n in free[2:]),
        "unowned_monthly_cost": {
            "amount": 2.5 * unowned,
            "currency": "USD",
            "numbers": unowned,
            "unpriced": 0,
        },
    }
    idle = await query(env, tmp_path, "idle", "0d")
    assert idle["follow_ups"]["unowned"] == unowned
    code, out, err = await syncbot("query", "stats", env=env, cwd=tmp_path)
    assert code == 0, err
    assert f"Follow-ups: {len(free)} open: 1 owned, 1 expected, {unowned} unowned" in out
    assert f"{unowned} unowned: {2.5 * unowned:,.2f} USD a month" in out


async def test_a_follow_up_closes_when_the_next_sync_sees_the_number_assigned(
    synced: tuple[dict[str, str], Store], sandbox: Sandbox, tmp_path: Path
) -> None:
    env, store = synced
    free = [
        n for n in (await query(env, tmp_path, "unassigned"))["numbers"] if n["source"] == "orgapi"
    ]
    taken = key_of(free[0])
    store.take_followup(FollowUpRef(taken), ALICE)
    assert [
        key_of(n) for n in (await query(env, tmp_path, "mine", "--user", "U0ALICE"))["numbers"]
    ] == [taken]
    for record in sandbox.orgapi.records:
        if record["phone_number_id"] == taken[2]:
            record.update(status="assigned", assigned_agent_id="agent_routed")
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    assert (await query(env, tmp_path, "mine", "--user", "U0ALICE"))["numbers"] == []
    assert store.followups() == {}
