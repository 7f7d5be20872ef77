"""Answering a parsed query from a snapshot of the latest sync, in memory.

The snapshot is loaded once from the store and indexed, so answers take milliseconds
whatever the inventory's size (Slack allows 3 s, and a query never calls a provider).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from syncbot.costs import IDLE_DAYS, Cost, CostOverview, CostRules, is_idle
from syncbot.models import Change, PhoneNumber, RunRecord, SourceState, iso
from syncbot.query.grammar import Query
from syncbot.query.hints import filter_value, unknown_values, values_by_key
from syncbot.store import Store

_NON_DIGITS = re.compile(r"\D")


@dataclass(slots=True)
class Snapshot:
    """The latest committed sync: inventory, run, source health and the run's changes."""

    numbers: list[PhoneNumber]
    run: RunRecord | None
    states: list[SourceState]
    changes: list[Change]
    _by_e164: dict[str, list[PhoneNumber]] = field(default_factory=dict, repr=False)
    _digits: list[tuple[str, PhoneNumber]] = field(default_factory=list, repr=False)
    _by_status: dict[str, list[PhoneNumber]] = field(default_factory=dict, repr=False)
    _values: dict[str, set[str]] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for number in self.numbers:
            self._by_e164.setdefault(number.phone_number, []).append(number)
            self._digits.append((_NON_DIGITS.sub("", number.phone_number), number))
            self._by_status.setdefault(number.status, []).append(number)

    def filter_values(self) -> dict[str, set[str]]:
        """The values each filter key can match, worked out on the first filtered query."""
        if self._values is None:
            self._values = values_by_key(self.numbers)
        return self._values

    @property
    def run_id(self) -> int | None:
        return self.run.run_id if self.run else None

    def with_phone(self, text: str) -> list[PhoneNumber]:
        """Numbers matching a phone number in any format, or containing a run of digits."""
        digits = _NON_DIGITS.sub("", text)
        if text.lstrip().startswith(("+", "00")):
            try:
                parsed = phonenumbers.parse(
                    text.replace("00", "+", 1) if text.startswith("00") else text
                )
            except phonenumbers.NumberParseException:
                parsed = None
            if parsed is not None and phonenumbers.is_possible_number(parsed):
                e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                exact = self._by_e164.get(e164)
                if exact:
                    return list(exact)
            if text.startswith("00"):
                digits = digits[2:]
            return [n for d, n in self._digits if d.startswith(digits)] if digits else []
        if not digits:
            return []
        national = {id(n) for n in self._national(text)}
        return [n for d, n in self._digits if digits in d or id(n) in national]

    def _national(self, text: str) -> list[PhoneNumber]:
        """The numbers ``text`` names in the national format of one of the inventory's
        countries, trunk prefix included (``0113 210 3762`` in GB is ``+44 113 210 3762``)."""
        regions = self.filter_values()["country"]
        found: list[PhoneNumber] = []
        for region in sorted(regions):
            try:
                parsed = phonenumbers.parse(text, region.upper())
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(parsed):
                e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                found += self._by_e164.get(e164, [])
        return found

    def with_status(self, status: str) -> list[PhoneNumber]:
        """The numbers with this status, in inventory order."""
        return self._by_status.get(status, [])


