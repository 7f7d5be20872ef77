"""The Slack app as Slack sees it: the aiohttp app ``serve`` runs, on a loopback port, receiving
requests signed with Slack's v0 scheme, and talking to a fake Slack Web API on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from syncbot.followups import EXPECT_ACTION, TAKE_ACTION
from syncbot.models import PhoneNumber
from syncbot.normalize import international
from syncbot.query import Snapshot, answer, load_snapshot, parse
from syncbot.sandbox._server import serve
from syncbot.sandbox.data import HOSTILE_LABELS
from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import USER_ID
from syncbot.slack import background
from syncbot.slack import snapshot as snapshot_module
from syncbot.slack.app import create_web_app
from syncbot.slack.middleware import READ_TIMEOUT_SECONDS
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions, run_sync
from tests.conftest import FAST, settings_for
from tests.procs import LIMIT
from tests.test_slack_signature import BODY as EXAMPLE_BODY
from tests.test_slack_signature import SECRET as EXAMPLE_SECRET
from tests.test_slack_signature import SIGNATURE as EXAMPLE_SIGNATURE
from tests.test_slack_signature import TIMESTAMP as EXAMPLE_TIMESTAMP

ADMIN = "U0ADMIN"
SHEET_ID = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
EVERYTHING = "source:orgapi source:dialnexa"
PHONE = re.compile(r"^\*([^*]+)\*")


@dataclasses.dataclass
class Reply:
    status: int
    text: str
    headers: CIMultiDict[str]

    @property
    def json(self) -> dict[str, Any]:
        data = json.loads(self.text)
        assert isinstance(data, dict)
        return data

    @property
    def texts(self) -> list[str]:
        """Every mrkdwn text of the message, in order."""
        return message_texts(self.json)

    @property
    def phones(self) -> list[str]:
        return message_phones(self.json)


def message_texts(message: dict[str, Any]) -> list[str]:
    out = []
    for block in message.get("blocks", []):
        if "text" in block:
            out.append(block["text"]["text"])
        out += [
            e["text"] for e in block.get("elements", []) if "text" in e and e["type"] != "button"
        ]
    return out


def message_phones(message: dict[str, Any]) -> list[str]:
    return [m.group(1) for t in message_texts(message) if (m := PHONE.match(t)) and "\n" in t]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The answer's own buttons (paging, sharing), not each number's follow-up buttons."""
    return {
        e["action_id"]: e["value"]
        for block in message["blocks"]
        if block["type"] == "actions"
        for e in block["elements"]
        if e["action_id"] not in {TAKE_ACTION, EXPECT_ACTION}
    }


