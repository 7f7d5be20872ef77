"""Follow-ups taken in Slack: **I'll take it** and **Expected** on answers, alerts and the Home
tab, sent as Slack sends them (signed, over a real socket) to the real app, on SQLite and
PostgreSQL. Every message, modal and Home view the app sends passes slack_sdk's Block Kit
models: the sandbox Slack refuses any that does not, as Slack does, and the answers the app
returns in its HTTP responses are checked here."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from syncbot.followups import EXPECT_ACTION, EXPECT_MODAL, TAKE_ACTION, decode_ref
from syncbot.models import Key
from syncbot.sandbox._server import serve
from syncbot.sandbox.blockkit import message_errors, view_errors
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import USER_ID
from syncbot.slack import alert_hook
from syncbot.slack.app import create_web_app
from syncbot.slack.followup_blocks import ref_of, take_button
from syncbot.store.sql import SqlStore
from syncbot.sync import run_sync
from tests import pg
from tests.conftest import settings_for
from tests.test_slack_app import App, Reply, message_texts, running_app

BOB = "U0BOB"
CHANNEL = "C0NUMBERS"


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with pg.migrated_store(request.param, tmp_path) as opened:
        yield opened


# A clock that stands still: Slack's trigger ids last 3 s, and a loaded machine must not
# make a test fail for taking longer than that between a click and its modal.
NOW = time.time()


@pytest.fixture
async def app(sandbox: Sandbox, store: SqlStore) -> AsyncIterator[App]:
    async with running_app(sandbox, store, clock=lambda: NOW) as running:  # type: ignore[arg-type]
        yield running


def rows(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The follow-up rows of a message: each actions block with Expected (and I'll take it,
    unless it is the viewer's own on their Home tab)."""
    return [
        block
        for block in message["blocks"]
        if block["type"] == "actions"
        and any(e.get("action_id") == EXPECT_ACTION for e in block["elements"])
    ]


def button(row: dict[str, Any], action_id: str) -> str:
    return next(e["value"] for e in row["elements"] if e["action_id"] == action_id)


def key_of(row: dict[str, Any]) -> Key:
    return decode_ref(button(row, EXPECT_ACTION)).key


def keys(message: dict[str, Any]) -> list[Key]:
    """The numbers a message carries buttons for."""
    return [key_of(row) for row in rows(message)]


async def first_row(app: App, text: str = "unassigned") -> dict[str, Any]:
    reply = await app.command(text)
    assert message_errors(reply.json) == []
    found = rows(reply.json)
    assert found, "an unassigned number with its buttons"
    return found[0]


async def click(
    app: App, row: dict[str, Any], action_id: str = TAKE_ACTION, **fields: Any
) -> Reply:
    reply = await app.click(action_id, button(row, action_id), block_id=row["block_id"], **fields)
    assert reply.status == 200
    return reply


def text_of(message: dict[str, Any]) -> str:
    return "\n".join(message_texts(message))


# --- I'll take it -------------------------------------------------------------------------


async def test_each_unassigned_number_in_an_answer_has_its_two_buttons_within_slacks_limits(
    app: App,
) -> None:
    reply = await app.command("unassigned")
    unassigned = [t for t in reply.texts if "unassigned since" in t]
    assert len(rows(reply.json)) == len(unassigned) > 0
    for row in rows(reply.json):
        assert [e["text"]["text"] for e in row["elements"]] == ["I'll take it", "Expected"]
        assert button(row, TAKE_ACTION) == button(row, EXPECT_ACTION)
    assigned = await app.command("assigned")
    assert rows(assigned.json) == []
    assert message_errors(reply.json) == []
    assert message_errors(assigned.json) == []


