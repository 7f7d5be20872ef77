"""`changes 24h` and `changes 7d`: what changed over a window, from the store's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncbot.cli.render import answer_text
from syncbot.query import answer, load_snapshot, parse
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from syncbot.store.sql import SqlStore
from tests import pg
from tests.runs import T0, number, run
from tests.test_slack_app import ADMIN, running_app

DAY = dt.timedelta(days=1)


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with pg.migrated_store(request.param, tmp_path) as opened:
        yield opened


def three_days(store: SqlStore) -> None:
    """Day 0 adds a and b; day 2 unassigns a; day 3 removes b."""
    run(store, {"orgapi/default": [number("a"), number("b")]}, at=T0)
    run(store, {"orgapi/default": [number("a", agent=None), number("b")]}, at=T0 + 2 * DAY)
    run(store, {"orgapi/default": [number("a", agent=None)]}, at=T0 + 3 * DAY)


def test_the_store_gives_the_changes_of_the_runs_in_a_window_newest_first(
    store: SqlStore,
) -> None:
    three_days(store)
    recent = store.changes_since(T0 + 3 * DAY - dt.timedelta(hours=12))
    assert [(c.kind.value, c.number_id) for c in recent] == [("removed", "b")]
    week = store.changes_since(T0 + 3 * DAY - 7 * DAY)
    assert [(c.kind.value, c.number_id, c.run_id) for c in week] == [
        ("removed", "b", 3),
        ("unassigned", "a", 2),
        ("added", "b", 1),
        ("added", "a", 1),
    ]
    assert store.changes_since(T0 + 4 * DAY) == []


def test_changes_with_a_window_answers_from_the_history_and_says_which(
    store: SqlStore,
) -> None:
    three_days(store)
    snapshot = load_snapshot(store)
    now = T0 + 3 * DAY + dt.timedelta(minutes=5)
    for text, shown in (("changes", 1), ("changes 48h", 2), ("changes 7d", 4)):
        query = parse(text)
        history = store.changes_since(now - query.window) if query.window else []
        found = answer(query, snapshot, now=now, interval_seconds=900, history=history)
        assert len(found.changes) == shown, text
    assert answer_text(found).splitlines()[0] == "4 changes in the last 7 days"


def test_a_window_is_hours_or_days_after_changes_only() -> None:
    assert parse("changes 24h").window == DAY
    assert parse("changes 7D unassigned").window == 7 * DAY
    assert parse("changes").window is None


async def test_slack_answers_changes_over_a_window(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with running_app(sandbox, sqlite_store) as app:
        record = next(r for r in sandbox.orgapi.records if r.get("assigned_agent_id"))
        record.update(status="free", assigned_agent_id=None)
        await app.command("sync", user_id=ADMIN)
        await app.fake.wait_for_replies(1)
        await app.wait_for_run(2)
        latest = await app.command("changes")
        day = await app.command("changes 24h")
    assert latest.texts[0] == "*1 change* matches `changes`."
    assert day.texts[0].startswith("*41 changes* match `changes 24h` (showing 1 to 20)")
