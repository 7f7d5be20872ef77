"""Answering a parsed query from a snapshot of the latest sync, in memory.

The snapshot is loaded once from the store into compact columns (``snapshot.py``), and a query
selects its rows as bitmaps, so answers take milliseconds whatever the inventory's size (Slack
allows 3 s, and a query never calls a provider). Records are made only for what is shown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from syncbot.models import Change, PhoneNumber, RunRecord, SourceState, iso
from syncbot.query.grammar import Query
from syncbot.query.snapshot import Snapshot


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
            out |= {"total": self.total, "numbers": [n.to_dict() for n in self.numbers]}
        out["sync"] = self.sync_info()
        out["warnings"] = list(self.warnings)
        return out


def _selected(snapshot: Snapshot, query: Query, now: dt.datetime) -> int:
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
    return selected


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


def answer(query: Query, snapshot: Snapshot, *, now: dt.datetime, interval_seconds: int) -> Answer:
    """Run ``query`` over ``snapshot``. ``help`` and ``sync`` need no data and get none."""
    out = Answer(
        query=query,
        warnings=warnings_for(snapshot, now=now, interval_seconds=interval_seconds),
        run=snapshot.run,
        states=list(snapshot.states),
    )
    if query.action in {"help", "sync"}:
        return out
    selected = _selected(snapshot, query, now)
    out.numbers = snapshot.numbers_in(selected)
    if query.action == "stats":
        out.stats = {
            "by_source": _counts(snapshot.counts("source_key", selected)),
            "by_status": _counts(snapshot.counts("status", selected)),
            "by_country": _counts(snapshot.counts("country", selected)),
            "by_type": _counts(snapshot.counts("type", selected)),
        }
    elif query.action == "changes":
        out.changes = snapshot.changes_of(
            selected if query.has_filters else None,
            removed=lambda source, account: _removal_matches(source, account, query),
        )
    return out


def _removal_matches(source: str, account: str, query: Query) -> bool:
    """Removed numbers are gone from the snapshot; match them on what the change recorded."""
    wanted = query.filters
    return all(
        (key == "source" and source in values) or (key == "account" and account in values)
        for key, values in wanted.items()
    ) and not (query.status or query.agent or query.phone or query.idle_days)
