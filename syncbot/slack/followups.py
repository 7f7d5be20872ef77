"""The listeners of follow-ups and of the Home tab, registered by ``app.register``.

**I'll take it** is acknowledged at once and applied in the background (the store may wait for a
sync's commit), then shown where it was pressed: an ephemeral answer is drawn again through its
``response_url``, a channel message (an alert, the digest) gets that row replaced with
``chat.update``, the Home tab is published again. **Expected** opens its modal right away (the
trigger id lasts three seconds); the submission is checked field by field, applied, and answered
in the modal itself when the number changed meanwhile. The store decides who owns a number
(one transaction), so two people pressing at once leave one owner and the second is told who.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from syncbot.errors import SyncbotError
from syncbot.followups import (
    ActionResult,
    BadExpectation,
    FollowUpError,
    FollowUpRef,
    NumberChanged,
    OwnedByOther,
    Person,
    decode_ref,
)
from syncbot.logs import event
from syncbot.normalize import international
from syncbot.query import parse
from syncbot.slack.background import send
from syncbot.slack.blocks import notice, sheet_line, sheet_url
from syncbot.slack.errors import user_message
from syncbot.slack.followup_blocks import followup_line, ref_of
from syncbot.slack.followup_views import (
    REASON_BLOCK,
    Row,
    expected_modal,
    mark_row,
    notice_modal,
    number_rows,
    read_expectation,
    read_row,
)
from syncbot.slack.home import HOME_FOLLOWUPS, glance, home_view
from syncbot.slack.kit import escape, plain, section

if TYPE_CHECKING:
    from syncbot.slack.app import Runtime

log = logging.getLogger(__name__)

LOADING = (
    ":hourglass: syncbot has just started and is still loading the latest sync: open this tab "
    "again in a few seconds."
)

Listener = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a button was pressed, so that what it did is shown there."""

    # "answer" (an ephemeral /numbers answer), "message" (in a channel) or "home".
    kind: str
    block_id: str | None
    response_url: str | None = None
    channel: str | None = None
    ts: str | None = None

    @property
    def row(self) -> Row:
        return read_row(self.block_id)

    def to_json(self) -> str:
        """For a modal's ``private_metadata``: where to show what its submission did."""
        fields = [self.kind, self.block_id, self.response_url, self.channel, self.ts]
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Origin:
        kind, block_id, url, channel, ts = json.loads(text)
        return cls(str(kind), block_id, url, channel, ts)


def _origin(body: Mapping[str, Any], block_id: str | None) -> Origin:
    container = body.get("container") or {}
    if container.get("type") == "view":
        return Origin("home", block_id)
    url = body.get("response_url")
    if body.get("message") and not container.get("is_ephemeral"):
        channel, ts = container.get("channel_id"), container.get("message_ts")
        return Origin("message", block_id, url, channel, ts)
    return Origin("answer", block_id, url)


def _person(body: Mapping[str, Any]) -> Person:
    user = body.get("user") or {}
    user_id = str(user.get("id") or "")
    if not user_id:
        raise SyncbotError("Slack sent no user with this click, so I cannot tell who you are.")
    return Person(user_id, str(user.get("username") or user.get("name") or user_id))


def _phone(row: Row, result: ActionResult | None = None) -> str:
    phone = row.phone or (result.action.phone_number if result and result.action else None)
    return f"*{escape(plain(international(phone), 40))}*" if phone else "That number"


