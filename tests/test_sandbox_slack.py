"""The sandbox Slack answers the Web API calls the app makes as Slack does, refusals included,
driven through slack_sdk's own client over loopback."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from syncbot.sandbox.blockkit import block_errors, message_errors, view_errors
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import TRIGGER_SECONDS

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
HOME = {"type": "home", "blocks": [SECTION]}
MODAL = {
    "type": "modal",
    "callback_id": "m",
    "title": {"type": "plain_text", "text": "Title"},
    "blocks": [SECTION],
}


def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


def test_the_block_kit_check_refuses_what_slacks_models_refuse() -> None:
    assert block_errors([SECTION]) == []
    assert block_errors([{"type": "sectoin", "text": SECTION["text"]}])
    too_long = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert block_errors([too_long])
    # A field Slack does not know is dropped by the model: the block would not show as sent.
    assert block_errors([{**SECTION, "colour": "red"}])
    assert block_errors([SECTION] * 51)
    assert message_errors({"blocks": [SECTION]}) == [
        "no text: notifications and screen readers would show nothing"
    ]
    assert view_errors(HOME) == []
    assert view_errors({**MODAL, "title": {"type": "plain_text", "text": "x" * 25}})


async def test_chat_update_edits_a_posted_message_and_refuses_one_never_posted() -> None:
    async with FakeSlack() as fake:
        web = client(fake)
        posted = await web.chat_postMessage(channel="C1", text="hi", blocks=[SECTION])
        (message,) = fake.posted("C1")
        assert message["ts"] == posted["ts"]
        changed = {"type": "section", "text": {"type": "mrkdwn", "text": "changed"}}
        await web.chat_update(channel="C1", ts=posted["ts"], text="hi", blocks=[changed])
        (kept,) = fake.posted("C1")[0]["blocks"]
        # As Slack keeps a message: each block has an id, made up when the app gave none.
        assert kept == {**changed, "block_id": kept["block_id"]}
        assert kept["block_id"]
        assert await refused(web.chat_update(channel="C1", ts="1.2", text="x")) == (
            "message_not_found"
        )
        bad = [{**SECTION, "text": {"type": "mrkdwn", "text": "x" * 3001}}]
        assert await refused(
            web.chat_update(channel="C1", ts=posted["ts"], text="x", blocks=bad)
        ) == ("invalid_blocks")


async def test_views_publish_keeps_each_users_home_and_refuses_a_bad_or_stale_one() -> None:
    async with FakeSlack() as fake:
        web = client(fake)
        first = await web.views_publish(user_id="U1", view=HOME)
        assert fake.home["U1"]["blocks"] == [SECTION]
        assert fake.home_opened(user_id="U1")["view"]["id"] == first["view"]["id"]
        assert await refused(web.views_publish(user_id="U1", view=MODAL)) == "invalid_arguments"
        assert await refused(web.views_publish(user_id="U1", view=HOME, hash="old")) == (
            "hash_conflict"
        )
        await web.views_publish(user_id="U1", view=HOME, hash=first["view"]["hash"])


async def test_views_open_takes_a_trigger_id_once_and_only_within_three_seconds() -> None:
    now = [1_800_000_000.0]
    async with FakeSlack(clock=lambda: now[0]) as fake:
        web = client(fake)
        trigger = fake.action_payload("a", "v")["trigger_id"]
        opened = await web.views_open(trigger_id=trigger, view=MODAL)
        assert opened["view"]["id"]
        assert fake.modals == [opened["view"]]
        assert await refused(web.views_open(trigger_id=trigger, view=MODAL)) == (
            "invalid_trigger_id"
        )
        late = fake.action_payload("a", "v")["trigger_id"]
        now[0] += TRIGGER_SECONDS + 1
        assert await refused(web.views_open(trigger_id=late, view=MODAL)) == "expired_trigger_id"
        bad = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}
        fresh = fake.action_payload("a", "v")["trigger_id"]
        assert await refused(web.views_open(trigger_id=fresh, view=bad)) == "invalid_arguments"
