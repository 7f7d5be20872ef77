"""The follow-up rows, the Expected modal, the alerts' rows and the Home tab as pure functions:
each passes slack_sdk's Block Kit models and stays within Slack's limits at its largest."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from syncbot.costs import CostRules, parse_rules
from syncbot.followups import EXPECT_ACTION, TAKE_ACTION, FollowUp, FollowUpRef, Person
from syncbot.models import ChangeKind, RunResult, count_changes
from syncbot.query import Snapshot, answer, load_snapshot, parse
from syncbot.sandbox.blockkit import message_errors, view_errors
from syncbot.sandbox.providers import Sandbox
from syncbot.slack.alert_messages import alert_message
from syncbot.slack.blocks import answer_message
from syncbot.slack.followup_views import (
    MAX_BLOCK_ID,
    Row,
    answer_rows,
    expected_modal,
    mark_row,
    number_rows,
    read_expectation,
    read_row,
    row_id,
)
from syncbot.slack.home import MAX_VIEW_BLOCKS, glance, home_view
from syncbot.store import SqliteStore
from syncbot.sync import run_sync
from tests.conftest import settings_for
from tests.test_slack_blocks import assert_within_limits

TODAY = dt.date(2026, 12, 6)
ALICE = Person("U0ALICE", "alice")


@pytest.fixture
async def snapshot(sqlite_store: SqliteStore) -> Snapshot:
    async with Sandbox(numbers=200) as sandbox:
        await run_sync(settings_for(sandbox), sqlite_store)
    return load_snapshot(sqlite_store)


def values(until: str | None, reason: str | None) -> dict[str, object]:
    return {
        "expected_until": {"until": {"type": "datepicker", "selected_date": until}},
        "expected_reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


@pytest.mark.parametrize(
    ("until", "reason", "errors"),
    [
        (None, "campaign", {"expected_until": "Pick the day"}),
        ("2026-12-05", "campaign", {"expected_until": "2026-12-05 has passed"}),
        ("2027-12-08", "campaign", {"expected_until": "within a year (by 2027-12-07)"}),
        ("2027-01-05", "   ", {"expected_reason": "Say why"}),
        ("2027-01-05", "x" * 201, {"expected_reason": "keep it under 200"}),
        ("2026-12-01", None, {"expected_until": "has passed", "expected_reason": "Say why"}),
    ],
)
def test_a_submission_gets_an_error_under_each_field_that_is_wrong(
    until: str | None, reason: str | None, errors: dict[str, str]
) -> None:
    found = read_expectation(values(until, reason), today=TODAY)
    assert isinstance(found, dict)
    assert set(found) == set(errors)
    for block, text in errors.items():
        assert text in found[block]


def test_a_good_submission_reads_as_its_date_and_trimmed_reason() -> None:
    found = read_expectation(values("2026-12-06", "  spring   campaign "), today=TODAY)
    assert found == (TODAY, "spring campaign")


def test_the_modal_defaults_to_30_days_and_passes_slacks_models() -> None:
    modal = expected_modal("+14155550123", '{"r":"x"}', today=TODAY)
    assert view_errors(modal) == []
    until = next(b for b in modal["blocks"] if b.get("block_id") == "expected_until")
    assert until["element"]["initial_date"] == "2027-01-05"
    assert "+1 415-555-0123" in modal["blocks"][0]["text"]["text"]


def test_a_row_id_keeps_what_fits_in_255_characters_and_reads_back() -> None:
    row = Row(3, "+14155550123", "unassigned country:US", 20)
    assert read_row(row_id(row)) == row
    long = Row(4, "+14155550123", "agent " + "x" * 300, 0)
    assert len(row_id(long)) <= MAX_BLOCK_ID
    assert read_row(row_id(long)) == Row(4, "+14155550123")
    assert read_row("pager") == Row(0)
    assert read_row('{"n": "x", "o": true}') == Row(0)


def test_marking_a_row_replaces_its_buttons_with_what_became_of_the_number() -> None:
    ref = FollowUpRef(("orgapi", "default", "pn_1"), None)
    blocks = number_rows([(ref, "+14155550123", None), (ref, "+14155550124", None)], today=TODAY)
    second = blocks[3]["block_id"]
    marked = mark_row(blocks, second, "*+1 415-555-0124*: @alice since 2026-12-06")
    assert marked is not None
    assert marked[3] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "*+1 415-555-0124*: @alice since 2026-12-06"}],
        "block_id": second,
    }
    assert marked[1] == blocks[1]
    assert message_errors({"text": "t", "blocks": marked}) == []
    assert mark_row(blocks, "gone", "x") is None


async def test_a_page_of_20_unassigned_numbers_with_their_buttons_stays_within_limits(
    snapshot: Snapshot,
) -> None:
    assert snapshot.run is not None
    found = answer(
        parse("unassigned"), snapshot, now=snapshot.run.finished_at, interval_seconds=900
    )
    assert found.total > 20
    message = answer_message(
        found, now=snapshot.run.finished_at, numbers=answer_rows(found, offset=0)
    )
    assert message_errors(message) == []
    assert_within_limits(message)
    rows = [b for b in message["blocks"] if b["type"] == "actions" and b.get("block_id")]
    assert len(rows) == 20
    for row in rows:
        assert [e["action_id"] for e in row["elements"]] == [TAKE_ACTION, EXPECT_ACTION]
        assert read_row(row["block_id"]).query == "unassigned"


async def test_an_alert_carries_the_buttons_of_each_number_that_became_unassigned(
    snapshot: Snapshot,
) -> None:
    changes = [
        dataclasses.replace(c, kind=ChangeKind.UNASSIGNED, agent_before="agent_<x>")
        for c in snapshot.changes[:8]
    ]
    assert snapshot.run is not None
    result = RunResult(started_at=snapshot.run.started_at, run_id=2, total=200)
    result.changes = count_changes(changes)
    message = alert_message(result, changes)
    assert message is not None
    assert message_errors(message) == []
    assert_within_limits(message)
    rows = [b for b in message["blocks"] if b["type"] == "actions"]
    # The first five, as the alert lists them.
    assert len(rows) == 5
    assert [read_row(r["block_id"]).phone for r in rows] == [c.phone_number for c in changes[:5]]


async def test_the_home_tab_at_its_largest_stays_within_100_blocks_and_passes_the_models(
    snapshot: Snapshot,
) -> None:
    assert snapshot.run is not None
    now = snapshot.run.finished_at + dt.timedelta(days=40)
    costs = parse_rules('[{"source": "dialnexa", "monthly": 1.5}, {"monthly": 1.15}]')
    seen = glance(
        snapshot,
        now=now,
        costs=CostRules(costs),
        interval_seconds=900,
        sheet="https://docs.google.com/spreadsheets/d/abc",
        sheet_health=":white_check_mark: *Sheet*: ok",
    )
    unassigned = [n for n in snapshot.numbers if n.unassigned]
    assert seen.total.numbers == 200
    assert seen.total.unassigned == seen.total.idle == len(unassigned)
    by_source = {f.key: f for f in seen.sources}
    dialnexa = by_source["dialnexa/default"]
    assert dialnexa.idle_cost is not None
    assert dialnexa.idle_cost.amount == pytest.approx(1.5 * dialnexa.idle)
    followups = [
        (FollowUpRef(n.key, n.unassigned_since), n.phone_number, FollowUp(n.key, now, ALICE, now))
        for n in unassigned[:60]
    ]
    rows = number_rows(followups, today=now.date(), viewer=ALICE.user_id)
    # The viewer's own: only Expected, since they have it already.
    assert [e["action_id"] for e in rows[1]["elements"]] == [EXPECT_ACTION]
    view = home_view(seen, rows, now=now, mine=60, notice=":raising_hand: x")
    assert view_errors(view) == []
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS
    assert "and more: `/numbers mine` lists all 60" in str(view["blocks"][-2])