async def test_ill_take_it_makes_the_clicker_the_owner_and_redraws_the_answer(
    app: App, store: SqlStore
) -> None:
    row = await first_row(app)
    ack = await click(app, row, response_url=app.fake.response_url("take"))
    # The acknowledgement is empty: what happened comes through the response_url.
    assert ack.text == ""
    (reply,) = await app.fake.wait_for_replies(1)
    assert reply.name == "take"
    assert reply.body["replace_original"] is True
    said = text_of(reply.body)
    assert "is yours" in said
    assert f"@{USER_ID.lower()} since {dt.datetime.fromtimestamp(NOW, dt.UTC).date()}" in said
    followup = store.followups().get(key_of(row))
    assert followup is not None
    assert followup.owner is not None
    assert followup.owner.user_id == USER_ID
    # The next question sees it, from the store, without waiting for a sync.
    again = await app.command("unassigned")
    assert f"@{USER_ID.lower()}" in text_of(again.json)
    mine = await app.command("mine")
    assert mine.phones
    assert rows(mine.json)[0]["elements"][0]["value"] == button(row, TAKE_ACTION)
    unowned = await app.command("unowned")
    assert key_of(row) not in keys(unowned.json)


async def test_two_people_taking_at_once_leave_one_owner_and_the_second_is_told_who(
    app: App, store: SqlStore
) -> None:
    row = await first_row(app)
    await asyncio.gather(
        click(app, row, user_id=USER_ID, response_url=app.fake.response_url(USER_ID)),
        click(app, row, user_id=BOB, response_url=app.fake.response_url(BOB)),
    )
    replies = {r.name: text_of(r.body) for r in await app.fake.wait_for_replies(2)}
    followup = store.followups().get(key_of(row))
    assert followup is not None
    assert followup.owner is not None
    winner = followup.owner.user_id
    loser = BOB if winner == USER_ID else USER_ID
    assert "is yours" in replies[winner]
    assert f"@{winner.lower()} has" in replies[loser]
    assert "Nothing was changed" in replies[loser]
    history = store.followup_actions(key=key_of(row))
    assert [(a.kind.value, a.who.user_id) for a in history] == [("take", winner)]


async def test_a_followup_closes_when_its_number_is_assigned_and_an_old_button_says_so(
    app: App, store: SqlStore
) -> None:
    row = await first_row(app)
    await click(app, row)
    await app.fake.wait_for_replies(1)
    number_id = key_of(row)[2]
    record = next(
        r
        for provider in (app.sandbox.orgapi, app.sandbox.dialnexa)
        for r in provider.records
        if str(r.get("phone_number_id") or r.get("id")) == number_id
    )
    if "phone_number_id" in record:
        record.update(status="assigned", assigned_agent_id="agent_sales_eu")
    else:
        record.update(inbound_agent_id="agent_sales_eu", agent_id="agent_sales_eu")
    await run_sync(settings_for(app.sandbox), store)
    await app.wait_for_run(2)
    assert key_of(row) not in store.followups()
    assert key_of(row) not in keys((await app.command("unassigned")).json)
    await click(app, row, user_id=BOB, response_url=app.fake.response_url("late"))
    late = (await app.fake.wait_for_replies(2))[-1]
    assert late.name == "late"
    assert "is assigned now (agent agent_sales_eu)" in text_of(late.body)
    assert key_of(row) not in store.followups()


async def test_a_button_value_that_is_not_ours_is_refused_and_changes_nothing(
    app: App, store: SqlStore
) -> None:
    await app.click(TAKE_ACTION, '["orgapi","default"]', response_url=app.fake.response_url("x"))
    (reply,) = await app.fake.wait_for_replies(1)
    assert "does not name a number" in text_of(reply.body)
    assert store.followups() == {}


async def test_a_click_from_a_workspace_not_allowed_is_refused_and_changes_nothing(
    sandbox: Sandbox, store: SqlStore
) -> None:
    async with running_app(
        sandbox,
        store,  # type: ignore[arg-type]
        SLACK_ALLOWED_TEAM_IDS="T0SANDBOX",
    ) as app:
        row = await first_row(app)
        reply = await click(app, row, team_id="T0ELSEWHERE")
        assert "does not answer in this workspace" in reply.text
        unsigned = app.fake.action_body(TAKE_ACTION, button(row, TAKE_ACTION))
        refused = await app.post(unsigned, {"Content-Type": "application/x-www-form-urlencoded"})
        assert refused.status == 401
    assert store.followups() == {}


# --- Expected ------------------------------------------------------------------------------


