"""Block Kit for acting on follow-ups: each number's row of buttons, the **Expected** modal and
what a click or a submission answers. Pure functions.

A row's ``block_id`` comes back with every click on its buttons, so it carries what the listener
needs besides the number itself (the button's value, ``encode_ref``): the phone number to name,
and for an answer the query and page to draw again once the follow-up changed (Slack does not
send an ephemeral message's blocks with a click).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from syncbot.followups import (
    DEFAULT_EXPECTED_DAYS,
    EXPECT_MODAL,
    MAX_REASON,
    BadExpectation,
    FollowUp,
    FollowUpRef,
    check_expectation,
)
from syncbot.models import PhoneNumber
from syncbot.normalize import international
from syncbot.query import Answer
from syncbot.slack.blocks import NumberBlocks
from syncbot.slack.followup_blocks import expect_button, followup_line, ref_of, take_button
from syncbot.slack.kit import Block, context, escape, plain, section

# Slack's limit on a block_id.
MAX_BLOCK_ID = 255
# An expectation further out than this is more likely a typo (2207 for 2027) than a plan.
MAX_EXPECTED_DAYS = 366
UNTIL_BLOCK, UNTIL_INPUT = "expected_until", "until"
REASON_BLOCK, REASON_INPUT = "expected_reason", "reason"


@dataclass(frozen=True, slots=True)
class Row:
    """What a row of follow-up buttons says about itself (its ``block_id``)."""

    index: int
    phone: str | None = None
    # The answer the row is part of: its query and the first number of its page.
    query: str | None = None
    offset: int = 0


def row_id(row: Row) -> str:
    """The row's ``block_id``: all of it when it fits in Slack's 255 characters, else the
    index and phone (the listener then confirms in a message of its own instead of drawing
    the answer again), else the index alone."""
    candidates: list[dict[str, object]] = [
        {"n": row.index, "p": row.phone, "q": row.query, "o": row.offset},
        {"n": row.index, "p": row.phone},
        {"n": row.index},
    ]
    for fields in candidates:
        text = json.dumps({k: v for k, v in fields.items() if v is not None}, separators=(",", ":"))
        if len(text) <= MAX_BLOCK_ID:
            return text
    raise AssertionError("an index alone always fits")


def read_row(block_id: str | None) -> Row:
    """A row from its ``block_id``; anything else reads as a row that says nothing more."""
    try:
        data = json.loads(block_id or "")
    except ValueError:
        return Row(0)
    if not isinstance(data, dict):
        return Row(0)
    index, phone, query, offset = (data.get(k) for k in ("n", "p", "q", "o"))
    return Row(
        index if isinstance(index, int) else 0,
        phone if isinstance(phone, str) else None,
        query if isinstance(query, str) else None,
        offset if isinstance(offset, int) and not isinstance(offset, bool) else 0,
    )


def followup_row(ref: FollowUpRef, row: Row, *, take: bool = True) -> Block:
    """**I'll take it** and **Expected** for one unassigned number (only **Expected** for the
    viewer's own: it is theirs already)."""
    return {
        "type": "actions",
        "block_id": row_id(row),
        "elements": [take_button(ref), expect_button(ref)] if take else [expect_button(ref)],
    }


def answer_rows(found: Answer, *, offset: int) -> NumberBlocks:
    """How an answer draws a listed number: an unassigned one gets its buttons."""

    def blocks(number: PhoneNumber, line: str, index: int) -> list[Block]:
        if not number.unassigned:
            return [section(line)]
        row = Row(index, number.phone_number, found.query.text, offset)
        return [section(line), followup_row(ref_of(number), row)]

    return blocks


def number_rows(
    numbers: Sequence[tuple[FollowUpRef, str, FollowUp | None]],
    *,
    today: dt.date,
    viewer: str | None = None,
) -> list[Block]:
    """Each number (its ref, phone number and follow-up) as a line with its buttons: the Home
    tab's follow-ups (of ``viewer``) and an alert's unassigned numbers."""
    blocks: list[Block] = []
    for n, (ref, phone, followup) in enumerate(numbers):
        mine = viewer is not None and followup is not None and followup.owned_by(viewer)
        shown = escape(plain(international(phone), 40))
        where = escape(plain("/".join(ref.key[:2]), 80))
        line = followup_line(followup, today=today)
        blocks.append(section(f"*{shown}* · {where}\n{line}"))
        blocks.append(followup_row(ref, Row(n, phone), take=not mine))
    return blocks