@dataclasses.dataclass
class App:
    """A running app and the means to talk to it as Slack does."""

    url: str
    http: aiohttp.ClientSession
    fake: FakeSlack
    store: SqliteStore
    sandbox: Sandbox

    async def post(self, body: str, headers: dict[str, str]) -> Reply:
        async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as r:
            return Reply(r.status, await r.text(), CIMultiDict(r.headers))

    async def command(self, text: str, **fields: Any) -> Reply:
        body = self.fake.command_body(text, **fields)
        return await self.post(body, self.fake.signed_headers(body))

    async def click(self, action_id: str, value: str, **fields: Any) -> Reply:
        body = self.fake.action_body(action_id, value, **fields)
        return await self.post(body, self.fake.signed_headers(body))

    async def health(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(f"{self.url}/healthz") as r:
            return r.status, await r.json()

    async def wait_for_run(self, run_id: int | None) -> None:
        """Until the app answers from ``run_id`` (``None``: until it has loaded anything)."""
        async with asyncio.timeout(LIMIT):
            while True:
                _, body = await self.health()
                loaded = body.get("status") != "starting"
                if loaded and (run_id is None or body["latest_sync"]["run_id"] == run_id):
                    return
                await asyncio.sleep(0.02)

    async def wait_for_lock(self, *, held: bool = True) -> None:
        """Until the app has seen the run lock taken (or free again)."""
        async with asyncio.timeout(LIMIT):
            while True:
                _, body = await self.health()
                if (body.get("run_lock") is not None) == held:
                    return
                await asyncio.sleep(0.02)

    def snapshot(self) -> Snapshot:
        return load_snapshot(self.store)


@contextlib.asynccontextmanager
async def running_app(
    sandbox: Sandbox,
    store: SqliteStore,
    *,
    synced: bool = True,
    clock: Callable[[], float] = time.time,
    read_timeout: float = READ_TIMEOUT_SECONDS,
    **extra: str,
) -> AsyncIterator[App]:
    if synced:
        await run_sync(settings_for(sandbox), store)
    async with FakeSlack(clock=clock) as fake:
        settings = settings_for(sandbox, **{**fake.env(), "SLACK_ADMIN_USER_IDS": ADMIN, **extra})
        web_app = create_web_app(
            settings, store, clock=clock, poll_seconds=0.02, read_timeout=read_timeout
        )
        async with serve(web_app) as running, aiohttp.ClientSession() as http:
            app = App(running.url, http, fake, store, sandbox)
            await app.wait_for_run(None)
            yield app


@pytest.fixture
async def app(sandbox: Sandbox, sqlite_store: SqliteStore) -> AsyncIterator[App]:
    async with running_app(sandbox, sqlite_store) as running:
        yield running


def engine(app: App, text: str, *, now: dt.datetime | None = None) -> Any:
    snapshot = app.snapshot()
    assert snapshot.run is not None
    return answer(parse(text), snapshot, now=now or snapshot.run.finished_at, interval_seconds=900)


# --- the grammar, word by word -------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "help", "HELP"])
async def test_empty_text_and_help_answer_with_the_usage(app: App, text: str) -> None:
    reply = await app.command(text)
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert "/numbers agent &lt;agent_id&gt;" in reply.texts[0]
    assert "/numbers sync" in reply.texts[0]


@pytest.mark.parametrize(
    "text",
    [
        "unassigned",
        "assigned",
        "agent agent_sales_eu",
        "source:orgapi",
        "account:default",
        "country:US",
        "type:mobile",
        "carrier:twilio",
        "unassigned country:US type:local",
        "idle 0d",
        EVERYTHING,
    ],
)
async def test_each_listing_word_answers_with_the_query_engines_numbers(
    app: App, text: str
) -> None:
    expected = engine(app, text)
    reply = await app.command(text)
    assert reply.status == 200
    assert reply.json["response_type"] == "ephemeral"
    assert expected.total > 0
    assert reply.texts[0].startswith(f"*{expected.total:,} numbers* match")
    assert reply.phones == [international(n.phone_number) for n in expected.numbers[:20]]


def _us_number(app: App) -> PhoneNumber:
    return next(
        n
        for n in app.snapshot().numbers
        if n.valid and n.phone_number.startswith("+1") and len(n.phone_number) == 12
    )


@pytest.mark.parametrize(
    "fmt",
    [
        lambda d: f"+1 {d[:3]} {d[3:6]} {d[6:]}",
        lambda d: f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}",
        lambda d: f"001 {d[:3]} {d[3:6]} {d[6:]}",
        lambda d: f"1-{d[:3]}-{d[3:6]}-{d[6:]}",
        lambda d: f"{d[:3]}.{d[3:6]}.{d[6:]}",
        lambda d: d[3:],
    ],
    ids=["e164-spaced", "parentheses", "00-prefix", "dashes", "dots", "digit-run"],
)
async def test_a_number_in_any_common_format_or_a_digit_run_finds_it(
    app: App, fmt: Callable[[str], str]
) -> None:
    wanted = _us_number(app)
    reply = await app.command(fmt(wanted.phone_number[2:]))
    assert international(wanted.phone_number) in reply.phones