def submission(until: str | None, reason: str) -> dict[str, Any]:
    return {
        "expected_until": {"until": {"type": "datepicker", "selected_date": until}},
        "expected_reason": {"reason": {"type": "plain_text_input", "value": reason}},
    }


async def submit(app: App, values: dict[str, Any], user_id: str = USER_ID) -> Reply:
    body = app.fake.submission_body(app.fake.modals[-1], values, user_id=user_id)
    return await app.post(body, app.fake.signed_headers(body))


async def test_expected_opens_a_modal_checks_each_field_and_records_until_and_why(
    app: App, store: SqlStore
) -> None:
    today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    row = await first_row(app)
    ack = await click(app, row, EXPECT_ACTION, response_url=app.fake.response_url("expect"))
    assert ack.text == ""
    (modal,) = app.fake.modals
    assert modal["callback_id"] == EXPECT_MODAL
    (until_block,) = [b for b in modal["blocks"] if b.get("block_id") == "expected_until"]
    assert until_block["element"]["initial_date"] == (today + dt.timedelta(days=30)).isoformat()

    refused = await submit(app, submission((today - dt.timedelta(days=1)).isoformat(), "  "))
    assert refused.json["response_action"] == "errors"
    assert set(refused.json["errors"]) == {"expected_until", "expected_reason"}
    assert "has passed" in refused.json["errors"]["expected_until"]
    far = await submit(app, submission((today + dt.timedelta(days=400)).isoformat(), "x"))
    assert "within a year" in far.json["errors"]["expected_until"]
    assert store.followups() == {}

    until = today + dt.timedelta(days=10)
    done = await submit(app, submission(until.isoformat(), "spring <campaign>"))
    assert done.status == 200
    assert done.text == ""
    followup = store.followups().get(key_of(row))
    assert followup is not None
    assert (followup.expected_until, followup.reason) == (until, "spring <campaign>")
    (reply,) = await app.fake.wait_for_replies(1)
    assert reply.body["replace_original"] is True
    assert f"expected until {until}: spring &lt;campaign&gt;" in text_of(reply.body)
    expected = await app.command("expected")
    assert expected.phones
    assert "spring &lt;campaign&gt;" in text_of(expected.json)


async def test_expected_on_a_number_someone_owns_answers_in_the_modal_and_changes_nothing(
    app: App, store: SqlStore
) -> None:
    row = await first_row(app)
    await click(app, row, user_id=BOB)
    await app.fake.wait_for_replies(1)
    await click(app, row, EXPECT_ACTION)
    until = dt.datetime.fromtimestamp(NOW, dt.UTC).date() + dt.timedelta(days=3)
    answer = await submit(app, submission(until.isoformat(), "port in progress"))
    assert answer.json["response_action"] == "update"
    assert "@u0bob has" in text_of(answer.json["view"])
    followup = store.followups().get(key_of(row))
    assert followup is not None
    assert followup.expected_until is None


# --- alerts ---------------------------------------------------------------------------------


async def test_a_click_on_an_alert_updates_its_row_for_everyone_and_tells_a_late_second_who(
    app: App, store: SqlStore
) -> None:
    records = app.sandbox.orgapi.records
    freed = next(r for r in records if r["status"] == "assigned" and r["assigned_agent_id"])
    freed.update(status="free", assigned_agent_id=None)
    settings = settings_for(app.sandbox, **app.fake.env(), SLACK_ALERT_CHANNEL=CHANNEL)
    await run_sync(settings, store, after_run=alert_hook(settings))
    await app.wait_for_run(2)
    (alert,) = app.fake.posted(CHANNEL)
    (row,) = rows(alert)
    assert key_of(row)[2] == freed["phone_number_id"]

    await click(app, row, message=alert)
    await app.fake.wait_for(lambda: bool(app.fake.calls_to("chat.update")))
    (updated,) = app.fake.posted(CHANNEL)
    assert rows(updated) == []
    assert f"@{USER_ID.lower()} since" in text_of(updated)
    # Bob's Slack still showed the buttons: he is told, privately, who has it.
    await click(app, row, user_id=BOB, message=alert, response_url=app.fake.response_url(BOB))
    (told,) = await app.fake.wait_for_replies(1)
    assert told.body["response_type"] == "ephemeral"
    assert told.body["replace_original"] is False
    assert f"@{USER_ID.lower()} has" in text_of(told.body)


