"""The follow-up buttons and lines every message that lists unassigned numbers shares.

A button carries the number and the unassigned period it was drawn for (``encode_ref``), so a
click on an old message about a number that was assigned meanwhile changes nothing and says so.
"""

from __future__ import annotations

import datetime as dt

from syncbot.followups import (
    EXPECT_ACTION,
    TAKE_ACTION,
    FollowUp,
    FollowUpRef,
    cell_text,
    encode_ref,
)
from syncbot.models import PhoneNumber
from syncbot.slack.kit import Block, escape, plain


def ref_of(number: PhoneNumber) -> FollowUpRef:
    """What a button about ``number`` (an unassigned one) carries."""
    return FollowUpRef(number.key, number.unassigned_since)


def take_button(ref: FollowUpRef) -> Block:
    return {
        "type": "button",
        "action_id": TAKE_ACTION,
        "text": {"type": "plain_text", "text": "I'll take it"},
        "value": encode_ref(ref),
    }


def expect_button(ref: FollowUpRef) -> Block:
    return {
        "type": "button",
        "action_id": EXPECT_ACTION,
        "text": {"type": "plain_text", "text": "Expected"},
        "value": encode_ref(ref),
    }


def followup_line(followup: FollowUp | None, *, today: dt.date) -> str:
    """Who is on an unassigned number, as mrkdwn: ``_@alice since 2026-12-01_``."""
    return f"_{escape(plain(cell_text(followup, unassigned=True, today=today), 300))}_"