def mark_row(blocks: Sequence[Block], block_id: str, text: str) -> list[Block] | None:
    """``blocks`` with what became of a number (``text``) in place of its buttons: the row
    ``block_id`` (an actions block, or a section whose button is its accessory, as the digest
    has them); ``None`` when no such row is there any more."""
    out: list[Block] = []
    found = False
    for block in blocks:
        if block.get("block_id") != block_id:
            out.append(dict(block))
            continue
        if block["type"] == "actions":
            out.append(context(text) | {"block_id": block_id})
            found = True
        elif block["type"] == "section" and "accessory" in block:
            kept = {k: v for k, v in block.items() if k != "accessory"}
            kept["text"] = section(f"{block['text']['text']}\n{text}")["text"]
            out.append(kept)
            found = True
        else:
            out.append(dict(block))
    return out if found else None


# --- the Expected modal -----------------------------------------------------------------------


def _plain_text(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def expected_modal(phone: str | None, metadata: str, *, today: dt.date) -> dict[str, Any]:
    """The modal **Expected** opens: until when (30 days by default) and why."""
    number = escape(plain(international(phone), 40)) if phone else "This number"
    until = today + dt.timedelta(days=DEFAULT_EXPECTED_DAYS)
    return {
        "type": "modal",
        "callback_id": EXPECT_MODAL,
        "private_metadata": metadata,
        "title": _plain_text("Expected unassigned"),
        "submit": _plain_text("Save"),
        "close": _plain_text("Cancel"),
        "blocks": [
            section(
                f"*{number}* is meant to stay without an agent until the date below, so it "
                "is not an open follow-up until then. The day after, it is open again unless "
                "it has an agent by then."
            ),
            {
                "type": "input",
                "block_id": UNTIL_BLOCK,
                "label": _plain_text("Expected until"),
                "element": {
                    "type": "datepicker",
                    "action_id": UNTIL_INPUT,
                    "initial_date": until.isoformat(),
                },
                "hint": _plain_text(
                    f"{DEFAULT_EXPECTED_DAYS} days from today unless you pick another day."
                ),
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": _plain_text("Why"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "max_length": MAX_REASON,
                    "placeholder": _plain_text("spring campaign, port in progress, ..."),
                },
            },
        ],
    }


def notice_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says ``text`` (mrkdwn, escaped by the caller): what a submission
    that changed nothing, or failed, is answered with."""
    return {
        "type": "modal",
        "title": _plain_text(title),
        "close": _plain_text("Close"),
        "blocks": [section(text)],
    }


def read_expectation(
    values: Mapping[str, Any], *, today: dt.date
) -> tuple[dt.date, str] | dict[str, str]:
    """The date and reason of a submitted modal, or Slack's field errors (by block id)."""
    errors: dict[str, str] = {}
    picked = ((values.get(UNTIL_BLOCK) or {}).get(UNTIL_INPUT) or {}).get("selected_date")
    reason = str(((values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}).get("value") or "")
    until: dt.date | None = None
    try:
        until = dt.date.fromisoformat(str(picked))
    except ValueError:
        errors[UNTIL_BLOCK] = "Pick the day until which this number is meant to stay unassigned."
    if until is not None and until < today:
        errors[UNTIL_BLOCK] = f"{until.isoformat()} has passed: pick today or a later day."
    elif until is not None and until > today + dt.timedelta(days=MAX_EXPECTED_DAYS):
        latest = (today + dt.timedelta(days=MAX_EXPECTED_DAYS)).isoformat()
        errors[UNTIL_BLOCK] = f"Pick a day within a year (by {latest}); set it again then."
    try:
        # The date was checked above; this checks the reason as the store will.
        reason = check_expectation(today, reason, today=today)
    except BadExpectation as exc:
        errors[REASON_BLOCK] = exc.message
    if errors or until is None:
        return errors
    return until, reason
