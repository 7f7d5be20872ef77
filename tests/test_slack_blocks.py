"""Block Kit built by pure functions: escaping, paging values and Slack's size limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from syncbot.models import (
    Change,
    ChangeKind,
    RunResult,
    SourceResult,
    SourceState,
    ago,
    count_changes,
)
from syncbot.query import Answer, Snapshot, answer, load_snapshot, parse
from syncbot.sandbox.providers import Sandbox
from syncbot.slack.alert_messages import alert_message, health_message
from syncbot.slack.blocks import (
    MAX_BUTTON_VALUE,
    PAGE_SIZE,
    answer_message,
    first_of_page,
    page_value,
    read_page_value,
    sync_outcome,
    usage_message,
)
from syncbot.slack.kit import MAX_BLOCKS, MAX_TEXT, Message, clip, escape
from syncbot.store import SqliteStore
from syncbot.sync import run_sync
from tests.conftest import settings_for

HUGE = "<!here> & " * 2000


@pytest.fixture
async def snapshot(sandbox: Sandbox, sqlite_store: SqliteStore) -> Snapshot:
    await run_sync(settings_for(sandbox), sqlite_store)
    return load_snapshot(sqlite_store)


def ask(snapshot: Snapshot, text: str) -> Answer:
    assert snapshot.run is not None
    return answer(parse(text), snapshot, now=snapshot.run.finished_at, interval_seconds=900)


def texts(value: Any) -> Iterator[tuple[str, str]]:
    """Every (kind, text) in a message: mrkdwn, plain_text, button values."""
    if isinstance(value, dict):
        if value.get("type") in {"mrkdwn", "plain_text"}:
            yield value["type"], value["text"]
        if value.get("type") == "button":
            yield "value", value["value"]
        for item in value.values():
            yield from texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts(item)


def assert_within_limits(message: Message) -> None:
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert len(message["text"]) <= MAX_TEXT
    for kind, text in texts(message["blocks"]):
        limit = {"value": MAX_BUTTON_VALUE, "plain_text": 150}.get(kind, MAX_TEXT)
        assert len(text) <= limit, (kind, len(text))


def test_escape_turns_slacks_control_characters_into_entities() -> None:
    assert escape("<!channel> & <@U123|bob>") == "&lt;!channel&gt; &amp; &lt;@U123|bob&gt;"


def test_clip_keeps_the_limit_and_never_leaves_half_an_entity() -> None:
    text = escape("a" * 2996 + "&&&")
    clipped = clip(text)
    assert len(clipped) <= MAX_TEXT
    assert clipped.endswith("a…")
    assert clip("short") == "short"


async def test_hostile_provider_text_never_reaches_a_message_unescaped(
    snapshot: Snapshot,
) -> None:
    everything = ask(snapshot, "source:orgapi source:dialnexa")
    hostile = [
        dataclasses.replace(n, label=HUGE, agent_id="<@U0BOSS>", carrier="<!subteam^S1>")
        for n in everything.numbers
    ]
    message = answer_message(
        dataclasses.replace(everything, numbers=hostile), now=dt.datetime.now(dt.UTC)
    )
    dumped = json.dumps(message)
    for raw in ("<!here>", "<@U0BOSS>", "<!subteam"):
        assert raw not in dumped
    assert "&lt;@U0BOSS&gt;" in dumped
    assert_within_limits(message)


async def test_every_answer_stays_within_slacks_limits_with_extreme_inputs(
    snapshot: Snapshot,
) -> None:
    now = dt.datetime.now(dt.UTC)
    states = [SourceState("orgapi", f"account-{i}", "failed", None, now, HUGE) for i in range(300)]
    stats = {key: {f"{HUGE[:50]}{i}": i for i in range(500)} for key in ("by_source", "by_country")}
    long_query = "source:" + "x" * 3000
    for text in ("unassigned", "changes", "stats", "status", "help"):
        found = ask(snapshot, text)
        found = dataclasses.replace(
            found,
            query=dataclasses.replace(found.query, text=long_query),
            warnings=[HUGE] * 40,
            states=states,
            stats=stats if text == "stats" else found.stats,
            changes=[dataclasses.replace(c, label=HUGE) for c in found.changes],
        )
        assert_within_limits(answer_message(found, now=now, offset=10**9))
    assert_within_limits(usage_message(HUGE))


async def test_a_query_too_long_for_a_button_keeps_the_total_but_gets_no_buttons(
    snapshot: Snapshot,
) -> None:
    found = ask(snapshot, "source:orgapi source:dialnexa")
    long_text = found.query.text + " " + "country:US " * 300
    found = dataclasses.replace(found, query=dataclasses.replace(found.query, text=long_text))
    message = answer_message(found, now=dt.datetime.now(dt.UTC))
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert any("of 40." in t for _, t in texts(message["blocks"]))


def test_a_page_value_round_trips_and_anything_else_reads_as_the_first_page() -> None:
    value = page_value("unassigned country:GB", 40)
    assert value is not None
    assert read_page_value(value) == ("unassigned country:GB", 40)
    for garbage in ("", "nope", "[]", '{"q": 1, "o": 2}', '{"q": "x", "o": true}', '{"q": "x"}'):
        assert read_page_value(garbage) == ("", 0)
    assert read_page_value('{"q": "x", "o": -20}') == ("x", 0)


def test_an_offset_past_the_end_of_a_shrunken_list_shows_its_last_page() -> None:
    assert first_of_page(60, 45) == 40
    assert first_of_page(25, 100) == 20
    assert first_of_page(0, 0) == 0
    assert first_of_page(PAGE_SIZE, PAGE_SIZE) == 0


def _run(run_id: int = 7, **failed: str) -> RunResult:
    now = dt.datetime.now(dt.UTC)
    result = RunResult(started_at=now, finished_at=now, run_id=run_id, total=40, unassigned=12)
    result.sources = {"orgapi/default": SourceResult("orgapi", "default")}
    for key, error in failed.items():
        source, account = key.split("__")
        result.sources[f"{source}/{account}"] = SourceResult(
            source, account, status="failed", error=error
        )
    result.settle()
    return result


def test_alert_message_is_none_when_nothing_changed() -> None:
    assert alert_message(_run(), []) is None


def test_a_health_alert_is_titled_as_one_and_names_each_failing_and_recovered_source() -> None:
    result = _run(9, dialnexa__default="HTTP 503 <html>")
    result.sources["orgapi/default"].count = 21
    result.health = {"dialnexa/default": "failing", "orgapi/default": "recovered"}
    message = health_message(result)
    assert message is not None
    assert message["text"] == (
        "Source health changed in sync run 9: dialnexa/default failing; orgapi/default recovered"
    )
    assert message["blocks"][0]["text"]["text"] == "Source health changed in sync run 9"
    body = json.dumps(message)
    assert "*dialnexa/default is failing*: HTTP 503 &lt;html&gt;. Its previous numbers" in body
    assert "*orgapi/default recovered*: 21 numbers listed." in body
    assert health_message(_run()) is None


async def test_alert_message_counts_each_kind_and_lists_the_first_five(
    snapshot: Snapshot,
) -> None:
    added = snapshot.changes[:12]
    gone = [dataclasses.replace(c, kind=ChangeKind.REMOVED, label="<!channel>") for c in added[:2]]
    result = _run()
    result.changes = count_changes([*added, *gone])
    message = alert_message(result, [*added, *gone])
    assert message is not None
    body = json.dumps(message)
    assert "*12 added*: " in body
    assert "and 7 more" in body
    assert "*2 removed*: " in body
    assert message["text"] == "Phone numbers changed in sync run 7: 2 removed; 12 added"
    assert "<!channel>" not in body
    assert_within_limits(message)


def test_a_sync_outcome_names_failed_sources_with_their_error() -> None:
    message = sync_outcome(_run(3, dialnexa__default="HTTP 403 <b>"))
    assert message["text"].startswith(":warning: Sync partial (run 3,")
    assert any("dialnexa/default* failed: HTTP 403 &lt;b&gt;" in t for _, t in texts(message))


def test_changes_of_every_kind_read_as_what_happened() -> None:
    now = dt.datetime.now(dt.UTC)
    base = Change(ChangeKind.ADDED, "orgapi", "default", "1", "+14155550100", None, None, None, now)
    kinds = {
        ChangeKind.ASSIGNED: ("agent_a", None, "assigned to agent_a"),
        ChangeKind.UNASSIGNED: (None, "agent_b", "unassigned (was agent_b)"),
        ChangeKind.REASSIGNED: ("agent_c", "agent_d", "reassigned from agent_d to agent_c"),
    }
    for kind, (after, before, wording) in kinds.items():
        change = dataclasses.replace(base, kind=kind, agent_after=after, agent_before=before)
        found = Answer(query=parse("changes"), changes=[change])
        message = answer_message(found, now=now)
        assert any(wording in t for _, t in texts(message["blocks"])), kind


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(-3, "0 s"), (119, "119 s"), (3600, "60 min"), (7199, "119 min"), (7200, "2 h"),
     (172_799, "47 h"), (3 * 86400 + 5, "3 days")],
)  # fmt: skip
def test_a_duration_is_said_one_way_everywhere_rounded_down(seconds: int, said: str) -> None:
    assert ago(dt.timedelta(seconds=seconds)) == said
