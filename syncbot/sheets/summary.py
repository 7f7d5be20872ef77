"""The Summary tab: the latest sync, each source's health and last good sync, and counts.

Tallied a batch of numbers at a time as the writer walks the inventory once, so the inventory
may be a stream. Pure: no Google types and no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from syncbot.costs import round_money
from syncbot.followups import FollowUpBook, FollowUpState
from syncbot.models import RunResult
from syncbot.sheets.layout import Row, cut, or_blank, when_text
from syncbot.sheets.summary_costs import CostTally
from syncbot.store.base import InventoryBatch

SUMMARY_WIDTHS = (220, 90, 90, 90, 90, 90, 160)
SOURCE_HEADER = (
    "Source / account",
    "Numbers",
    "Assigned",
    "Unassigned",
    "Stale",
    "Health",
    "Last good sync",
)
# The table of sources starts on the Summary's sixth row; the "by source" chart reads it.
SOURCE_TABLE_ROW = 5


@dataclass(slots=True)
class _Source:
    numbers: int = 0
    unassigned: int = 0
    stale: int = 0
    # Stale rows keep the time of their source's last good sync as their last sighting.
    last_seen: dt.datetime | None = None


@dataclass(slots=True)
class FollowUpTally:
    """The open follow-ups (every unassigned number) by state, the oldest unowned, and what
    the unowned cost a month."""

    by_state: Counter[FollowUpState] = field(default_factory=Counter)
    oldest_unowned: dt.datetime | None = None
    unowned_cost: float = 0.0

    def add_batch(
        self, batch: InventoryBatch, prices: Sequence[float | None], book: FollowUpBook
    ) -> None:
        """The unassigned numbers of ``batch``, at their prices, as ``book`` has them."""
        b = batch.numbers
        for i, status in enumerate(b.status):
            if status == "unassigned":
                _, state = book.of_unassigned((b.source[i], b.account[i], b.number_id[i]))
                self._add(state, prices[i], b.unassigned_since[i])

    def _add(self, state: FollowUpState, price: float | None, since: dt.datetime | None) -> None:
        self.by_state[state] += 1
        if state is FollowUpState.UNOWNED:
            self.unowned_cost += price or 0.0
            if since is not None and (self.oldest_unowned is None or since < self.oldest_unowned):
                self.oldest_unowned = since

    def rows(self, currency: str | None) -> list[Row]:
        counts = self.by_state
        unowned: Row = ["Unowned", counts[FollowUpState.UNOWNED]]
        header: Row = ["Follow-ups", "Numbers"]
        if currency is not None:
            header.append(f"Monthly cost ({currency})")
            unowned.append(round_money(self.unowned_cost, currency))
        return [
            header,
            ["Open", counts.total()],
            ["Owned", counts[FollowUpState.OWNED]],
            ["Expected", counts[FollowUpState.EXPECTED]],
            unowned,
            ["Oldest unowned since", when_text(self.oldest_unowned)],
        ]


@dataclass(slots=True)
class SummaryTally:
    """Counts by source, status, country and type, fed one number at a time."""

    numbers: int = 0
    unassigned: int = 0
    sources: dict[str, _Source] = field(default_factory=dict)
    status: Counter[str] = field(default_factory=Counter)
    country: Counter[str] = field(default_factory=Counter)
    type: Counter[str] = field(default_factory=Counter)
    # What the numbers cost a month, when NUMBER_COSTS is set.
    costs: CostTally | None = None
    # Who is on the unassigned numbers, when the write knows (``FollowUpBook``).
    followups: FollowUpTally | None = None

    def add_batch(self, batch: InventoryBatch, prices: Sequence[float | None]) -> None:
        """Each number of ``batch``, at its price (None: no rule prices it)."""
        if self.costs is not None:
            self.costs.add_batch(batch, prices)
        b = batch.numbers
        unassigned = [status == "unassigned" for status in b.status]
        self.numbers += len(batch)
        self.unassigned += sum(unassigned)
        # Counted by kind first: a batch holds few sources, statuses and flags.
        kinds = Counter(zip(b.source, b.account, unassigned, batch.stale, strict=True))
        for (source_name, account, free, stale), count in kinds.items():
            source = self._source(f"{source_name}/{account}")
            source.numbers += count
            source.unassigned += count * free
            source.stale += count * stale
        for source_name, account, seen in set(
            zip(b.source, b.account, batch.last_seen_at, strict=True)
        ):
            source = self._source(f"{source_name}/{account}")
            if seen is not None and (source.last_seen is None or seen > source.last_seen):
                source.last_seen = seen
        self.status.update(b.status)
        for counts, column in ((self.country, b.country_code), (self.type, b.number_type)):
            for value, count in Counter(column).items():
                counts[or_blank(value)] += count

    def _source(self, key: str) -> _Source:
        source = self.sources.get(key)
        if source is None:
            source = self.sources[key] = _Source()
        return source

    def rows(self, run: RunResult) -> list[Row]:
        synced = run.finished_at or run.started_at
        rows: list[Row] = [
            ["Synced at", when_text(synced)],
            ["Run", "" if run.run_id is None else run.run_id],
            ["Numbers", self.numbers],
            ["Unassigned numbers", self.unassigned],
            [],
            list(SOURCE_HEADER),
        ]
        assert len(rows) == SOURCE_TABLE_ROW + 1
        for key in self._source_keys(run):
            source = self.sources.get(key, _Source())
            outcome = run.sources.get(key)
            healthy = outcome is not None and outcome.status == "ok"
            health = "ok" if healthy else "failed" if outcome is not None else "not synced"
            last_good = synced if healthy else source.last_seen
            assigned = source.numbers - source.unassigned
            figures = [source.numbers, assigned, source.unassigned, source.stale]
            rows.append([cut(key), *figures, health, when_text(last_good)])
        if self.followups is not None:
            currency = self.costs.currency if self.costs is not None else None
            rows += [[], *self.followups.rows(currency)]
        if self.costs is not None:
            rows += [[], *self.costs.rows()]
        for title, counts in (
            ("Status", self.status),
            ("Country", self.country),
            ("Type", self.type),
        ):
            rows += [[], *_table(title, counts)]
        return rows

    def source_rows(self, run: RunResult) -> tuple[int, int]:
        """Where the table of sources is on the Summary: its rows, header included."""
        return SOURCE_TABLE_ROW, SOURCE_TABLE_ROW + 1 + len(self._source_keys(run))

    def _source_keys(self, run: RunResult) -> list[str]:
        return sorted(self.sources.keys() | run.sources.keys())


def _table(title: str, counts: Counter[str]) -> list[Row]:
    rows: list[Row] = [[title, "Numbers"]]
    rows += [[cut(name) or "(none)", count] for name, count in sorted(counts.items())]
    return rows