# --- the Home tab ---------------------------------------------------------------------------


async def open_home(app: App, user_id: str = USER_ID, tab: str = "home") -> None:
    body = app.fake.event_body(app.fake.home_opened(user_id=user_id, tab=tab))
    reply = await app.post(body, app.fake.signed_headers(body, json=True))
    assert reply.status == 200


async def test_the_home_tab_shows_the_inventory_at_a_glance_and_my_followups(
    app: App, store: SqlStore
) -> None:
    await open_home(app)
    home = app.fake.home[USER_ID]
    text = text_of(home)
    numbers = store.load_numbers()
    unassigned = sum(n.unassigned for n in numbers)
    assert f"*All sources*: {len(numbers)} numbers · {unassigned:,} unassigned" in text
    for key, count in store.counts_by_source().items():
        assert f"*{key}*: {count} numbers" in text
    assert "*Latest sync*: run 1, ok" in text
    assert ":white_check_mark: *orgapi/default*: ok" in text
    assert ":heavy_minus_sign: *Sheet*: off (GOOGLE_SHEET_ID is not set)" in text
    assert "Nothing on you" in text
    assert rows(home) == []

    row = await first_row(app)
    await click(app, row)
    await app.fake.wait_for_replies(1)
    await open_home(app)
    mine = rows(app.fake.home[USER_ID])
    assert [key_of(r) for r in mine] == [key_of(row)]
    # Someone else's Home shows their own follow-ups: none.
    await open_home(app, BOB)
    assert rows(app.fake.home[BOB]) == []
    # The Messages tab has no view to publish.
    published = len(app.fake.calls_to("views.publish"))
    await open_home(app, tab="messages")
    assert len(app.fake.calls_to("views.publish")) == published


async def test_a_button_on_the_home_tab_acts_and_publishes_the_tab_again(
    app: App, store: SqlStore
) -> None:
    row = await first_row(app)
    await click(app, row, user_id=BOB)
    await app.fake.wait_for_replies(1)
    await open_home(app, BOB)
    (mine,) = rows(app.fake.home[BOB])
    # Alice presses I'll take it on Bob's Home row? No: Bob sets it Expected from his Home.
    await click(app, mine, EXPECT_ACTION, user_id=BOB, view=app.fake.home[BOB])
    until = dt.datetime.fromtimestamp(NOW, dt.UTC).date() + dt.timedelta(days=5)
    done = await submit(app, submission(until.isoformat(), "campaign"), user_id=BOB)
    assert done.text == ""
    await app.fake.wait_for(lambda: "expected until" in text_of(app.fake.home[BOB]))
    followup = store.followups().get(key_of(row))
    assert followup is not None
    assert followup.expected_until == until


async def test_an_expired_expectation_reopens_the_followup_in_answers(
    sandbox: Sandbox, store: SqlStore
) -> None:
    now = [NOW]
    async with running_app(sandbox, store, clock=lambda: now[0]) as app:  # type: ignore[arg-type]
        row = await first_row(app)
        await click(app, row, EXPECT_ACTION)
        today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
        await submit(app, submission(today.isoformat(), "until tonight"))
        assert key_of(row) not in keys((await app.command("unowned")).json)
        assert "expected until" in text_of((await app.command("expected")).json)
        now[0] += 86400
        unowned = await app.command("unowned")
        assert key_of(row) in keys(unowned.json)
        assert "No numbers match" in text_of((await app.command("expected")).json)


