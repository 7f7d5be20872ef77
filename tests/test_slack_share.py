"""Share in channel posts under the bot's name: the asker's words go out quoted as code (no link,
no mention, no formatting of theirs), and only an answer that matched something can be shared.
Through the real Bolt app, with requests signed as Slack signs them and replies posted to the
fake Slack's response_url."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest

from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from tests.test_slack_app import App, buttons, message_texts, running_app

_CODE = re.compile(r"`[^`]*`")
# What a user may type: a bare link, a mention, a link in Slack's markup (which Slack sends
# escaped), and a backtick that would end a code quote.
HOSTILE_WORDS = (
    "source:https://evil.example/login",
    "source:@here",
    "source:&lt;!channel&gt;",
    "source:&lt;https://evil.example/x|click&gt;",
    "source:`https://evil.example/y`",
)


@pytest.fixture
async def app(sandbox: Sandbox, sqlite_store: SqliteStore) -> AsyncIterator[App]:
    async with running_app(sandbox, sqlite_store) as running:
        yield running


def outside_code(text: str) -> str:
    """``text`` without its inline code quotes: what Slack would format, link and notify."""
    return _CODE.sub("", text)


async def test_an_answer_that_matched_nothing_has_no_share_button(app: App) -> None:
    reply = await app.command("agent https://evil.example/login")
    assert reply.status == 200
    assert reply.texts[0] == "No numbers match `agent https://evil.example/login`."
    assert "numbers_share" not in buttons(reply.json)
    stats = await app.command("stats agent nobody")
    assert "numbers_share" not in buttons(stats.json)


async def test_a_shared_answer_quotes_the_askers_words_as_code_and_carries_no_link_or_mention(
    app: App,
) -> None:
    asked = await app.command(" ".join(["source:orgapi", *HOSTILE_WORDS]))
    summary = next(t for t in asked.texts if t.startswith("*20 numbers* match "))
    assert summary.startswith("*20 numbers* match `source:orgapi source:https://")
    await app.click("numbers_share", buttons(asked.json)["numbers_share"])
    (posted,) = await app.fake.wait_for_replies(1)
    assert posted.body["response_type"] == "in_channel"
    texts = [*message_texts(posted.body), posted.body["text"]]
    assert any("`source:orgapi source:https://evil.example/login" in t for t in texts)
    for text in texts:
        free = outside_code(text)
        for word in ("evil.example", "@here", "<!", "&lt;!", "<http", "&lt;http"):
            assert word not in free, text
        for quote in _CODE.findall(text):
            assert "<" not in quote
            assert ">" not in quote
    # The asker's backtick does not end the quote: it shows as a look-alike inside it.
    assert any("\u02cbhttps://evil.example/y\u02cb" in t for t in texts)


async def test_a_share_whose_answer_now_matches_nothing_posts_nothing_in_the_channel(
    app: App,
) -> None:
    # As a share clicked on an answer whose numbers a sync has since removed would find it.
    value = json.dumps({"q": "agent nobody", "o": 0})
    clicked = await app.click("numbers_share", value)
    assert clicked.status == 200
    (reply,) = await app.fake.wait_for_replies(1)
    assert reply.body["response_type"] == "ephemeral"
    assert reply.body["text"].startswith("Nothing to share: `agent nobody` matches nothing")
