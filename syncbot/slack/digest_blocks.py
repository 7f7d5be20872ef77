"""The weekly digest as Block Kit: pure functions from a ``Digest`` to a channel message.

Each unowned follow-up carries **I'll take it** (the same button, action and value as in
answers and alerts), oldest first, as many as fit.
"""

from __future__ import annotations

import datetime as dt

from syncbot.costs import Cost, format_money
from syncbot.digest import Digest, Moment
from syncbot.followups import ActionKind
from syncbot.models import ChangeKind, PhoneNumber, ago
from syncbot.normalize import international
from syncbot.query import counted
from syncbot.slack.followup_blocks import ref_of, take_button
from syncbot.slack.kit import Block, Message, context, escape, plain, section

# Unowned numbers listed with a button; the rest are counted, and `/numbers unowned` has them.
UNOWNED_SHOWN = 20
_CHANGE_WORDS = (
    (ChangeKind.ADDED, "added"),
    (ChangeKind.REMOVED, "removed"),
    (ChangeKind.ASSIGNED, "assigned"),
    (ChangeKind.UNASSIGNED, "became unassigned"),
    (ChangeKind.REASSIGNED, "reassigned"),
)
_ACTION_WORDS = (
    (ActionKind.TAKE, "taken"),
    (ActionKind.EXPECT, "expected"),
    (ActionKind.RELEASE, "let go"),
)


def _against(now: int | None, then: int | None) -> str:
    """``47 (41 a week ago, +6)``."""
    if now is None:
        return "not known"
    if then is None:
        return f"{now:,}"
    return f"{now:,} ({then:,} a week ago, {now - then:+,})"


def _money(now: Cost | None, then: Cost | None) -> str:
    if now is None:
        return ""
    text = f"{format_money(now.amount, now.currency)} a month"
    if then is not None and then.currency == now.currency:
        text += f" ({format_money(then.amount, then.currency)} a week ago)"
    return text


def _figures(current: Moment, week_ago: Moment | None) -> list[str]:
    then = week_ago
    lines = [
        f"*Unassigned:* {_against(current.unassigned, then.unassigned if then else None)}",
        f"*Idle 30 days or more:* {_against(current.idle, then.idle if then else None)}",
    ]
    money = _money(current.unassigned_cost, then.unassigned_cost if then else None)
    if money:
        lines[0] += f" · {money}"
    idle_money = _money(current.idle_cost, then.idle_cost if then else None)
    if idle_money:
        lines[1] += f" · {idle_money}"
    if week_ago is None:
        lines.append("_No sync had run a week ago, so there is nothing to compare with yet._")
    return lines


def _week(digest: Digest) -> str:
    changes = [
        f"{digest.changes.get(kind.value, 0):,} {word}"
        for kind, word in _CHANGE_WORDS
        if digest.changes.get(kind.value)
    ]
    head = f"*The week since {digest.since.date().isoformat()}:* "
    head += " · ".join(changes) if changes else "no number changed"
    if digest.actions:
        kinds = [
            f"{n} {word}"
            for kind, word in _ACTION_WORDS
            if (n := sum(a.kind is kind for a in digest.actions))
        ]
        head += f"\n{counted(len(digest.actions), 'follow-up action')}: {', '.join(kinds)}"
    return head


def _followups(digest: Digest) -> str:
    f = digest.followups
    line = (
        f"*Follow-ups:* {f.open:,} open: {f.owned:,} owned, {f.expected:,} expected, "
        f"{f.unowned:,} unowned"
    )
    cost = f.unowned_cost
    if cost is not None:
        line += f" · the unowned cost {format_money(cost.amount, cost.currency)} a month"
    return line


def _unowned_line(
    number: PhoneNumber, monthly: float | None, now: dt.datetime, currency: str
) -> str:
    parts = [f"*{escape(plain(international(number.phone_number), 40))}*"]
    if number.unassigned_since is not None:
        waited = ago(now - number.unassigned_since)
        parts.append(f"unassigned since {number.unassigned_since.date().isoformat()} ({waited})")
    details = [number.source_key, number.country_code, number.number_type]
    parts.append(" ".join(escape(plain(d, 60)) for d in details if d))
    if number.label:
        parts.append(f"“{escape(plain(number.label, 80))}”")
    if monthly is not None:
        parts.append(f"{format_money(monthly, currency)} a month")
    return " · ".join(parts)


def digest_message(digest: Digest, *, sheet: str | None, currency: str = "USD") -> Message:
    """The digest for the alert channel."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Phone numbers: the week"}},
        section(_week(digest)),
        section("\n".join(_figures(digest.current, digest.week_ago))),
        section(_followups(digest)),
    ]
    unowned = digest.unowned
    if unowned:
        blocks.append(section("*Nobody is on these yet, oldest first:*"))
        for number, monthly in unowned[:UNOWNED_SHOWN]:
            line = section(_unowned_line(number, monthly, digest.now, currency))
            line["accessory"] = take_button(ref_of(number))
            blocks.append(line)
        more = len(unowned) - UNOWNED_SHOWN
        if more > 0:
            where = f" and in <{sheet}|the Google Sheet>" if sheet else ""
            blocks.append(context(f"and {more:,} more: `/numbers unowned` lists them all{where}."))
    else:
        blocks.append(section(":tada: Every unassigned number has someone on it or is expected."))
    if digest.run is not None:
        finished = digest.run.finished_at
        blocks.append(
            context(f"Latest sync: run {digest.run.run_id}, {ago(digest.now - finished)} ago.")
        )
    fallback = (
        f"Phone numbers this week: {digest.current.unassigned:,} unassigned, "
        f"{digest.followups.unowned:,} with nobody on them."
    )
    return {"text": fallback, "blocks": blocks}