async def test_in_socket_mode_the_home_tab_and_the_buttons_work_without_a_public_url(
    sandbox: Sandbox, store: SqlStore
) -> None:
    await run_sync(settings_for(sandbox), store)
    async with FakeSlack() as fake:
        settings = settings_for(
            sandbox,
            SLACK_BOT_TOKEN=fake.bot_token,
            SLACK_APP_TOKEN=fake.app_token,
            SLACK_API_URL=fake.api_url,
        )
        async with serve(create_web_app(settings, store, poll_seconds=0.02)):
            answer = await fake.socket_request("slash_commands", fake.command_payload("unassigned"))
            row = rows(answer["payload"])[0]
            take = fake.action_payload(
                TAKE_ACTION, button(row, TAKE_ACTION), block_id=row["block_id"]
            )
            await fake.socket_request("interactive", take)
            (reply,) = await fake.wait_for_replies(1)
            assert "is yours" in text_of(reply.body)
            await fake.socket_request("events_api", fake.event_payload(fake.home_opened()))
            await fake.wait_for(lambda: USER_ID in fake.home)
            assert [key_of(r) for r in rows(fake.home[USER_ID])] == [key_of(row)]


async def test_the_events_request_url_answers_slacks_verification_challenge(app: App) -> None:
    """Slack checks the manifest's event subscription URL with a signed challenge."""
    body = json.dumps(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9", "type": "url_verification"}
    )
    reply = await app.post(body, app.fake.signed_headers(body, json=True))
    assert reply.status == 200
    assert reply.json == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9"}
    unsigned = await app.post(body, {"Content-Type": "application/json"})
    assert unsigned.status == 401


async def test_a_button_beside_a_number_in_a_channel_message_is_replaced_by_its_new_owner(
    app: App, store: SqlStore
) -> None:
    """The digest puts I'll take it beside each number (a section's accessory) and gives the
    block no id: Slack makes one up, and the click carries it."""
    number = next(n for n in app.snapshot().numbers if n.unassigned)
    line = {"type": "section", "text": {"type": "mrkdwn", "text": "*+1 415* · unowned"}}
    line["accessory"] = take_button(ref_of(number))
    web = AsyncWebClient(token=app.fake.bot_token, base_url=app.fake.api_url)
    await web.chat_postMessage(channel=CHANNEL, text="digest", blocks=[line])
    (posted,) = app.fake.posted(CHANNEL)
    (block,) = posted["blocks"]
    await app.click(
        TAKE_ACTION, line["accessory"]["value"], block_id=block["block_id"], message=posted
    )
    await app.fake.wait_for(lambda: bool(app.fake.calls_to("chat.update")))
    (updated,) = app.fake.posted(CHANNEL)[0]["blocks"]
    assert "accessory" not in updated
    assert updated["text"]["text"].startswith("*+1 415* · unowned\n")
    assert f"@{USER_ID.lower()} since" in updated["text"]["text"]
    followup = store.followups().get(number.key)
    assert followup is not None
    assert followup.owner is not None


async def test_a_submission_that_fails_is_answered_in_the_modal_through_the_error_handler(
    app: App, store: SqlStore
) -> None:
    modal = {
        "type": "modal",
        "id": "V0FORGED",
        "callback_id": EXPECT_MODAL,
        "private_metadata": json.dumps({"r": "not a ref", "w": '["answer",null,null,null,null]'}),
    }
    until = dt.datetime.fromtimestamp(NOW, dt.UTC).date().isoformat()
    body = app.fake.submission_body(modal, submission(until, "campaign"))
    reply = await app.post(body, app.fake.signed_headers(body))
    assert reply.json["response_action"] == "update"
    assert reply.json["view"]["title"]["text"] == "Not saved"
    assert "does not name a number" in text_of(reply.json["view"])
    assert view_errors(reply.json["view"]) == []
    assert store.followups() == {}


async def test_a_followup_taken_in_slack_shows_in_the_next_syncs_sheet(
    app: App, store: SqlStore, box: SheetsSandbox
) -> None:
    row = await first_row(app)
    await click(app, row)
    await app.fake.wait_for_replies(1)
    result = await run_sync(settings_for(app.sandbox, **box.env()), store)
    assert result.sheet.status == "ok", result.sheet.error
    header, *rows = box.fake.values(box.spreadsheet_id, "Inventory")
    source, account, number_id = (
        header.index("Source"),
        header.index("Account"),
        header.index("Number ID"),
    )
    (taken,) = [r for r in rows if (r[source], r[account], r[number_id]) == key_of(row)]
    today = dt.datetime.fromtimestamp(NOW, dt.UTC).date()
    assert taken[header.index("Follow-up")] == f"@{USER_ID.lower()} since {today}"
