"""`syncbot digest`: the week's changes, unassigned and idle now against a week ago, their cost,
and the unowned follow-ups oldest first with I'll take it; posted to the sandbox Slack, or
printed with --dry-run. On SQLite and on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block

from syncbot.costs import CostRules, parse_rules
from syncbot.digest import WEEK, Digest, Moment
from syncbot.followups import TAKE_ACTION, FollowUpCounts, FollowUpRef, Person, decode_ref
from syncbot.models import utc_now
from syncbot.normalize import international
from syncbot.sandbox.slack import FakeSlack
from syncbot.slack.digest_blocks import digest_message
from syncbot.slack.kit import MAX_BLOCKS
from syncbot.store import open_store
from syncbot.store.sql import SqlStore
from tests import pg
from tests.procs import clean_env, syncbot
from tests.runs import number, run

CHANNEL = "C0DIGEST"
ALICE = Person("U0ALICE", "alice")
BOB = Person("U0BOB", "bob")
COSTS = '[{"monthly": 2}]'
LISTING = "orgapi/default"


def at(days_ago: float) -> dt.datetime:
    return utc_now() - dt.timedelta(days=days_ago)


@pytest.fixture(params=pg.BACKENDS)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with pg.store_url(request.param, tmp_path) as found:
        yield found


@pytest.fixture
def history(url: str) -> Iterator[SqlStore]:
    """Six weeks of syncs: two numbers long idle, one unassigned this week, one taken, one
    expected, one gone; the run of eight days ago recorded its costs."""
    store = open_store(url)
    assert isinstance(store, SqlStore)
    store.migrate()
    old = [
        number("pn_idle_a", agent=None),
        number("pn_idle_b", agent=None),
        number("pn_taken", agent=None),
        number("pn_expected", agent=None),
        number("pn_routed"),
        number("pn_gone"),
    ]
    run(store, {LISTING: old}, at=at(45))
    run_id, _, result = run(store, {LISTING: old}, at=at(8))
    result.monthly_cost = CostRules(parse_rules(COSTS)).overview_of(
        store.tallies(idle_since=at(38))
    )
    store.update_run(run_id, result)
    now = [n for n in old if n.number_id != "pn_gone"] + [number("pn_new_free", agent=None)]
    now = [number("pn_routed", agent=None) if n.number_id == "pn_routed" else n for n in now]
    run(store, {LISTING: now}, at=at(1))
    store.take_followup(FollowUpRef(("orgapi", "default", "pn_taken")), ALICE)
    store.expect_followup(
        FollowUpRef(("orgapi", "default", "pn_expected")),
        BOB,
        until=at(-20).date(),
        reason="spring campaign",
    )
    yield store
    store.close()


def env_for(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    return clean_env(tmp_path, DATABASE_URL=url, NUMBER_COSTS=COSTS, **extra)


def block_kit_errors(blocks: list[dict[str, object]]) -> list[str]:
    """Blocks slack_sdk's models do not take back unchanged (what Slack would refuse)."""
    out = []
    for raw in blocks:
        parsed = Block.parse(raw)
        if parsed is None or parsed.to_dict() != raw:
            out.append(json.dumps(raw))
    return out


