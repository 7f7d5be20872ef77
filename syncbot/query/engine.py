"""Answering a parsed query from a snapshot of the latest sync, in memory.

The snapshot is loaded once from the store into compact columns (``snapshot.py``), and a query
selects its rows as bitmaps, so answers take milliseconds whatever the inventory's size (Slack
allows 3 s, and a query never calls a provider). Records are made only for what is shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbot.costs import IDLE_DAYS, Cost, CostOverview, CostRules
from syncbot.errors import QueryError
from syncbot.followups import FollowUp, FollowUpCounts, FollowUpState, cell_text
from syncbot.models import (
    Change,
    Key,
    PhoneNumber,
    RunRecord,
    SheetState,
    SourceState,
    ago,
    iso,
    sheet_health,
)
from syncbot.query.grammar import Query
from syncbot.query.hints import unknown_values
from syncbot.query.snapshot import Snapshot
from syncbot.runlock import HeldLock


def counted(n: int, noun: str) -> str:
    """``1 number``, ``2 numbers``, ``1,204 changes``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


@dataclass(slots=True)
class Answer:
    """What a query found, in a form both the CLI and Slack render."""

    query: Query
    # Records are made as they are read: a page of a long list makes twenty.
    numbers: Sequence[PhoneNumber] = field(default_factory=list)
    changes: Sequence[Change] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    run: RunRecord | None = None
    states: list[SourceState] = field(default_factory=list)
    # The sheet's health; None when no sheet is configured.
    sheet: SheetState | None = None
    sheet_configured: bool = False
    costs: CostRules = field(default_factory=CostRules)
    # What the listed numbers cost a month (lists), or the overview (stats); None without rules.
    cost: Cost | None = None
    cost_overview: CostOverview | None = None
    # The open follow-ups of the unassigned numbers as of the question (not of the sync: people
    # act between syncs), and the day their Expected dates are read against.
    followups: Mapping[Key, FollowUp] = field(default_factory=dict)
    today: dt.date = dt.date.min
    # `stats` and `idle Nd`: the selected numbers' follow-ups counted by state.
    followup_counts: FollowUpCounts | None = None

    def followup_text(self, number: PhoneNumber) -> str:
        """``@alice since 2026-12-01``, ``expected until ...: why``, ``unowned``; "" if assigned."""
        return cell_text(
            self.followups.get(number.key), unassigned=number.unassigned, today=self.today
        )

    def _record(self, number: PhoneNumber) -> dict[str, Any]:
        priced = self.costs.configured
        out = number.to_dict(monthly_cost=self.costs.monthly(number) if priced else None)
        out["follow_up"] = self._followup_dict(number)
        return out

    def _followup_dict(self, number: PhoneNumber) -> dict[str, Any] | None:
        if not number.unassigned:
            return None
        found = self.followups.get(number.key)
        state = FollowUpState.UNOWNED if found is None else found.state(self.today)
        owner = found.owner if found else None
        expected = found if state is FollowUpState.EXPECTED else None
        return {
            "state": state.value,
            "owner": owner.user_id if owner else None,
            "owner_name": owner.name if owner else None,
            "owned_at": iso(found.owned_at) if found else None,
            "expected_until": expected.expected_until.isoformat()
            if expected and expected.expected_until
            else None,
            "reason": expected.reason if expected else None,
            "text": self.followup_text(number),
        }

    @property
    def total(self) -> int:
        if self.query.action == "changes":
            return len(self.changes)
        return len(self.numbers)

    @property
    def stale_sources(self) -> list[str]:
        return [s.key for s in self.states if s.stale]

    def sync_info(self) -> dict[str, Any]:
        return {
            "run_id": self.run.run_id if self.run else None,
            "finished_at": iso(self.run.finished_at) if self.run else None,
            "status": self.run.status if self.run else None,
            "stale_sources": self.stale_sources,
        }

    def sheet_health(self) -> dict[str, Any]:
        """``{"status": "ok"|"failing"|"off", "error", "last_ok_at"}``."""
        return sheet_health(self.sheet, configured=self.sheet_configured)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query.text, "action": self.query.action}
        if self.query.action == "stats":
            out |= {"total": len(self.numbers), **self.stats}
            out["monthly_cost"] = self.cost_overview.to_dict() if self.cost_overview else None
            out["follow_ups"] = self.followup_counts.to_dict() if self.followup_counts else None
        elif self.query.action == "changes":
            out |= {"total": len(self.changes), "changes": [c.to_dict() for c in self.changes]}
        elif self.query.action == "status":
            out |= {
                "total": len(self.numbers),
                "sources": {
                    s.key: {
                        "status": s.status,
                        "last_ok_at": iso(s.last_ok_at),
                        "last_attempt_at": iso(s.last_attempt_at),
                        "error": s.error,
                    }
                    for s in self.states
                },
                "sheet": self.sheet_health(),
            }
        else:
            out |= {
                "total": self.total,
                "numbers": [self._record(n) for n in self.numbers],
                "monthly_cost": self.cost.to_dict() if self.cost else None,
            }
            if self.followup_counts is not None:
                out["follow_ups"] = self.followup_counts.to_dict()
        out["sync"] = self.sync_info()
        out["warnings"] = list(self.warnings)
        return out

    def cost_lines(self) -> list[str]:
        """What the answer's numbers cost a month, in sentences; none without ``NUMBER_COSTS``."""
        if self.cost is not None:
            if self.query.idle_days is not None:
                numbers = counted(self.cost.numbers, "number")
                head = f"{numbers} unassigned for {self.query.idle_days} days or more"
                return [_priced(head, self.cost)]
            status = f" {self.query.status}" if self.query.status else ""
            return [_priced(counted(self.cost.numbers, "number") + status, self.cost)]
        if self.cost_overview is not None:
            every, unassigned, idle = (
                self.cost_overview.all,
                self.cost_overview.unassigned,
                self.cost_overview.idle,
            )
            return [
                _priced("All " + counted(every.numbers, "number"), every),
                _priced(f"{unassigned.numbers:,} unassigned", unassigned),
                _priced(f"{idle.numbers:,} unassigned for {IDLE_DAYS} days or more", idle),
            ]
        return []

    def followup_lines(self) -> list[str]:
        """``stats`` and ``idle Nd``: who is on the unassigned numbers, and what the unowned
        cost a month; none for other answers."""
        counts = self.followup_counts
        if counts is None:
            return []
        line = (
            f"Follow-ups: {counts.open:,} open: {counts.owned:,} owned, "
            f"{counts.expected:,} expected, {counts.unowned:,} unowned"
        )
        if counts.oldest_unowned is not None:
            line += f" (the oldest unowned since {counts.oldest_unowned.date().isoformat()})"
        out = [line]
        if counts.unowned_cost is not None:
            out.append(_priced(f"{counts.unowned:,} unowned", counts.unowned_cost))
        return out