# --- showing what happened ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an action did: the sentence for whoever pressed, the new line for the number's row
    in a channel message, and whether anything changed."""

    said: str
    row_text: str | None
    changed: bool


def _taken(result: ActionResult, row: Row, *, today: dt.date) -> Outcome:
    phone = _phone(row, result)
    line = followup_line(result.followup, today=today)
    if result.action is None:
        return Outcome(f":raising_hand: {phone} is already yours ({line}).", None, False)
    said = (
        f":raising_hand: {phone} is yours: you are on it until it gets an agent (in orgapi or "
        "DialNexa; the next sync sees it) or you set it *Expected*."
    )
    return Outcome(said, f"{phone}: {line}", True)


def _expected(result: ActionResult, row: Row, *, today: dt.date) -> Outcome:
    phone = _phone(row, result)
    line = followup_line(result.followup, today=today)
    return Outcome(f":calendar: {phone}: {line}.", f"{phone}: {line}", True)


def _refused(error: FollowUpError, row: Row) -> Outcome:
    said = f":information_source: {escape(error.message)}"
    row_text = None
    if isinstance(error, OwnedByOther):
        row_text = f"{_phone(row)}: {escape(error.owner.handle)} is on it"
    elif isinstance(error, NumberChanged):
        row_text = f"{_phone(row)}: {escape(error.message)}"
    return Outcome(said, row_text, False)


async def _show(
    runtime: Runtime,
    client: AsyncWebClient,
    outcome: Outcome,
    *,
    origin: Origin,
    who: Person,
    respond: AsyncRespond | None,
    message: Mapping[str, Any] | None = None,
) -> None:
    """Show ``outcome`` where the button was pressed."""
    if origin.kind == "home":
        await publish_home(runtime, client, who.user_id, notice=outcome.said)
        return
    if origin.kind == "message" and message is not None and outcome.row_text is not None:
        # Everyone in the channel sees what became of the number, in place of its buttons.
        blocks = mark_row(message.get("blocks") or [], origin.block_id or "", outcome.row_text)
        if blocks is not None and origin.channel and origin.ts:
            await client.chat_update(
                channel=origin.channel,
                ts=origin.ts,
                text=str(message.get("text") or ""),
                blocks=blocks,
            )
            if outcome.changed:
                return
    if respond is None:
        return
    if origin.kind == "answer" and origin.row.query is not None:
        # The answer as it now reads, led by what the click did.
        redrawn = await runtime.answer(
            parse(origin.row.query), offset=origin.row.offset, asker=who.user_id
        )
        redrawn["blocks"] = [notice(outcome.said)["blocks"][0], *redrawn["blocks"]]
        await send(respond, {**redrawn, "replace_original": True})
        return
    # Only whoever pressed sees this, even under a message in a channel.
    await send(respond, {**notice(outcome.said), "replace_original": False})


# --- I'll take it -----------------------------------------------------------------------------


def take_listener(runtime: Runtime) -> Listener:
    async def take(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond | None = None,
    ) -> None:
        # A button value that is not ours (or a click without a user) is refused before the
        # acknowledgement, through the error handler.
        ref = decode_ref(str(action.get("value") or ""))
        who = _person(body)
        origin = _origin(body, action.get("block_id"))
        await ack()
        click = Click(runtime, client, who, origin, respond, body.get("message"))
        runtime.background.start(click.take(ref))

    return take


@dataclass(frozen=True, slots=True)
class Click:
    """One person's click (or submission), and what is needed to answer them where it was."""

    runtime: Runtime
    client: AsyncWebClient
    who: Person
    origin: Origin
    respond: AsyncRespond | None
    message: Mapping[str, Any] | None = None

    async def take(self, ref: FollowUpRef) -> None:
        store = self.runtime.snapshot.store
        try:
            result = await asyncio.to_thread(
                store.take_followup, ref, self.who, at=self.runtime.now()
            )
            outcome = _taken(result, self.origin.row, today=self.runtime.now().date())
        except FollowUpError as exc:
            outcome = _refused(exc, self.origin.row)
        except Exception as exc:  # nobody else is left to tell the user
            await self.failed(exc)
            return
        event(log, logging.INFO, "follow-up take", user=self.who.user_id, took=outcome.changed)
        await self.show(outcome)

    async def show(self, outcome: Outcome) -> None:
        """Show ``outcome`` where the button was pressed; a failure to show it is told too."""
        try:
            await _show(
                self.runtime,
                self.client,
                outcome,
                origin=self.origin,
                who=self.who,
                respond=self.respond,
                message=self.message,
            )
        except Exception as exc:
            await self.failed(exc)

    async def failed(self, error: Exception) -> None:
        """``error`` told through the error handler's translator (which logs a bug once)."""
        said = user_message(error)
        if self.respond is not None:
            await send(self.respond, {**said, "replace_original": False})


