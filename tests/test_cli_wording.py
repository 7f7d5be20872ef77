"""What the terminal says: its own syntax, right plurals, measured durations, -v anywhere."""

from __future__ import annotations

import datetime as dt

import pytest

from syncbot.cli import build_parser
from syncbot.cli.render import answer_text, sync_summary
from syncbot.errors import QueryError
from syncbot.models import RunResult
from syncbot.query import Snapshot, answer, load_snapshot, parse
from syncbot.sandbox.providers import Sandbox
from syncbot.slack.blocks import answer_message
from syncbot.store import SqliteStore
from syncbot.sync import run_sync
from tests.conftest import settings_for
from tests.test_slack_app import message_texts


def ask(snapshot: Snapshot, text: str) -> str:
    assert snapshot.run is not None
    found = answer(parse(text), snapshot, now=snapshot.run.finished_at, interval_seconds=900)
    return answer_text(found)


@pytest.fixture
async def snapshot(sandbox: Sandbox, sqlite_store: SqliteStore) -> Snapshot:
    await run_sync(settings_for(sandbox), sqlite_store)
    return load_snapshot(sqlite_store)


@pytest.mark.parametrize("text", ["idle 30", "agent"])
def test_query_errors_show_the_words_to_type_not_slack_syntax(text: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert "/numbers" not in caught.value.message


async def test_query_help_in_the_terminal_leaves_out_the_slack_only_sync(
    snapshot: Snapshot,
) -> None:
    usage = ask(snapshot, "help")
    assert "syncbot query unassigned" in usage
    assert "syncbot query sync" not in usage


@pytest.mark.parametrize("argv", [["sync", "-v"], ["-v", "sync"], ["query", "--verbose", "x"]])
def test_verbose_is_accepted_before_or_after_the_command(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).verbose is True


def test_verbose_is_off_by_default() -> None:
    assert build_parser().parse_args(["sync"]).verbose is False


async def test_one_match_is_one_number(snapshot: Snapshot) -> None:
    phone = snapshot.numbers[0].phone_number
    assert ask(snapshot, phone).splitlines()[0] == f"1 number matches `{phone}`"


async def test_stats_in_slack_is_titled_by_what_it_counts(snapshot: Snapshot) -> None:
    assert snapshot.run is not None
    now = snapshot.run.finished_at
    found = answer(parse("stats"), snapshot, now=now, interval_seconds=900)
    assert message_texts(answer_message(found, now=now))[0] == "*40 numbers* in the latest sync"
    found = answer(parse("stats country:GB"), snapshot, now=now, interval_seconds=900)
    assert " match `stats country:GB`" in message_texts(answer_message(found, now=now))[0]


async def test_a_sync_reports_its_measured_duration(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    result = await run_sync(settings_for(sandbox), sqlite_store)
    assert result.duration > 0
    assert result.to_dict()["duration_seconds"] == round(result.duration, 3)


def test_a_short_sync_shows_hundredths_of_a_second() -> None:
    result = RunResult(started_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), duration=0.42)
    assert "(run None, 0.42 s)" in sync_summary(result, store_label="sqlite:///x.db")
