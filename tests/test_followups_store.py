"""Follow-ups in the store, on SQLite and on a real PostgreSQL: the same rules on both."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from syncbot.followups import (
    ActionKind,
    ActionResult,
    BadExpectation,
    FollowUpRef,
    FollowUpState,
    NumberChanged,
    OwnedByOther,
    Person,
    cell_text,
)
from syncbot.store import open_store
from syncbot.store.sql import SqlStore
from tests import pg
from tests.runs import T0, T1, T2, number, run

ALICE = Person("U0ALICE", "alice")
BOB = Person("U0BOB", "bob")
FREE = "orgapi/default"
KEY = ("orgapi", "default", "pn_free")


@pytest.fixture(params=pg.BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def store(url: str) -> Iterator[SqlStore]:
    opened = open_store(url)
    assert isinstance(opened, SqlStore)
    opened.migrate()
    # One unassigned number and one assigned, listed at T0.
    run(opened, {FREE: [number("pn_free", agent=None), number("pn_busy")]}, at=T0)
    yield opened
    opened.close()


def test_a_number_nobody_acted_on_is_an_open_unowned_follow_up(store: SqlStore) -> None:
    assert store.followups() == {}
    assert cell_text(None, unassigned=True, today=T0.date()) == "unowned"
    assert cell_text(None, unassigned=False, today=T0.date()) == ""


def test_take_makes_the_clicker_the_owner_and_records_the_action(store: SqlStore) -> None:
    result = store.take_followup(FollowUpRef(KEY, T0), ALICE, at=T1)
    assert result.followup.owner == ALICE
    assert result.action is not None
    assert result.action.kind is ActionKind.TAKE
    [followup] = store.followups().values()
    assert followup.key == KEY
    assert followup.owner == ALICE
    assert followup.owned_at == T1
    assert followup.since == T0
    assert followup.state(T1.date()) is FollowUpState.OWNED
    assert cell_text(followup, unassigned=True, today=T1.date()) == "@alice since 2024-03-01"
    [action] = store.followup_actions()
    assert (action.kind, action.who, action.at, action.phone_number) == (
        ActionKind.TAKE,
        ALICE,
        T1,
        number("pn_free").phone_number,
    )


def test_taking_your_own_follow_up_again_changes_nothing(store: SqlStore) -> None:
    store.take_followup(FollowUpRef(KEY), ALICE, at=T1)
    again = store.take_followup(FollowUpRef(KEY), ALICE, at=T2)
    assert again.action is None
    assert again.followup.owned_at == T1
    assert len(store.followup_actions()) == 1


def test_a_second_taker_is_told_who_has_it_and_nothing_changes(store: SqlStore) -> None:
    store.take_followup(FollowUpRef(KEY), ALICE, at=T1)
    with pytest.raises(OwnedByOther) as refused:
        store.take_followup(FollowUpRef(KEY), BOB, at=T2)
    assert refused.value.owner == ALICE
    assert "@alice has" in refused.value.message
    assert store.followups()[KEY].owner == ALICE
    assert [a.who for a in store.followup_actions()] == [ALICE]


def test_two_people_taking_at_once_leave_one_owner_and_the_others_are_told(url: str) -> None:
    first = open_store(url)
    assert isinstance(first, SqlStore)
    first.migrate()
    run(first, {FREE: [number("pn_free", agent=None)]}, at=T0)
    people = [Person(f"U0P{i}", f"person{i}") for i in range(6)]
    # Each person on a connection of their own, as on separate web dynos.
    stores = [open_store(url) for _ in people]
    start = threading.Barrier(len(people))

    def take(i: int) -> ActionResult | OwnedByOther:
        start.wait()
        try:
            return stores[i].take_followup(FollowUpRef(KEY, T0), people[i], at=T1)
        except OwnedByOther as refused:
            return refused

    try:
        with ThreadPoolExecutor(len(people)) as pool:
            outcomes = list(pool.map(take, range(len(people))))
    finally:
        for opened in stores:
            opened.close()
    won = [o for o in outcomes if isinstance(o, ActionResult)]
    refused = [o for o in outcomes if isinstance(o, OwnedByOther)]
    assert len(won) == 1
    assert len(refused) == len(people) - 1
    winner = won[0].followup.owner
    assert {r.owner for r in refused} == {winner}
    assert first.followups()[KEY].owner == winner
    assert [a.who for a in first.followup_actions()] == [winner]
    first.close()


def test_a_follow_up_closes_when_the_number_is_assigned(store: SqlStore) -> None:
    store.take_followup(FollowUpRef(KEY), ALICE, at=T1)
    run(store, {FREE: [number("pn_free", agent="agent_9"), number("pn_busy")]}, at=T2)
    assert store.followups() == {}
    # And when it becomes unassigned again, the new period starts unowned.
    later = T2 + dt.timedelta(hours=1)
    run(store, {FREE: [number("pn_free", agent=None), number("pn_busy")]}, at=later)
    assert store.followups() == {}
    # History stays.
    assert [a.kind for a in store.followup_actions(key=KEY)] == [ActionKind.TAKE]


def test_a_follow_up_closes_when_the_number_is_gone(store: SqlStore) -> None:
    store.take_followup(FollowUpRef(KEY), ALICE, at=T1)
    run(store, {FREE: [number("pn_busy")]}, at=T2)
    assert store.followups() == {}


def test_an_action_on_an_assigned_number_answers_honestly_and_changes_nothing(
    store: SqlStore,
) -> None:
    busy = ("orgapi", "default", "pn_busy")
    with pytest.raises(NumberChanged) as refused:
        store.take_followup(FollowUpRef(busy), ALICE, at=T1)
    assert refused.value.now == "assigned"
    assert "agent_1" in refused.value.message
    assert "Nothing was changed" in refused.value.message
    assert store.followup_actions() == []


def test_an_action_on_a_number_gone_meanwhile_changes_nothing(store: SqlStore) -> None:
    ref = FollowUpRef(KEY, T0)
    run(store, {FREE: [number("pn_busy")]}, at=T1)
    with pytest.raises(NumberChanged) as refused:
        store.expect_followup(ref, ALICE, until=T2.date(), reason="campaign", at=T2)
    assert refused.value.now == "gone"
    assert store.followup_actions() == []


def test_a_button_from_an_earlier_unassigned_period_changes_nothing(store: SqlStore) -> None:
    seen = FollowUpRef(KEY, T0)
    run(store, {FREE: [number("pn_free", agent="agent_9"), number("pn_busy")]}, at=T1)
    run(store, {FREE: [number("pn_free", agent=None), number("pn_busy")]}, at=T2)
    with pytest.raises(NumberChanged) as refused:
        store.take_followup(seen, ALICE, at=T2)
    assert refused.value.now == "reopened"
    assert store.followups() == {}


def test_expected_holds_through_its_day_and_reopens_after(store: SqlStore) -> None:
    until = dt.date(2024, 3, 10)
    result = store.expect_followup(
        FollowUpRef(KEY), BOB, until=until, reason="  spring   campaign ", at=T1
    )
    assert result.followup.reason == "spring campaign"
    followup = store.followups()[KEY]
    assert followup.expected_by == BOB
    assert followup.state(until) is FollowUpState.EXPECTED
    assert (
        cell_text(followup, unassigned=True, today=until)
        == "expected until 2024-03-10: spring campaign"
    )
    after = until + dt.timedelta(days=1)
    assert followup.state(after) is FollowUpState.UNOWNED
    assert cell_text(followup, unassigned=True, today=after) == "unowned"
    # Reopened, anyone may take it.
    taken = store.take_followup(FollowUpRef(KEY), ALICE, at=T2)
    assert taken.followup.owner == ALICE
    assert taken.followup.expected_until is None


def test_expected_refuses_a_past_date_and_a_missing_reason(store: SqlStore) -> None:
    with pytest.raises(BadExpectation, match="already past"):
        store.expect_followup(FollowUpRef(KEY), BOB, until=dt.date(2024, 2, 1), reason="x", at=T1)
    with pytest.raises(BadExpectation, match="Say why"):
        store.expect_followup(FollowUpRef(KEY), BOB, until=T1.date(), reason="  ", at=T1)
    assert store.followup_actions() == []


def test_expected_on_someone_elses_follow_up_is_refused(store: SqlStore) -> None:
    store.take_followup(FollowUpRef(KEY), ALICE, at=T1)
    with pytest.raises(OwnedByOther):
        store.expect_followup(FollowUpRef(KEY), BOB, until=T2.date(), reason="port", at=T2)
    # The owner may.
    mine = store.expect_followup(FollowUpRef(KEY), ALICE, until=T2.date(), reason="port", at=T2)
    assert mine.followup.owner is None
    assert mine.followup.expected_by == ALICE


def test_release_lets_the_owner_give_it_up(store: SqlStore) -> None:
    store.take_followup(FollowUpRef(KEY), ALICE, at=T1)
    with pytest.raises(OwnedByOther):
        store.release_followup(FollowUpRef(KEY), BOB, at=T2)
    released = store.release_followup(FollowUpRef(KEY), ALICE, at=T2)
    assert released.followup.owner is None
    assert store.followups()[KEY].state(T2.date()) is FollowUpState.UNOWNED
    assert [a.kind for a in store.followup_actions()] == [ActionKind.TAKE, ActionKind.RELEASE]
    assert [a.kind for a in store.followup_actions(since=T2)] == [ActionKind.RELEASE]
    assert [a.kind for a in store.followup_actions(until=T2)] == [ActionKind.TAKE]
