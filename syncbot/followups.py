"""Follow-ups: who is on each unassigned number, or until when it is meant to stay unrouted.

Every unassigned number is an open follow-up from its ``unassigned_since``. People act on it
from Slack (**I'll take it**, **Expected**); the store keeps the follow-up of the number's
current unassigned period and an append-only history of the actions. A follow-up closes by
itself: once the number is assigned or gone it is no longer an open follow-up, and when it
becomes unassigned again its new period starts unowned. This module holds the model and the
rules, with no I/O; the store applies them atomically (``syncbot.store``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from syncbot.costs import Cost, CostRules, Tally
from syncbot.errors import SyncbotError
from syncbot.models import Key, PhoneNumber, iso

# Slack identifiers shared by every message that carries the buttons, and by their listeners.
TAKE_ACTION = "followup_take"
EXPECT_ACTION = "followup_expect"
EXPECT_MODAL = "followup_expect_modal"
DEFAULT_EXPECTED_DAYS = 30
# A short reason ("spring campaign", "port in progress"): a sheet cell and a Slack line.
MAX_REASON = 200


@dataclass(frozen=True, slots=True)
class Person:
    """A Slack user, with the name shown for them when they acted."""

    user_id: str
    name: str

    @property
    def handle(self) -> str:
        return f"@{self.name}"


class FollowUpState(StrEnum):
    UNOWNED = "unowned"
    OWNED = "owned"
    EXPECTED = "expected"


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The follow-up of one unassigned number, for its current unassigned period."""

    key: Key
    # The number's ``unassigned_since`` this follow-up belongs to.
    since: dt.datetime
    owner: Person | None = None
    owned_at: dt.datetime | None = None
    # Inclusive: expected through that day (UTC); the day after, the follow-up is open again.
    expected_until: dt.date | None = None
    reason: str | None = None
    expected_by: Person | None = None

    def state(self, today: dt.date) -> FollowUpState:
        if self.owner is not None:
            return FollowUpState.OWNED
        if self.expected_until is not None and today <= self.expected_until:
            return FollowUpState.EXPECTED
        return FollowUpState.UNOWNED

    def owned_by(self, user_id: str) -> bool:
        return self.owner is not None and self.owner.user_id == user_id


def state_of(followup: FollowUp | None, today: dt.date) -> FollowUpState:
    """An unassigned number's follow-up state; nobody acted on it means unowned."""
    return FollowUpState.UNOWNED if followup is None else followup.state(today)


def cell_text(followup: FollowUp | None, *, unassigned: bool, today: dt.date) -> str:
    """The ``Follow-up`` cell of the Inventory, and the plain line under a number in answers."""
    if not unassigned:
        return ""
    if followup is None:
        return "unowned"
    state = followup.state(today)
    if state is FollowUpState.OWNED and followup.owner is not None:
        since = followup.owned_at.date().isoformat() if followup.owned_at else ""
        return f"{followup.owner.handle} since {since}".rstrip()
    if state is FollowUpState.EXPECTED and followup.expected_until is not None:
        text = f"expected until {followup.expected_until.isoformat()}"
        return f"{text}: {followup.reason}" if followup.reason else text
    return "unowned"


@dataclass(frozen=True, slots=True)
class FollowUpCounts:
    """The open follow-ups of some numbers: every unassigned one is open, and is owned,
    expected or unowned; what the unowned cost a month (with ``NUMBER_COSTS``)."""

    open: int = 0
    owned: int = 0
    expected: int = 0
    unowned: int = 0
    # When the longest-waiting unowned number became unassigned.
    oldest_unowned: dt.datetime | None = None
    unowned_cost: Cost | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "open": self.open,
            "owned": self.owned,
            "expected": self.expected,
            "unowned": self.unowned,
            "oldest_unowned_since": iso(self.oldest_unowned),
            "unowned_monthly_cost": self.unowned_cost.to_dict() if self.unowned_cost else None,
        }


def count_followups(
    numbers: Iterable[PhoneNumber],
    followups: Mapping[Key, FollowUp],
    *,
    today: dt.date,
    costs: CostRules | None = None,
) -> FollowUpCounts:
    """The follow-ups of ``numbers`` (the assigned ones have none) counted by state."""
    counts = dict.fromkeys(FollowUpState, 0)
    oldest: dt.datetime | None = None
    unowned: list[Tally] = []
    for n in numbers:
        if not n.unassigned:
            continue
        state = state_of(followups.get(n.key), today)
        counts[state] += 1
        if state is FollowUpState.UNOWNED:
            since = n.unassigned_since
            if since is not None and (oldest is None or since < oldest):
                oldest = since
            unowned.append(
                Tally(n.source, n.account, n.country_code, n.number_type, True, False, 1)
            )
    cost = costs.overview_of(unowned).all if costs is not None and costs.configured else None
    return FollowUpCounts(
        open=sum(counts.values()),
        owned=counts[FollowUpState.OWNED],
        expected=counts[FollowUpState.EXPECTED],
        unowned=counts[FollowUpState.UNOWNED],
        oldest_unowned=oldest,
        unowned_cost=cost,
    )