def _priced(what: str, cost: Cost) -> str:
    """``47 numbers unassigned for 30 days or more: 54.05 USD a month``."""
    line = f"{what}: {cost.text()} a month"
    if cost.unpriced:
        line += f" ({cost.unpriced:,} of them match no NUMBER_COSTS rule)"
    return line


def _selected(
    snapshot: Snapshot,
    query: Query,
    now: dt.datetime,
    followups: Mapping[Key, FollowUp],
    asker: str | None,
) -> int:
    """The rows of the numbers ``query`` asks for, as a bitmap."""
    selected = snapshot.phone_bits(query.phone) if query.phone else snapshot.everything()
    if query.status is not None:
        selected &= snapshot.status_bits(query.status)
    if query.agent is not None:
        selected &= snapshot.agent_bits(query.agent)
    if query.idle_days is not None:
        selected &= snapshot.unassigned_since_bits(now - dt.timedelta(days=query.idle_days))
    for key, wanted in query.filters.items():
        selected &= snapshot.field_bits(key, wanted)
    if query.followup is not None:
        selected &= _followup_bits(
            snapshot, query, selected, today=now.date(), followups=followups, asker=asker
        )
    return selected


def _followup_bits(
    snapshot: Snapshot,
    query: Query,
    selected: int,
    *,
    today: dt.date,
    followups: Mapping[Key, FollowUp],
    asker: str | None,
) -> int:
    """The ``selected`` (unassigned) numbers that ``mine``, ``unowned`` or ``expected`` keeps."""
    if query.followup == "mine":
        if asker is None:
            raise QueryError(
                '"mine" means the follow-ups of whoever asks: in Slack that is you; with '
                "`syncbot query` pass your Slack member id, e.g. --user U0123ABCD"
            )
        return snapshot.key_bits(
            {k for k, f in followups.items() if _is_mine(f, asker, today)}, within=selected
        )
    if query.followup == "expected":
        wanted = {k for k, f in followups.items() if f.state(today) is FollowUpState.EXPECTED}
        return snapshot.key_bits(wanted, within=selected)
    taken = {k for k, f in followups.items() if f.state(today) is not FollowUpState.UNOWNED}
    return selected & ~snapshot.key_bits(taken, within=selected)


