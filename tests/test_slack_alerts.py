"""After-sync alerts: one chat.postMessage to SLACK_ALERT_CHANNEL when something changed."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from syncbot.normalize import international, parse_phone
from syncbot.sandbox.data import inserted_records
from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.settings import Settings
from syncbot.slack import alert_hook
from syncbot.store import SqliteStore
from syncbot.sync import AfterRun, SyncOptions, run_sync
from tests.conftest import FAST, settings_for
from tests.procs import clean_env, syncbot

CHANNEL = "C0ALERTS"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def alerting(sandbox: Sandbox, fake: FakeSlack) -> Settings:
    return settings_for(sandbox, **fake.env(), SLACK_ALERT_CHANNEL=CHANNEL)


async def sync(sandbox: Sandbox, store: SqliteStore, hook: AfterRun | None) -> None:
    await run_sync(settings_for(sandbox), store, options=SyncOptions(policy=FAST), after_run=hook)


def posted(fake: FakeSlack) -> list[str]:
    return [json.dumps(call.args) for call in fake.calls_to("chat.postMessage")]


async def test_a_sync_with_changes_posts_one_alert_with_counts_and_the_first_numbers(
    sandbox: Sandbox, sqlite_store: SqliteStore, fake: FakeSlack
) -> None:
    hook = alert_hook(alerting(sandbox, fake))
    await sync(sandbox, sqlite_store, hook)
    sandbox.dialnexa.records += inserted_records("dialnexa", 8)
    await sync(sandbox, sqlite_store, hook)
    call = fake.calls_to("chat.postMessage")[1]
    assert call.args["channel"] == CHANNEL
    assert call.args["text"] == "Phone numbers changed in sync run 2: 8 added"
    added = call.args["blocks"][1]["text"]["text"]
    assert added.startswith("*8 added*: +")
    assert added.count(", ") == 4
    assert added.endswith(" and 3 more")


async def test_the_first_sync_into_an_empty_store_says_so_with_what_idle_numbers_cost(
    sandbox: Sandbox, sqlite_store: SqliteStore, fake: FakeSlack
) -> None:
    settings = settings_for(
        sandbox, **fake.env(), SLACK_ALERT_CHANNEL=CHANNEL, NUMBER_COSTS='[{"monthly": 2.5}]'
    )
    result = await run_sync(settings, sqlite_store, after_run=alert_hook(settings))
    (call,) = fake.calls_to("chat.postMessage")
    first = f"{result.total} numbers, {result.unassigned} unassigned"
    cost = f"{result.unassigned * 2.5:.2f} USD a month"
    assert call.args["text"] == f"first sync: {first} ({cost})"
    assert call.args["blocks"][1]["text"]["text"] == f"*First sync*: {first} ({cost})"
    assert " added" not in json.dumps(call.args)


async def test_a_sync_that_changed_nothing_posts_nothing(
    sandbox: Sandbox, sqlite_store: SqliteStore, fake: FakeSlack
) -> None:
    hook = alert_hook(alerting(sandbox, fake))
    await sync(sandbox, sqlite_store, hook)
    await sync(sandbox, sqlite_store, hook)
    assert len(posted(fake)) == 1


async def test_unassigned_numbers_and_a_newly_failing_source_are_alerted_each_as_what_it_is(
    sandbox: Sandbox, sqlite_store: SqliteStore, fake: FakeSlack
) -> None:
    hook = alert_hook(alerting(sandbox, fake))
    await sync(sandbox, sqlite_store, hook)
    record = next(r for r in sandbox.orgapi.records if r.get("assigned_agent_id"))
    record.update(status="free", assigned_agent_id=None)
    sandbox.dialnexa.options.always = Fault.status(503)
    await sync(sandbox, sqlite_store, hook)
    health, changed = posted(fake)[1:]
    assert "Source health changed in sync run 2: dialnexa/default failing" in health
    assert "*dialnexa/default is failing*: " in health
    assert "Phone numbers changed in sync run 2: 1 became unassigned" in changed
    e164 = parse_phone(record["phone_number"], None).e164
    assert e164 is not None
    assert "*1 became unassigned*: " + international(e164) in changed
    assert "dialnexa" not in changed


async def test_a_failing_source_is_told_once_and_its_recovery_once_across_processes(
    sandbox: Sandbox, sqlite_store: SqliteStore, fake: FakeSlack
) -> None:
    """Each sync gets a new hook, as each Heroku Scheduler run is a new process."""
    settings = alerting(sandbox, fake)
    await sync(sandbox, sqlite_store, alert_hook(settings))
    sandbox.dialnexa.options.always = Fault.status(401)
    for _ in range(3):
        await sync(sandbox, sqlite_store, alert_hook(settings))
    sandbox.dialnexa.options.always = None
    await sync(sandbox, sqlite_store, alert_hook(settings))
    await sync(sandbox, sqlite_store, alert_hook(settings))
    texts = [call.args["text"] for call in fake.calls_to("chat.postMessage")]
    assert texts == [
        "first sync: 40 numbers, 12 unassigned",
        "Source health changed in sync run 2: dialnexa/default failing",
        "Source health changed in sync run 5: dialnexa/default recovered",
    ]


async def test_there_is_no_alert_hook_without_an_alert_channel(
    sandbox: Sandbox, fake: FakeSlack
) -> None:
    assert alert_hook(settings_for(sandbox, **fake.env())) is None


async def test_a_refused_alert_is_logged_with_a_hint_and_never_fails_the_sync(
    sandbox: Sandbox,
    sqlite_store: SqliteStore,
    fake: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake.errors["chat.postMessage"] = "not_in_channel"
    with caplog.at_level(logging.INFO):
        result = await run_sync(
            settings_for(sandbox), sqlite_store, after_run=alert_hook(alerting(sandbox, fake))
        )
    assert result.status == "ok"
    (record,) = [r for r in caplog.records if r.getMessage() == "alert not posted"]
    assert record.fields["error"] == "not_in_channel"  # type: ignore[attr-defined]
    assert "invite the app" in record.fields["hint"]  # type: ignore[attr-defined]
    assert fake.bot_token not in caplog.text


async def test_the_sync_command_posts_the_alert_when_a_channel_is_set(
    sandbox: Sandbox, fake: FakeSlack, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env(), **fake.env(), SLACK_ALERT_CHANNEL=CHANNEL)
    code, _, err = await syncbot("sync", env=env, cwd=tmp_path)
    assert code == 0, err
    (call,) = fake.calls_to("chat.postMessage")
    assert call.args["text"].startswith("first sync: 40 numbers, ")