async def test_unknown_word_gets_the_usage_with_a_did_you_mean(app: App) -> None:
    reply = await app.command("unasigned")
    assert reply.status == 200
    assert 'I don\'t know "unasigned". Did you mean "unassigned"?' in reply.texts[0]
    assert "/numbers idle 30d" in reply.texts[1]


async def test_stats_counts_by_source_status_country_and_type(app: App) -> None:
    expected = engine(app, "stats").stats
    reply = await app.command("stats")
    text = "\n".join(reply.texts)
    for title, key in (("By source", "by_source"), ("By status", "by_status")):
        assert title in text
        for name, count in expected[key].items():
            assert f"{name} {count:,}" in text
    assert "By country" in text
    assert "By type" in text


async def test_changes_lists_the_latest_syncs_changes(app: App) -> None:
    reply = await app.command("changes")
    assert reply.texts[0].startswith("*40 changes* match")
    assert all(" added · " in t for t in reply.texts[1:21])


async def test_status_shows_the_latest_sync_and_each_sources_health(app: App) -> None:
    reply = await app.command("status")
    text = "\n".join(reply.texts)
    assert "*Latest sync*: run 1, ok" in text
    assert "40 numbers" in text
    assert ":white_check_mark: *orgapi/default*: ok" in text
    assert ":white_check_mark: *dialnexa/default*: ok" in text