def _is_mine(followup: FollowUp, asker: str, today: dt.date) -> bool:
    """Owned by ``asker``, or expected (still) on their word."""
    if followup.owned_by(asker):
        return True
    by = followup.expected_by
    state = followup.state(today)
    return state is FollowUpState.EXPECTED and by is not None and by.user_id == asker


def _followup_counts(
    snapshot: Snapshot,
    selected: int,
    *,
    today: dt.date,
    followups: Mapping[Key, FollowUp],
    costs: CostRules,
    now: dt.datetime,
) -> FollowUpCounts:
    """The follow-ups of the ``selected`` numbers counted by state, by bitmaps."""
    unassigned = selected & snapshot.status_bits("unassigned")
    by_state = {
        state: snapshot.key_bits(
            {k for k, f in followups.items() if f.state(today) is state}, within=unassigned
        )
        for state in (FollowUpState.OWNED, FollowUpState.EXPECTED)
    }
    unowned = unassigned & ~(by_state[FollowUpState.OWNED] | by_state[FollowUpState.EXPECTED])
    return FollowUpCounts(
        open=unassigned.bit_count(),
        owned=by_state[FollowUpState.OWNED].bit_count(),
        expected=by_state[FollowUpState.EXPECTED].bit_count(),
        unowned=unowned.bit_count(),
        oldest_unowned=snapshot.earliest_unassigned(unowned),
        unowned_cost=_overview(snapshot, unowned, costs, now).all if costs.configured else None,
    )