def counted(n: int, noun: str) -> str:
    """``1 number``, ``2 numbers``, ``1,204 changes``."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def load_snapshot(store: Store) -> Snapshot:
    run = store.latest_run()
    return Snapshot(
        numbers=store.load_numbers(),
        run=run,
        states=store.source_states(),
        changes=store.changes(run.run_id) if run else [],
    )


@dataclass(slots=True)
class Answer:
    """What a query found, in a form both the CLI and Slack render."""

    query: Query
    numbers: list[PhoneNumber] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    run: RunRecord | None = None
    states: list[SourceState] = field(default_factory=list)
    costs: CostRules = field(default_factory=CostRules)
    # What the listed numbers cost a month (lists), or the overview (stats); None without rules.
    cost: Cost | None = None
    cost_overview: CostOverview | None = None

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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query.text, "action": self.query.action}
        if self.query.action == "stats":
            out |= {"total": len(self.numbers), **self.stats}
            out["monthly_cost"] = self.cost_overview.to_dict() if self.cost_overview else None
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
            }
        else:
            priced = self.costs.configured
            out |= {
                "total": self.total,
                "numbers": [
                    n.to_dict(monthly_cost=self.costs.monthly(n) if priced else None)
                    for n in self.numbers
                ],
                "monthly_cost": self.cost.to_dict() if self.cost else None,
            }
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


def _priced(what: str, cost: Cost) -> str:
    """``47 numbers unassigned for 30 days or more: 54.05 USD a month``."""
    line = f"{what}: {cost.text()} a month"
    if cost.unpriced:
        line += f" ({cost.unpriced:,} of them match no NUMBER_COSTS rule)"
    return line


def _matches(number: PhoneNumber, query: Query, now: dt.datetime) -> bool:
    if query.status is not None and number.status != query.status:
        return False
    if query.agent is not None and (number.agent_id or "").lower() != query.agent.lower():
        return False
    if query.idle_days is not None and not is_idle(number, now=now, days=query.idle_days):
        return False
    for key, wanted in query.filters.items():
        value = (filter_value(number, key) or "").lower()
        if value not in {w.lower() for w in wanted}:
            return False
    return True


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    counts = Counter(value or "unknown" for value in values)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def warnings_for(snapshot: Snapshot, *, now: dt.datetime, interval_seconds: int) -> list[str]:
    """What a reader must know before trusting the answer."""
    if snapshot.run is None:
        return ["No sync has run yet: run `syncbot sync` (or wait for the scheduler)."]
    out = [_stale_warning(s) for s in snapshot.states if s.stale]
    age = now - snapshot.run.finished_at
    if age > dt.timedelta(seconds=2 * interval_seconds):
        out.append(
            f"The latest sync finished {_ago(age)} ago, more than twice the sync interval "
            f"({_ago(dt.timedelta(seconds=interval_seconds))}): check the scheduler or worker."
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


def _ago(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def answer(
    query: Query,
    snapshot: Snapshot,
    *,
    now: dt.datetime,
    interval_seconds: int,
    history: Sequence[Change] = (),
    costs: CostRules | None = None,
) -> Answer:
    """Run ``query`` over ``snapshot``. ``help`` and ``sync`` need no data and get none.

    ``history`` holds the changes of ``query.window`` (``Store.changes_since``) for
    ``changes 24h``; the snapshot itself keeps only the latest sync's. With ``costs``
    (``NUMBER_COSTS``) a list says what its numbers cost a month and ``stats`` what all, the
    unassigned and the long idle numbers cost.
    """
    costs = costs or CostRules()
    out = Answer(
        query=query,
        warnings=warnings_for(snapshot, now=now, interval_seconds=interval_seconds),
        run=snapshot.run,
        states=list(snapshot.states),
        costs=costs,
    )
    if query.action in {"help", "sync"}:
        return out
    if query.filters:
        out.warnings += unknown_values(query.filters, snapshot.filter_values())
    if query.phone:
        pool = snapshot.with_phone(query.phone)
    elif query.status is not None:
        # `unassigned` is the most asked question: the index spares scanning the inventory.
        pool = snapshot.with_status(query.status)
    else:
        pool = snapshot.numbers
    out.numbers = [n for n in pool if _matches(n, query, now)]
    if query.action == "stats":
        out.stats = {
            "by_source": _counts(n.source_key for n in out.numbers),
            "by_status": _counts(n.status for n in out.numbers),
            "by_country": _counts(n.country_code for n in out.numbers),
            "by_type": _counts(n.number_type for n in out.numbers),
        }
        if costs.configured:
            out.cost_overview = costs.overview(out.numbers, now=now)
    elif query.action == "list" and costs.configured:
        out.cost = costs.total(out.numbers)
    elif query.action == "changes":
        keys = {n.key for n in out.numbers} if query.has_filters else None
        out.changes = [
            c
            for c in (snapshot.changes if query.window is None else history)
            if keys is None
            or c.key in keys
            or (c.kind.value == "removed" and _change_matches(c, query))
        ]
    return out


def _change_matches(change: Change, query: Query) -> bool:
    """Removed numbers are gone from the snapshot; match them on what the change recorded."""
    wanted = query.filters
    return all(
        (key == "source" and change.source in values)
        or (key == "account" and change.account in values)
        for key, values in wanted.items()
    ) and not (query.status or query.agent or query.phone or query.idle_days)
