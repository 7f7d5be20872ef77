"""The follow-up buttons every message shares: valid Block Kit, carrying what the store needs."""

from __future__ import annotations

import datetime as dt

import pytest
from slack_sdk.models.blocks import Block

from syncbot.followups import (
    EXPECT_ACTION,
    TAKE_ACTION,
    BadExpectation,
    FollowUp,
    FollowUpRef,
    Person,
    decode_ref,
    encode_ref,
)
from syncbot.slack.followup_blocks import expect_button, followup_line, take_button

SINCE = dt.datetime(2026, 11, 2, 8, 30, tzinfo=dt.UTC)
KEY = ("dialnexa", "emea <sales>", "id-" + "9" * 200)


def test_a_button_value_brings_back_the_number_and_the_period_it_was_drawn_for() -> None:
    ref = FollowUpRef(KEY, SINCE)
    assert decode_ref(encode_ref(ref)) == ref
    assert decode_ref(encode_ref(FollowUpRef(KEY))) == FollowUpRef(KEY)
    assert len(encode_ref(ref)) < 2000


@pytest.mark.parametrize("value", ["", "[]", '["a","b"]', '{"k":1}', '["a","b","c","yesterday"]'])
def test_a_value_syncbot_did_not_write_is_refused_with_a_clear_error(value: str) -> None:
    with pytest.raises(BadExpectation, match="does not name a number"):
        decode_ref(value)


def test_the_buttons_are_block_kit_as_slack_takes_it() -> None:
    ref = FollowUpRef(KEY, SINCE)
    actions = {"type": "actions", "elements": [take_button(ref), expect_button(ref)]}
    parsed = Block.parse(actions)
    assert parsed is not None
    assert parsed.to_dict() == actions
    assert [e["action_id"] for e in actions["elements"]] == [TAKE_ACTION, EXPECT_ACTION]


def test_the_follow_up_line_escapes_what_people_typed() -> None:
    followup = FollowUp(
        key=KEY,
        since=SINCE,
        expected_until=dt.date(2027, 1, 5),
        reason="<!channel> port & move",
        expected_by=Person("U1", "bob"),
    )
    line = followup_line(followup, today=dt.date(2026, 12, 1))
    assert line == "_expected until 2027-01-05: &lt;!channel&gt; port &amp; move_"
    assert followup_line(None, today=dt.date(2026, 12, 1)) == "_unowned_"