async def test_idle_counts_days_since_a_number_became_unassigned(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    forty_days_later = time.time() + 40 * 86400
    async with running_app(sandbox, sqlite_store, clock=lambda: forty_days_later) as app:
        unassigned = engine(app, "unassigned").total
        idle = await app.command("idle 30d")
        assert f"*{unassigned:,} numbers* match" in "\n".join(idle.texts)
        none = await app.command("idle 60d")
        assert "No numbers match" in "\n".join(none.texts)


async def test_idle_and_stats_say_what_the_numbers_cost_a_month(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    forty_days_later = time.time() + 40 * 86400
    rules = '[{"source": "dialnexa", "monthly": 1.5}, {"monthly": 1.15}]'
    async with running_app(
        sandbox, sqlite_store, clock=lambda: forty_days_later, NUMBER_COSTS=rules
    ) as app:
        now = dt.datetime.fromtimestamp(forty_days_later, dt.UTC)
        idle = engine(app, "idle 30d", now=now).numbers
        cost = sum(1.5 if n.source == "dialnexa" else 1.15 for n in idle)
        reply = await app.command("idle 30d")
        expected = f"{len(idle)} numbers unassigned for 30 days or more: {cost:.2f} USD a month"
        assert expected in reply.texts[1]
        assert expected in reply.json["text"]
        stats = "\n".join((await app.command("stats")).texts)
        assert f"All 40 numbers: {20 * 1.15 + 20 * 1.5:.2f} USD a month" in stats
        assert f"{len(idle)} unassigned for 30 days or more: {cost:.2f} USD a month" in stats


# --- warnings, escaping, paging ------------------------------------------------------------


async def test_a_sync_older_than_twice_the_interval_puts_a_warning_first(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await run_sync(settings_for(sandbox), sqlite_store)
    run = sqlite_store.latest_run()
    assert run is not None
    # From the run's own end, not the test's start: a slow sync must not make it "59 min".
    an_hour_later = run.finished_at.timestamp() + 3600
    async with running_app(sandbox, sqlite_store, synced=False, clock=lambda: an_hour_later) as app:
        reply = await app.command("unassigned")
        assert reply.texts[0].startswith(":warning: The latest sync finished 60 min ago")


async def test_a_failed_source_puts_a_stale_warning_first(app: App) -> None:
    app.sandbox.dialnexa.options.always = Fault.status(503)
    await run_sync(settings_for(app.sandbox), app.store, options=SyncOptions(policy=FAST))
    await app.wait_for_run(2)
    reply = await app.command("unassigned")
    assert reply.texts[0].startswith(":warning: dialnexa/default is stale")


async def test_provider_text_is_escaped_so_a_label_can_never_ping_anyone(app: App) -> None:
    hostile = {n.label: n for n in app.snapshot().numbers if n.label in HOSTILE_LABELS}
    channel = await app.command(hostile["<!channel> ping"].phone_number)
    assert "“&lt;!channel&gt; ping”" in "\n".join(channel.texts)
    assert "<!channel>" not in channel.text
    amp = await app.command(hostile["A & B <b>"].phone_number)
    assert "“A &amp; B &lt;b&gt;”" in "\n".join(amp.texts)


async def test_a_list_longer_than_20_shows_20_the_total_and_a_link_to_the_sheet(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with running_app(sandbox, sqlite_store, GOOGLE_SHEET_ID=SHEET_ID) as app:
        reply = await app.command(EVERYTHING)
        assert len(reply.phones) == 20
        assert reply.texts[0] == f"*40 numbers* match `{EVERYTHING}` (showing 1 to 20)."
        sheet = f"<https://docs.google.com/spreadsheets/d/{SHEET_ID}|the Google Sheet>"
        assert f"Showing 1 to 20 of 40. The full list is in {sheet}." in reply.texts
        assert list(buttons(reply.json)) == ["numbers_page_next", "numbers_share"]


async def test_without_a_sheet_a_long_list_still_shows_the_total_but_no_link(app: App) -> None:
    reply = await app.command(EVERYTHING)
    assert "Showing 1 to 20 of 40." in reply.texts
    assert "docs.google.com" not in reply.text


async def test_next_and_previous_buttons_page_by_editing_the_message(app: App) -> None:
    expected = [international(n.phone_number) for n in engine(app, EVERYTHING).numbers]
    first = await app.command(EVERYTHING)

    clicked = await app.click("numbers_page_next", buttons(first.json)["numbers_page_next"])
    assert clicked.status == 200
    (second,) = await app.fake.wait_for_replies(1)
    assert second.body["replace_original"] is True
    assert message_phones(second.body) == expected[20:40]
    assert list(buttons(second.body)) == ["numbers_page_prev", "numbers_share"]

    await app.click("numbers_page_prev", buttons(second.body)["numbers_page_prev"])
    third = (await app.fake.wait_for_replies(2))[1]
    assert third.body["replace_original"] is True
    assert message_phones(third.body) == expected[:20]


@pytest.fixture
async def still_app(sandbox: Sandbox, sqlite_store: SqliteStore) -> AsyncIterator[App]:
    """An app whose clock stands still: an answer computed again says the same "N s ago"."""
    now = time.time()
    async with running_app(sandbox, sqlite_store, clock=lambda: now) as running:
        yield running


@pytest.mark.parametrize("text", ["unassigned", EVERYTHING, "stats", "changes", "status"])
async def test_share_in_channel_posts_the_answer_for_everyone_through_the_response_url(
    still_app: App, text: str
) -> None:
    app = still_app
    asked = await app.command(text)
    value = buttons(asked.json)["numbers_share"]
    clicked = await app.click("numbers_share", value, response_url=app.fake.response_url("s1"))
    assert clicked.status == 200
    (posted,) = await app.fake.wait_for_replies(1)
    assert posted.name == "s1"
    assert posted.body["response_type"] == "in_channel"
    assert posted.body["replace_original"] is False
    # The same answer, without buttons nobody else should press, saying who shared it.
    assert message_texts(posted.body) == [*asked.texts, f"Shared by <@{USER_ID}> with `/numbers`."]
    assert all(block["type"] != "actions" for block in posted.body["blocks"])
    assert posted.body["text"] == asked.json["text"]


async def test_sharing_a_later_page_shares_that_page(still_app: App) -> None:
    app = still_app
    first = await app.command(EVERYTHING)
    await app.click("numbers_page_next", buttons(first.json)["numbers_page_next"])
    (second,) = await app.fake.wait_for_replies(1)
    await app.click("numbers_share", buttons(second.body)["numbers_share"])
    shared = (await app.fake.wait_for_replies(2))[1]
    assert message_phones(shared.body) == message_phones(second.body)
    assert shared.body["response_type"] == "in_channel"


# --- /numbers sync ------------------------------------------------------------------------


async def test_sync_from_a_non_admin_is_politely_refused_and_starts_nothing(app: App) -> None:
    reply = await app.command("sync", user_id=USER_ID)
    assert reply.texts == [
        "Sorry, only syncbot's admins can start a sync. The scheduled one runs every 15 min, "
        "and `/numbers status` shows how the latest went."
    ]
    await asyncio.sleep(0.2)
    assert app.fake.replies == []
    latest = app.store.latest_run()
    assert latest is not None
    assert latest.run_id == 1


async def test_sync_from_an_admin_acks_at_once_and_reports_through_response_url(
    app: App,
) -> None:
    # The sync's listing waits until the acknowledgement is in: order, not a stopwatch.
    listing = asyncio.Event()
    app.sandbox.orgapi.options.hold = listing
    reply = await app.command("sync", user_id=ADMIN)
    assert reply.texts == [":arrows_counterclockwise: Sync started. I'll post the outcome here."]
    assert app.fake.replies == []
    listing.set()
    (outcome,) = await app.fake.wait_for_replies(1)
    assert outcome.body["text"].startswith(":white_check_mark: Sync ok (run 2,")
    latest = app.store.latest_run()
    assert latest is not None
    assert latest.run_id == 2


async def test_a_requested_sync_runs_in_a_process_of_its_own_not_in_the_web_process(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web dyno's memory is the app's alone: a sync (a full sheet, a first sync of
    400,000 numbers) peaks in a child process that gives its memory back when it ends."""

    async def not_here(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sync ran in the web process")

    monkeypatch.setattr(background, "run_sync", not_here)
    await app.command("sync", user_id=ADMIN)
    (outcome,) = await app.fake.wait_for_replies(1)
    assert outcome.body["text"].startswith(":white_check_mark: Sync ok (run 2,")
    latest = app.store.latest_run()
    assert latest is not None
    assert latest.run_id == 2


async def test_a_second_sync_request_while_one_runs_is_told_one_is_running(app: App) -> None:
    app.sandbox.orgapi.options.latency_ms = 300
    first = await app.command("sync", user_id=ADMIN)
    second = await app.command("sync", user_id=ADMIN)
    assert "Sync started" in first.texts[0]
    assert second.texts[0].startswith(":hourglass: A sync is already running")
    replies = await app.fake.wait_for_replies(1)
    await asyncio.sleep(0.1)
    assert len(replies) == len(app.fake.replies) == 1
    latest = app.store.latest_run()
    assert latest is not None
    assert latest.run_id == 2


# --- who may ask --------------------------------------------------------------------------


async def test_a_workspace_outside_allowed_team_ids_is_refused_with_a_clear_message(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with running_app(sandbox, sqlite_store, SLACK_ALLOWED_TEAM_IDS="T0SANDBOX") as app:
        refused = await app.command("unassigned", team_id="T0ELSEWHERE")
        assert refused.status == 200
        assert refused.texts[0].startswith(":no_entry: syncbot does not answer in this workspace")
        assert refused.phones == []
        allowed = await app.command("unassigned", team_id="T0SANDBOX")
        assert allowed.phones


async def test_a_wrong_signature_gets_401_and_no_answer(app: App) -> None:
    body = app.fake.command_body("unassigned")
    headers = app.fake.signed_headers(body)
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    reply = await app.post(body, headers)
    assert reply.status == 401
    assert "numbers" not in reply.text


async def test_a_missing_signature_gets_401(app: App) -> None:
    body = app.fake.command_body("unassigned")
    reply = await app.post(body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 401


@pytest.mark.parametrize("skew", [-301, 301])
async def test_a_timestamp_more_than_five_minutes_off_gets_401(app: App, skew: int) -> None:
    body = app.fake.command_body("unassigned")
    reply = await app.post(body, app.fake.signed_headers(body, timestamp=time.time() + skew))
    assert reply.status == 401


async def test_an_unsigned_request_with_a_malformed_body_gets_401_not_an_error(
    app: App,
) -> None:
    reply = await app.post("{not json", {"Content-Type": "application/json"})
    assert reply.status == 401


async def test_the_text_slack_escapes_is_read_as_the_user_typed_it(app: App) -> None:
    reply = await app.command("unassigned &lt;x&gt; &amp;")
    assert reply.texts[0] == ':grey_question: I don\'t know "&lt;x&gt;".'


async def test_a_user_id_changed_after_signing_gets_401(app: App) -> None:
    body = app.fake.command_body("sync", user_id=USER_ID)
    headers = app.fake.signed_headers(body)
    forged = body.replace(f"user_id={USER_ID}", f"user_id={ADMIN}")
    reply = await app.post(forged, headers)
    assert reply.status == 401
    await asyncio.sleep(0.1)
    assert app.fake.replies == []


async def test_slacks_published_example_request_is_answered_at_its_timestamp(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    def then() -> float:
        return float(EXAMPLE_TIMESTAMP)

    async with running_app(
        sandbox, sqlite_store, clock=then, SLACK_SIGNING_SECRET=EXAMPLE_SECRET
    ) as app:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(EXAMPLE_TIMESTAMP),
            "X-Slack-Signature": EXAMPLE_SIGNATURE,
        }
        accepted = await app.post(EXAMPLE_BODY, headers)
        assert accepted.status == 200
        assert "/numbers unassigned" in accepted.texts[0]
        tampered = await app.post(EXAMPLE_BODY.replace("text=", "text=stats"), headers)
        assert tampered.status == 401


async def test_ssl_check_is_answered_200_without_running_a_query(app: App) -> None:
    reply = await app.post(
        "ssl_check=1&token=legacy", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert reply.status == 200
    assert reply.text == ""


async def test_a_slack_retry_is_acknowledged_without_answering_twice(app: App) -> None:
    body = app.fake.command_body("unassigned")
    headers = {**app.fake.signed_headers(body), "X-Slack-Retry-Num": "1"}
    reply = await app.post(body, headers)
    assert reply.status == 200
    assert reply.text == ""
    assert reply.headers["X-Slack-No-Retry"] == "1"


# --- where answers come from --------------------------------------------------------------


async def test_answers_come_from_memory_without_calling_a_provider(app: App) -> None:
    before = len(app.sandbox.orgapi.requests) + len(app.sandbox.dialnexa.requests)
    app.sandbox.orgapi.options.always = Fault.status(500)
    app.sandbox.dialnexa.options.always = Fault.status(500)
    for text in ("unassigned", "stats", "changes", "status", EVERYTHING):
        reply = await app.command(text)
        assert reply.status == 200
    assert len(app.sandbox.orgapi.requests) + len(app.sandbox.dialnexa.requests) == before


async def test_answers_follow_a_newer_sync_without_a_restart(app: App) -> None:
    before = engine(app, "unassigned").total
    record = next(r for r in app.sandbox.orgapi.records if r.get("assigned_agent_id"))
    record.update(status="free", assigned_agent_id=None)
    await run_sync(settings_for(app.sandbox), app.store)
    await app.wait_for_run(2)
    reply = await app.command("unassigned")
    assert reply.texts[0].startswith(f"*{before + 1:,} numbers* match")
    changes = await app.command("changes")
    assert changes.texts[0].startswith("*1 change* matches")


async def test_while_a_newer_sync_loads_answers_keep_coming_from_the_previous_one(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def slow_load(store: SqliteStore) -> Snapshot:
        release.wait(5)
        return load_snapshot(store)

    monkeypatch.setattr(snapshot_module, "load_snapshot", slow_load)
    await run_sync(settings_for(app.sandbox), app.store)
    await asyncio.sleep(0.1)  # several polls: the reload of run 2 has started and is blocked
    try:
        during = await app.command("unassigned")
        assert "From sync run 1 " in "\n".join(during.texts)
    finally:
        release.set()
    await app.wait_for_run(2)
    after = await app.command("unassigned")
    assert "From sync run 2 " in "\n".join(after.texts)


async def test_an_unexpected_error_gives_one_clear_message_and_no_traceback(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail")

    monkeypatch.setattr("syncbot.slack.app.answer", broken)
    with caplog.at_level(logging.ERROR):
        reply = await app.command("unassigned")
    assert reply.status == 200
    (text,) = reply.texts
    reference = re.search(r"reference `([0-9a-f]{8})`", text)
    assert reference is not None
    assert "internal detail" not in reply.text
    assert "Traceback" not in reply.text
    logged = [r for r in caplog.records if getattr(r, "fields", {}).get("reference")]
    assert logged[0].fields["reference"] == reference.group(1)  # type: ignore[attr-defined]


# --- /healthz ------------------------------------------------------------------------------


async def test_healthz_is_503_before_any_sync(sandbox: Sandbox, sqlite_store: SqliteStore) -> None:
    async with running_app(sandbox, sqlite_store, synced=False) as app:
        status, body = await app.health()
        assert status == 503
        assert body["status"] == "no_sync"
        reply = await app.command("unassigned")
        assert reply.texts[0].startswith(":warning: No sync has run yet")


async def test_healthz_reports_the_latest_syncs_age_and_each_sources_health(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await run_sync(settings_for(sandbox), sqlite_store)
    sandbox.dialnexa.options.always = Fault.status(503)
    await run_sync(settings_for(sandbox), sqlite_store, options=SyncOptions(policy=FAST))
    run = sqlite_store.latest_run()
    assert run is not None
    later = run.finished_at.timestamp() + 42
    async with running_app(sandbox, sqlite_store, synced=False, clock=lambda: later) as app:
        await app.wait_for_run(2)
        status, body = await app.health()
    assert status == 200
    assert body["status"] == "degraded"
    assert body["latest_sync"]["run_id"] == 2
    assert body["latest_sync"]["status"] == "partial"
    assert body["latest_sync"]["age_seconds"] == 42
    assert body["sources"]["orgapi/default"]["status"] == "ok"
    assert body["sources"]["dialnexa/default"]["status"] == "failed"
    assert body["sources"]["dialnexa/default"]["stale"] is True


# --- Socket Mode ---------------------------------------------------------------------------


async def test_socket_mode_answers_a_slash_command_without_a_public_url(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await run_sync(settings_for(sandbox), sqlite_store)
    async with FakeSlack() as fake:
        settings = settings_for(
            sandbox,
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_APP_TOKEN=fake.app_token,
            SLACK_API_URL=fake.api_url,
        )
        web_app = create_web_app(settings, sqlite_store, poll_seconds=0.02)
        async with serve(web_app) as running, aiohttp.ClientSession() as http:
            ack = await fake.socket_request("slash_commands", fake.command_payload("unassigned"))
            assert message_phones(ack["payload"])
            assert ack["payload"]["response_type"] == "ephemeral"
            assert fake.calls_to("apps.connections.open")
            # Without a signing secret, nothing that comes over HTTP can be verified.
            body = fake.command_body("unassigned")
            async with http.post(
                f"{running.url}/slack/events", data=body, headers=fake.signed_headers(body)
            ) as r:
                assert r.status == 401
