"""The weekly digest (``syncbot digest``): what a team needs on a Monday morning.

The week's changes; the unassigned and long idle numbers now against a week ago, and what they
cost a month; who is on the open follow-ups, and the unowned ones oldest first, for someone to
take. Read from the store alone: a week ago is the latest run that had started by then.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from syncbot.costs import IDLE_DAYS, Cost, CostRules, is_idle
from syncbot.followups import (
    FollowUpAction,
    FollowUpCounts,
    FollowUpState,
    count_followups,
    state_of,
)
from syncbot.models import PhoneNumber, RunRecord, count_changes
from syncbot.store.base import Store

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Moment:
    """The unassigned and long idle numbers at one time, and (with costs) what they cost."""

    unassigned: int
    idle: int | None
    unassigned_cost: Cost | None = None
    idle_cost: Cost | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    now: dt.datetime
    since: dt.datetime
    run: RunRecord | None
    changes: dict[str, int]
    actions: list[FollowUpAction]
    current: Moment
    # None: no sync had run a week ago.
    week_ago: Moment | None
    followups: FollowUpCounts
    # The unowned follow-ups, oldest first, with each number's monthly cost.
    unowned: list[tuple[PhoneNumber, float | None]]


def build_digest(store: Store, *, now: dt.datetime, costs: CostRules) -> Digest:
    since = now - WEEK
    idle_since = now - dt.timedelta(days=IDLE_DAYS)
    numbers = store.load_numbers()
    followups = store.followups()
    today = now.astimezone(dt.UTC).date()
    overview = costs.overview_of(store.tallies(idle_since=idle_since)) if costs.configured else None
    current = Moment(
        unassigned=sum(n.unassigned for n in numbers),
        idle=sum(is_idle(n, now=now, days=IDLE_DAYS) for n in numbers if n.unassigned),
        unassigned_cost=overview.unassigned if overview else None,
        idle_cost=overview.idle if overview else None,
    )
    unowned = sorted(
        (
            n
            for n in numbers
            if n.unassigned and state_of(followups.get(n.key), today) is FollowUpState.UNOWNED
        ),
        key=lambda n: (n.unassigned_since is None, n.unassigned_since, n.phone_number),
    )
    return Digest(
        now=now,
        since=since,
        run=store.latest_run(),
        changes=count_changes(store.changes_since(since)),
        actions=store.followup_actions(since=since),
        current=current,
        week_ago=_then(store.run_before(since)),
        followups=count_followups(numbers, followups, today=today, costs=costs),
        unowned=[(n, costs.monthly(n) if costs.configured else None) for n in unowned],
    )


def _then(run: RunRecord | None) -> Moment | None:
    """The figures a run recorded: its unassigned numbers, and with ``NUMBER_COSTS`` then,
    their cost and the idle ones (a run records those only with costs)."""
    if run is None:
        return None
    money: dict[str, Any] | None = run.result.get("monthly_cost")
    if not money:
        return Moment(unassigned=int(run.result.get("unassigned", 0)), idle=None)
    unassigned, idle = money["unassigned"], money[f"idle_{IDLE_DAYS}_days"]
    currency = str(money["currency"])
    return Moment(
        unassigned=int(run.result.get("unassigned", 0)),
        idle=int(idle["numbers"]),
        unassigned_cost=_cost(unassigned, currency),
        idle_cost=_cost(idle, currency),
    )


def _cost(raw: dict[str, Any], currency: str) -> Cost:
    return Cost(float(raw["amount"]), currency, int(raw["numbers"]), int(raw.get("unpriced", 0)))
