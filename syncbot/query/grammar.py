"""The ``/numbers`` grammar (CONTRACT section 6), parsed once for Slack and the CLI alike."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Literal

from syncbot.errors import QueryError

Action = Literal["help", "list", "stats", "changes", "status", "sync"]
# Follow-up words (syncbot/followups.py); each narrows to unassigned numbers.
FollowUpWord = Literal["mine", "unowned", "expected"]
FOLLOWUP_WORDS: tuple[FollowUpWord, ...] = ("mine", "unowned", "expected")
FILTER_KEYS = ("source", "account", "country", "type", "carrier")
_ACTIONS: dict[str, Action] = {
    "help": "help",
    "stats": "stats",
    "changes": "changes",
    "status": "status",
    "sync": "sync",
}
VOCABULARY = (
    "help",
    "unassigned",
    "assigned",
    "agent",
    "stats",
    "changes",
    "idle",
    "status",
    "sync",
    *FOLLOWUP_WORDS,
    *(f"{key}:" for key in FILTER_KEYS),
)
# A word of a phone number: its characters, and a digit somewhere. Two patterns rather than one
# that places the digit, which backtracks quadratically on a long run of digits and a letter.
_PHONE_CHARS = re.compile(r"[+(]?[\d()\-./]+")
_DIGIT = re.compile(r"\d")
# Far more than any query needs; it bounds what a request can make the grammar read.
MAX_QUERY_LENGTH = 500
_IDLE = re.compile(r"^(\d{1,5})d$", re.IGNORECASE)
_WINDOW = re.compile(r"^(\d{1,4})([hd])$", re.IGNORECASE)
# What a user means as a window after `changes`, valid or not (`2w`, `0h`, `3days`).
_WINDOW_LIKE = re.compile(r"^\d+[a-z]+$", re.IGNORECASE)

USAGE = """\
/numbers unassigned              numbers no agent takes calls on
/numbers assigned                numbers routed to an agent
/numbers agent <agent_id>        numbers of one agent
/numbers +1 415 555 0123         a number in any common format, or a run of digits
/numbers country:US type:mobile  filters: source: account: country: type: carrier:
/numbers idle 30d                unassigned for at least 30 days
/numbers mine                    the unassigned numbers you took or marked expected
/numbers unowned                 unassigned numbers nobody is on, not expected
/numbers expected                unassigned numbers expected to stay so, until when and why
/numbers stats                   counts by source, status, country and type
/numbers changes                 what the latest sync changed
/numbers changes 24h             what changed in the last 24 hours (or 7d, ...)
/numbers status                  the latest sync and each source's health
/numbers sync                    run a sync now (admins)
Words combine in any order: /numbers unassigned country:GB"""


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed request: one action and the filters that narrow it."""

    text: str
    action: Action = "list"
    status: Literal["assigned", "unassigned"] | None = None
    agent: str | None = None
    phone: str | None = None
    idle_days: int | None = None
    filters: dict[str, frozenset[str]] = field(default_factory=dict)
    # `changes 24h`: how far back the changes go; None is the latest sync's only.
    window: dt.timedelta | None = None
    followup: FollowUpWord | None = None

    @property
    def has_filters(self) -> bool:
        return bool(
            self.status
            or self.agent
            or self.phone
            or self.idle_days is not None
            or self.filters
            or self.followup
        )


def quoted(text: str) -> str:
    """What someone typed, quoted as inline code: Slack turns no link, mention or formatting
    inside it into anything but text. A backtick of theirs, which would end the quote, becomes
    a look-alike (and ``&``, ``<``, ``>`` are still escaped where mrkdwn is written)."""
    return "`" + text.replace("`", "\u02cb") + "`"


def _suggest(word: str) -> str:
    close = difflib.get_close_matches(word.lower(), VOCABULARY, n=1, cutoff=0.6)
    return f' Did you mean "{close[0]}"?' if close else ""


def _window(word: str) -> dt.timedelta | None:
    """``24h`` or ``7d`` after ``changes``; None for any other word."""
    match = _WINDOW.match(word)
    if match is None:
        return None
    count = int(match.group(1))
    return dt.timedelta(hours=count) if match.group(2).lower() == "h" else dt.timedelta(days=count)


def _is_phone_word(word: str) -> bool:
    return _PHONE_CHARS.fullmatch(word) is not None and _DIGIT.search(word) is not None


def parse(text: str) -> Query:  # noqa: PLR0912, PLR0915 - one branch per word of the grammar
    """Parse the words of a query; raises ``QueryError`` naming the word it cannot read."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"That query is {len(text):,} characters long; queries are at most "
            f"{MAX_QUERY_LENGTH} (a few words and filters)."
        )
    words = text.split()
    action: Action | None = None
    status: Literal["assigned", "unassigned"] | None = None
    agent: str | None = None
    phone_parts: list[str] = []
    idle_days: int | None = None
    filters: dict[str, set[str]] = {}
    window: dt.timedelta | None = None
    followup: FollowUpWord | None = None
    i = 0
    while i < len(words):
        word = words[i]
        lower = word.lower()
        if lower in _ACTIONS:
            action = _ACTIONS[lower]
            if lower == "changes" and i + 1 < len(words) and _WINDOW_LIKE.match(words[i + 1]):
                window = _window(words[i + 1])
                if not window:
                    raise QueryError(
                        f'"changes {words[i + 1]}": a window is a number of hours or days, '
                        'from 1: "changes 24h" or "changes 7d"'
                    )
                i += 1
        elif lower in {"unassigned", "free", "assigned"}:
            said: Literal["assigned", "unassigned"] = (
                "assigned" if lower == "assigned" else "unassigned"
            )
            if status is not None and status != said:
                raise QueryError(
                    '"assigned" and "unassigned" contradict each other: ask for one of them '
                    "(or neither, for every number)"
                )
            status = said
        elif lower in FOLLOWUP_WORDS:
            if followup is not None and followup != lower:
                raise QueryError(
                    f'"{followup}" and "{lower}" exclude each other: ask for one of them'
                )
            followup = FOLLOWUP_WORDS[FOLLOWUP_WORDS.index(lower)]
        elif lower == "agent":
            if i + 1 >= len(words):
                raise QueryError('"agent" needs an agent id, e.g. "agent agent_sales_eu"')
            i += 1
            agent = words[i]
        elif lower == "idle":
            match = _IDLE.match(words[i + 1]) if i + 1 < len(words) else None
            if match is None:
                raise QueryError('"idle" needs a number of days, e.g. "idle 30d"')
            i += 1
            idle_days = int(match.group(1))
        elif ":" in word and lower.split(":", 1)[0] in FILTER_KEYS:
            key, value = word.split(":", 1)
            if not value:
                raise QueryError(f'"{word}" needs a value, e.g. {key.lower()}:US')
            filters.setdefault(key.lower(), set()).add(value)
        elif _is_phone_word(word):
            phone_parts.append(word)
        else:
            raise QueryError(f'I don\'t know "{word}".{_suggest(word.split(":", 1)[0])}')
        i += 1
    if action is None:
        action = (
            "list"
            if (status or agent or phone_parts or idle_days is not None or filters or followup)
            else "help"
        )
    if followup is not None and status == "assigned":
        raise QueryError(f'"{followup}" is about unassigned numbers: drop "assigned"')
    return Query(
        text=" ".join(words),
        action=action,
        status="unassigned" if idle_days is not None or followup is not None else status,
        agent=agent,
        phone=" ".join(phone_parts) or None,
        idle_days=idle_days,
        filters={key: frozenset(values) for key, values in filters.items()},
        window=window if action == "changes" else None,
        followup=followup,
    )