async def test_dry_run_prints_the_week_against_a_week_ago_and_the_unowned_oldest_first(
    history: SqlStore, url: str, tmp_path: Path
) -> None:
    code, out, err = await syncbot("digest", "--dry-run", env=env_for(tmp_path, url), cwd=tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "PHONE NUMBERS: THE WEEK"
    # This week: one added (unassigned), one removed, one lost its agent.
    assert "1 added · 1 removed · 1 became unassigned" in out
    assert "2 follow-up actions: 1 taken, 1 expected" in out
    # 6 unassigned now (idle_a, idle_b, taken, expected, routed, new), 4 a week ago; 4 idle now.
    assert "Unassigned: 6 (4 a week ago, +2) · 12.00 USD a month (8.00 USD a week ago)" in out
    assert "Idle 30 days or more: 4 (4 a week ago, +0)" in out
    assert (
        "Follow-ups: 6 open: 1 owned, 1 expected, 4 unowned · the unowned cost 8.00 USD a month"
        in out
    )
    listed = [line for line in lines if line.endswith("[I'll take it]")]
    # Oldest first: the two unassigned for 45 days, then this week's two; taken and expected
    # numbers are not listed.
    assert [line.split(" · ")[1].split(" (")[0] for line in listed] == [
        f"unassigned since {at(45).date().isoformat()}"
    ] * 2 + [f"unassigned since {at(1).date().isoformat()}"] * 2
    taken, expected = (international(number(i).phone_number) for i in ("pn_taken", "pn_expected"))
    assert taken not in out
    assert expected not in out
    assert "See it as Slack shows it: https://app.slack.com/block-kit-builder/#" in out


async def test_digest_posts_to_the_alert_channel_with_a_take_button_per_unowned_number(
    history: SqlStore, url: str, tmp_path: Path
) -> None:
    async with FakeSlack() as slack:
        env = env_for(tmp_path, url, **slack.env(), SLACK_ALERT_CHANNEL=CHANNEL)
        code, out, err = await syncbot("digest", env=env, cwd=tmp_path)
        assert code == 0, err
        [call] = slack.calls_to("chat.postMessage")
    assert call.args["channel"] == CHANNEL
    blocks = call.args["blocks"]
    assert block_kit_errors(blocks) == []
    buttons = [b["accessory"] for b in blocks if "accessory" in b]
    assert {b["action_id"] for b in buttons} == {TAKE_ACTION}
    refs = [decode_ref(b["value"]) for b in buttons]
    assert [r.key[2] for r in refs[:2]] == sorted(
        ["pn_idle_a", "pn_idle_b"], key=lambda i: number(i).phone_number
    )
    assert {r.key[2] for r in refs[2:]} == {"pn_routed", "pn_new_free"}
    # The buttons name the period they were drawn for: taking from the digest works.
    taken = history.take_followup(refs[0], ALICE)
    assert taken.action is not None
    assert "Digest posted" in out


async def test_digest_without_a_channel_exits_2_naming_the_setting(
    history: SqlStore, url: str, tmp_path: Path
) -> None:
    code, _out, err = await syncbot("digest", env=env_for(tmp_path, url), cwd=tmp_path)
    assert code == 2
    assert "SLACK_ALERT_CHANNEL" in err
    assert "--dry-run" in err


def test_a_long_digest_lists_the_oldest_twenty_and_counts_the_rest_within_slacks_limits() -> None:
    now = utc_now()
    unowned = [
        (
            number(f"pn_{i:02d}", agent=None, label="<!channel> & co").with_history(
                first_seen_at=now,
                last_seen_at=now,
                unassigned_since=now - dt.timedelta(days=60 - i),
                stale=False,
            ),
            1.5,
        )
        for i in range(30)
    ]
    digest = Digest(
        now=now,
        since=now - WEEK,
        run=None,
        changes={},
        actions=[],
        current=Moment(unassigned=30, idle=30),
        week_ago=None,
        followups=FollowUpCounts(open=30, unowned=30),
        unowned=unowned,
    )
    message = digest_message(digest, sheet="https://docs.google.com/spreadsheets/d/x")
    blocks = message["blocks"]
    assert len(blocks) <= MAX_BLOCKS
    assert block_kit_errors(blocks) == []
    refs = [decode_ref(b["accessory"]["value"]) for b in blocks if "accessory" in b]
    assert [r.key[2] for r in refs] == [f"pn_{i:02d}" for i in range(20)]
    assert "and 10 more: `/numbers unowned`" in json.dumps(blocks)
    assert "&lt;!channel&gt; &amp; co" in blocks[5]["text"]["text"]
    assert "nothing to compare with yet" in blocks[2]["text"]["text"]