# --- Expected -------------------------------------------------------------------------------


def expect_listener(runtime: Runtime) -> Listener:
    async def expect(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        value = str(action.get("value") or "")
        decode_ref(value)
        origin = _origin(body, action.get("block_id"))
        metadata = json.dumps({"r": value, "w": origin.to_json()}, separators=(",", ":"))
        # The trigger id opens a modal within 3 s of the click: opened before the
        # acknowledgement, so that a refusal reaches the user through the error handler.
        await client.views_open(
            trigger_id=str(body.get("trigger_id") or ""),
            view=expected_modal(origin.row.phone, metadata, today=runtime.now().date()),
        )
        await ack()

    return expect


def expected_submission(runtime: Runtime) -> Listener:
    async def submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        today = runtime.now().date()
        read = read_expectation((view.get("state") or {}).get("values") or {}, today=today)
        if isinstance(read, dict):
            await ack(response_action="errors", errors=read)
            return
        until, reason = read
        metadata = json.loads(str(view.get("private_metadata") or "{}"))
        ref = decode_ref(str(metadata.get("r") or ""))
        origin = Origin.from_json(str(metadata.get("w")))
        who = _person(body)
        try:
            result = await asyncio.to_thread(
                runtime.snapshot.store.expect_followup,
                ref,
                who,
                until=until,
                reason=reason,
                at=runtime.now(),
            )
        except BadExpectation as exc:
            await ack(response_action="errors", errors={REASON_BLOCK: exc.message})
            return
        except FollowUpError as exc:
            # The number changed or someone owns it: said in the modal, nothing changed.
            text = f":information_source: {escape(exc.message)}"
            await ack(response_action="update", view=notice_modal("Nothing changed", text))
            return
        await ack()
        event(log, logging.INFO, "follow-up expected", user=who.user_id, until=until.isoformat())
        url = origin.response_url
        respond = AsyncRespond(response_url=url) if url else None
        click = Click(runtime, client, who, origin, respond)
        runtime.background.start(click.show(_expected(result, origin.row, today=today)))

    return submitted


# --- the Home tab ---------------------------------------------------------------------------


def home_listener(runtime: Runtime) -> Listener:
    async def opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        # The Messages tab opens the same event; only the Home tab has a view to publish.
        if event.get("tab") == "home" and event.get("user"):
            await publish_home(runtime, client, str(event["user"]))

    return opened


async def publish_home(
    runtime: Runtime, client: AsyncWebClient, user_id: str, *, notice: str | None = None
) -> None:
    """Publish ``user_id``'s Home tab, led by ``notice`` (what their last click did)."""
    view = await home_for(runtime, user_id, notice=notice)
    await client.views_publish(user_id=user_id, view=view)


async def home_for(
    runtime: Runtime, user_id: str, *, notice: str | None = None
) -> dict[str, object]:
    try:
        mine = await runtime.found(parse("mine"), asker=user_id)
    except TimeoutError:
        return {"type": "home", "blocks": [section(LOADING)]}
    # Loaded: ``found`` waited for it.
    snapshot = await runtime.snapshot.ready()
    now = runtime.now()
    settings = runtime.settings
    seen = glance(
        snapshot,
        now=now,
        costs=runtime.costs,
        interval_seconds=settings.sync_interval_seconds,
        sheet=sheet_url(settings.google_sheet_id),
        sheet_health=sheet_line(mine, now),
    )
    shown = [
        (ref_of(n), n.phone_number, mine.followups.get(n.key))
        for n in mine.numbers[:HOME_FOLLOWUPS]
    ]
    rows = number_rows(shown, today=mine.today, viewer=user_id)
    return home_view(seen, rows, now=now, mine=len(mine.numbers), notice=notice)
