"""Follow-ups in `/numbers`: signed requests to the real Bolt app, answers from its snapshot and
the follow-ups read fresh from the store for each question."""

from __future__ import annotations

import datetime as dt
from typing import Any

from slack_sdk.models.blocks import Block

from syncbot.followups import FollowUpRef, Person
from syncbot.models import utc_now
from syncbot.normalize import international
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from tests.test_slack_app import running_app

ALICE = Person("U0ALICE", "alice")


def block_kit_errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The blocks slack_sdk's models do not take back unchanged (Slack would refuse them)."""
    out = []
    for raw in message["blocks"]:
        parsed = Block.parse(raw)
        if parsed is None or parsed.to_dict() != raw:
            out.append(raw)
    return out


async def test_numbers_shows_who_took_a_number_taken_after_the_snapshot_loaded(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with running_app(sandbox, sqlite_store) as app:
        free = [n for n in sqlite_store.load_numbers() if n.unassigned]
        taken = free[0]
        # Taken after the app loaded its snapshot: no sync in between.
        sqlite_store.take_followup(FollowUpRef(taken.key), ALICE)
        phone = international(taken.phone_number)

        reply = await app.command(f"unassigned {taken.phone_number}")
        assert block_kit_errors(reply.json) == []
        [line] = [t for t in reply.texts if phone in t]
        assert f"_@alice since {utc_now().date().isoformat()}_" in line

        mine = await app.command("mine", user_id="U0ALICE")
        assert block_kit_errors(mine.json) == []
        assert mine.texts[0].startswith("*1 number* matches")
        assert phone in "\n".join(mine.texts)
        assert (await app.command("mine", user_id="U0SOMEONE")).texts[0].startswith("No numbers")

        unowned = await app.command("unowned source:orgapi source:dialnexa")
        assert phone not in "\n".join(unowned.texts)

        stats = await app.command("stats")
        assert block_kit_errors(stats.json) == []
        assert f"Follow-ups: {len(free)} open: 1 owned, 0 expected, {len(free) - 1} unowned" in (
            "\n".join(stats.texts)
        )


async def test_an_expired_expected_number_is_unowned_again_in_numbers(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    async with running_app(sandbox, sqlite_store) as app:
        number = next(n for n in sqlite_store.load_numbers() if n.unassigned)
        long_ago = utc_now() - dt.timedelta(days=40)
        sqlite_store.expect_followup(
            FollowUpRef(number.key),
            ALICE,
            until=long_ago.date() + dt.timedelta(days=30),
            reason="port",
            at=long_ago,
        )
        phone = international(number.phone_number)
        assert phone not in "\n".join((await app.command("expected")).texts)
        reply = await app.command(f"unowned {number.phone_number}")
        [line] = [t for t in reply.texts if phone in t]
        assert "_unowned_" in line