def _counts(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def warnings_for(snapshot: Snapshot, *, now: dt.datetime, interval_seconds: int) -> list[str]:
    """What a reader must know before trusting the answer."""
    if snapshot.run is None:
        return ["No sync has run yet: run `syncbot sync` (or wait for the scheduler)."]
    out = [_stale_warning(s) for s in snapshot.states if s.stale]
    age = now - snapshot.run.finished_at
    if age > dt.timedelta(seconds=2 * interval_seconds):
        out.append(
            f"The latest sync finished {ago(age)} ago, more than twice the sync interval "
            f"({ago(dt.timedelta(seconds=interval_seconds))}): check the scheduler or worker."
        )
    return out


def _stale_warning(state: SourceState) -> str:
    why = "failed" if state.status == "failed" else "did not include it (no longer configured)"
    text = f"{state.key} is stale: its latest sync {why}"
    if state.error:
        text += f" ({state.error})"
    if state.last_ok_at:
        text += f"; its numbers are as of {iso(state.last_ok_at)}"
    return text


def answer(
    query: Query,
    snapshot: Snapshot,
    *,
    now: dt.datetime,
    interval_seconds: int,
    history: Sequence[Change] = (),
    costs: CostRules | None = None,
    lock: HeldLock | None = None,
    followups: Mapping[Key, FollowUp] | None = None,
    asker: str | None = None,
    sheet_configured: bool = False,
) -> Answer:
    """Run ``query`` over ``snapshot``. ``help`` and ``sync`` need no data and get none.

    ``history`` holds the changes of ``query.window`` (``Store.changes_since``) for
    ``changes 24h``; the snapshot itself keeps only the latest sync's. With ``costs``
    (``NUMBER_COSTS``) a list says what its numbers cost a month and ``stats`` what all, the
    unassigned and the long idle numbers cost. ``lock``, when a sync holds the run lock, leads
    the warnings once it has held it too long. ``sheet_configured`` (``GOOGLE_SHEET_ID`` set)
    tells a sheet that is off from one that has not been written yet. ``followups``
    (``Store.followups``, read for this question: people act between syncs) say who is on
    each unassigned number; ``asker`` is the Slack user whose follow-ups ``mine`` means.
    """
    costs = costs or CostRules()
    followups = followups or {}
    today = now.astimezone(dt.UTC).date()
    out = Answer(
        query=query,
        warnings=warnings_for(snapshot, now=now, interval_seconds=interval_seconds),
        run=snapshot.run,
        states=list(snapshot.states),
        sheet=snapshot.sheet if sheet_configured else None,
        sheet_configured=sheet_configured,
        costs=costs,
        followups=followups,
        today=today,
    )
    if lock is not None and lock.stuck(now):
        out.warnings.insert(0, lock.describe(now))
    if query.action in {"help", "sync"}:
        return out
    if query.filters:
        out.warnings += unknown_values(query.filters, snapshot.filter_values())
    selected = _selected(snapshot, query, now, followups, asker)
    out.numbers = snapshot.numbers_in(selected)
    if query.action == "stats" or query.idle_days is not None:
        out.followup_counts = _followup_counts(
            snapshot, selected, today=today, followups=followups, costs=costs, now=now
        )
    if query.action == "stats":
        out.stats = {
            "by_source": _counts(snapshot.counts("source_key", selected)),
            "by_status": _counts(snapshot.counts("status", selected)),
            "by_country": _counts(snapshot.counts("country", selected)),
            "by_type": _counts(snapshot.counts("type", selected)),
        }
        if costs.configured:
            out.cost_overview = _overview(snapshot, selected, costs, now)
    elif query.action == "list" and costs.configured:
        out.cost = _overview(snapshot, selected, costs, now).all
    elif query.action == "changes":
        if query.window is None:
            out.changes = snapshot.changes_of(
                selected if query.has_filters else None,
                removed=lambda source, account: _removal_matches(source, account, query),
            )
        else:
            keys = snapshot.keys_in(selected) if query.has_filters else None
            out.changes = [
                c
                for c in history
                if keys is None
                or c.key in keys
                or (c.kind.value == "removed" and _removal_matches(c.source, c.account, query))
            ]
    return out


def _overview(
    snapshot: Snapshot, selected: int, costs: CostRules, now: dt.datetime
) -> CostOverview:
    """What the ``selected`` numbers cost, counted by price fields rather than number by number."""
    tallies = snapshot.tallies(selected, idle_since=now - dt.timedelta(days=IDLE_DAYS))
    return costs.overview_of(tallies)


def _removal_matches(source: str, account: str, query: Query) -> bool:
    """Removed numbers are gone from the snapshot; match them on what the change recorded."""
    wanted = query.filters
    return all(
        (key == "source" and source in values) or (key == "account" and account in values)
        for key, values in wanted.items()
    ) and not (query.status or query.agent or query.phone or query.idle_days or query.followup)