@dataclass(frozen=True, slots=True)
class FollowUpRef:
    """What a button carries: the number, and the unassigned period the person saw.

    An action whose period is no longer the number's (it was assigned and unassigned again
    since the message was drawn) changes nothing; ``since`` None skips that check.
    """

    key: Key
    since: dt.datetime | None = None


def encode_ref(ref: FollowUpRef) -> str:
    """A button's value (and a modal's private_metadata): compact JSON, well under 2,000."""
    return json.dumps([*ref.key, iso(ref.since)], separators=(",", ":"))


def decode_ref(value: str) -> FollowUpRef:
    try:
        parts = json.loads(value)
        if (
            not isinstance(parts, list)
            or len(parts) != 4
            or not all(isinstance(p, str) for p in parts[:3])
            or not (parts[3] is None or isinstance(parts[3], str))
        ):
            raise ValueError(value)
        since = None if parts[3] is None else dt.datetime.fromisoformat(parts[3])
    except ValueError:
        raise BadExpectation("That button does not name a number syncbot knows.") from None
    return FollowUpRef((parts[0], parts[1], parts[2]), since)


class ActionKind(StrEnum):
    TAKE = "take"
    EXPECT = "expect"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class FollowUpAction:
    """One line of a follow-up's history: who did what, when, and why."""

    action_id: int
    kind: ActionKind
    key: Key
    phone_number: str
    who: Person
    at: dt.datetime
    until: dt.date | None = None
    reason: str | None = None

    def describe(self) -> str:
        """The action in words, for the sheet's ``Changes`` and the digest."""
        if self.kind is ActionKind.TAKE:
            return f"{self.who.handle} took it"
        if self.kind is ActionKind.RELEASE:
            return f"{self.who.handle} let it go"
        until = self.until.isoformat() if self.until else "?"
        text = f"{self.who.handle}: expected until {until}"
        return f"{text}: {self.reason}" if self.reason else text


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The follow-up as it stands after an action; ``action`` None when nothing changed."""

    followup: FollowUp
    action: FollowUpAction | None


class FollowUpError(SyncbotError):
    """An action on a follow-up that was refused; nothing changed."""


class NumberChanged(FollowUpError):
    """The number is assigned now, gone, or was assigned and unassigned again meanwhile."""

    def __init__(
        self,
        key: Key,
        phone_number: str | None,
        now: Literal["assigned", "gone", "reopened"],
        *,
        agent_id: str | None = None,
    ) -> None:
        self.key = key
        self.phone_number = phone_number
        self.now = now
        self.agent_id = agent_id
        number = phone_number or "/".join(key)
        if now == "assigned":
            detail = f"is assigned now (agent {agent_id})" if agent_id else "is assigned now"
            what = f"{number} {detail}: it needs no follow-up."
        elif now == "gone":
            what = f"{number} is gone from the inventory since that message was posted."
        else:
            what = (
                f"{number} was assigned and became unassigned again since that message was "
                "posted: look at it afresh."
            )
        super().__init__(f"{what} Nothing was changed.")


class OwnedByOther(FollowUpError):
    """Someone else owns the follow-up."""

    def __init__(
        self, key: Key, phone_number: str, owner: Person, owned_at: dt.datetime | None
    ) -> None:
        self.key = key
        self.phone_number = phone_number
        self.owner = owner
        self.owned_at = owned_at
        since = f" since {owned_at.date().isoformat()}" if owned_at else ""
        super().__init__(
            f"{owner.handle} has {phone_number}{since}. Nothing was changed; ask them if "
            "you want to take it over."
        )


class BadExpectation(FollowUpError):
    """An Expected with a date already past, a missing or too long reason, or a bad button."""


def check_expectation(until: dt.date, reason: str, *, today: dt.date) -> str:
    """The reason, trimmed, once ``until`` and it make sense; raises ``BadExpectation``."""
    text = " ".join(reason.split())
    if until < today:
        raise BadExpectation(f"{until.isoformat()} is already past: pick today or a later date.")
    if not text:
        raise BadExpectation("Say why it stays unrouted, e.g. spring campaign or port in progress.")
    if len(text) > MAX_REASON:
        raise BadExpectation(
            f"That reason is {len(text)} characters long; keep it under {MAX_REASON}."
        )
    return text


@dataclass(frozen=True, slots=True)
class FollowUpBook:
    """The follow-ups as one sheet write shows them: the open ones on ``today``, and the
    actions people took since the previous write (for ``Changes``)."""

    today: dt.date
    followups: Mapping[Key, FollowUp] = field(default_factory=dict)
    actions: Sequence[FollowUpAction] = ()

    def of_unassigned(self, key: Key) -> tuple[str, FollowUpState]:
        """The unassigned number ``key``'s Follow-up cell (``cell_text``) and state."""
        followup = self.followups.get(key)
        return cell_text(followup, unassigned=True, today=self.today), state_of(
            followup, self.today
        )
