"""The store interface: one snapshot of numbers with its history, committed a run at a time."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from syncbot.costs import Tally
from syncbot.followups import ActionResult, FollowUp, FollowUpAction, FollowUpRef, Person
from syncbot.models import (
    Change,
    Key,
    PhoneNumber,
    RunRecord,
    RunResult,
    SheetState,
    SourceState,
    Status,
)

if TYPE_CHECKING:
    from syncbot.store.staging import Staging


@dataclass(frozen=True, slots=True)
class NumberBatch:
    """Stored numbers field by field: one sequence per field, aligned, for readers that keep
    columns rather than records. Repeated values are shared objects."""

    source: Sequence[str]
    account: Sequence[str]
    number_id: Sequence[str]
    phone_number: Sequence[str]
    valid: Sequence[bool]
    country_code: Sequence[str | None]
    number_type: Sequence[str | None]
    carrier: Sequence[str | None]
    status: Sequence[Status]
    provider_status: Sequence[str | None]
    agent_id: Sequence[str | None]
    label: Sequence[str | None]
    inbound: Sequence[bool | None]
    outbound: Sequence[bool | None]
    created_at: Sequence[dt.datetime | None]
    first_seen_at: Sequence[dt.datetime | None]
    unassigned_since: Sequence[dt.datetime | None]

    @classmethod
    def of(cls, numbers: Sequence[PhoneNumber]) -> NumberBatch:
        return cls(
            source=[n.source for n in numbers],
            account=[n.account for n in numbers],
            number_id=[n.number_id for n in numbers],
            phone_number=[n.phone_number for n in numbers],
            valid=[n.valid for n in numbers],
            country_code=[n.country_code for n in numbers],
            number_type=[n.number_type for n in numbers],
            carrier=[n.carrier for n in numbers],
            status=[n.status for n in numbers],
            provider_status=[n.provider_status for n in numbers],
            agent_id=[n.agent_id for n in numbers],
            label=[n.label for n in numbers],
            inbound=[n.inbound for n in numbers],
            outbound=[n.outbound for n in numbers],
            created_at=[n.created_at for n in numbers],
            first_seen_at=[n.first_seen_at for n in numbers],
            unassigned_since=[n.unassigned_since for n in numbers],
        )


@dataclass(frozen=True, slots=True)
class InventoryBatch:
    """Numbers as columns (``numbers``) with what their source's state adds to each: when the
    source last listed well, and whether its numbers are stale. The sheet writer's stream: a
    full inventory as records would not fit a small dyno, and a record per number costs more
    than the rest of its row."""

    numbers: NumberBatch
    last_seen_at: Sequence[dt.datetime | None]
    stale: Sequence[bool]

    def __len__(self) -> int:
        return len(self.numbers.number_id)

    @classmethod
    def of(cls, numbers: Sequence[PhoneNumber]) -> InventoryBatch:
        return cls(
            NumberBatch.of(numbers), [n.last_seen_at for n in numbers], [n.stale for n in numbers]
        )


# The inventory as the sheet writer takes it: records, or the store's batches of them.
InventoryStream = Iterable[PhoneNumber] | Iterable[InventoryBatch]
# Records are gathered this many at a time, as the store's batches hold a few thousand.
_RECORDS_PER_BATCH = 10_000


def as_batches(inventory: InventoryStream) -> Iterator[InventoryBatch]:
    """``inventory``'s numbers a batch at a time, records gathered into batches."""
    records: list[PhoneNumber] = []
    for item in inventory:
        if isinstance(item, InventoryBatch):
            yield item
            continue
        records.append(item)
        if len(records) == _RECORDS_PER_BATCH:
            yield InventoryBatch.of(records)
            records = []
    if records:
        yield InventoryBatch.of(records)


class Store(ABC):
    """What the sync loop, the query engine and the commands need from a database.

    Readers always see the latest committed run; a run's writes land in one transaction.
    """

    @abstractmethod
    def migrate(self) -> int:
        """Create or upgrade the schema; returns the schema version. Safe to repeat."""

    @abstractmethod
    def schema_version(self) -> int:
        """The schema version in the database (0 when it has none yet)."""

    @abstractmethod
    def run_lock(self) -> AbstractContextManager[bool]:
        """Hold the one-sync-at-a-time lock; yields False when another run holds it.

        The lock dies with the process that holds it, so a killed run never blocks the next.
        """

    @abstractmethod
    def run_lock_since(self) -> dt.datetime | None:
        """When the run lock was taken, while a run holds it; None when it is free."""

    @abstractmethod
    def load_numbers(self) -> list[PhoneNumber]:
        """The current inventory, stale rows included."""

    @abstractmethod
    def tallies(self, *, idle_since: dt.datetime) -> list[Tally]:
        """The inventory counted by what a number's price depends on, and whether it is
        unassigned, and unassigned since ``idle_since`` or earlier: costs without loading it."""

    @abstractmethod
    def counts_by_source(self) -> dict[str, int]:
        """How many numbers the store holds for each ``source/account``, stale rows included."""

    @abstractmethod
    def source_states(self) -> list[SourceState]: ...

    @abstractmethod
    def sheet_state(self) -> SheetState | None:
        """The sheet's health as of its latest write; None before the first."""

    @abstractmethod
    def latest_run(self) -> RunRecord | None: ...

    @abstractmethod
    def recent_runs(self, limit: int) -> list[RunRecord]: ...

    @abstractmethod
    def run_before(self, at: dt.datetime) -> RunRecord | None:
        """The latest run started at ``at`` or earlier (what the inventory was then)."""

    @abstractmethod
    def changes(self, run_id: int) -> list[Change]: ...

    @abstractmethod
    def iter_changes(self, run_id: int) -> Iterator[Change]:
        """A run's changes in order, read a batch at a time."""

    @abstractmethod
    def changes_since(self, at: dt.datetime) -> list[Change]:
        """The changes of every run started at ``at`` or later, newest first."""

    @abstractmethod
    def scan_numbers(self) -> Iterator[NumberBatch]:
        """The current inventory a batch at a time, in ``load_numbers``' order, read in one
        transaction without holding it all at once."""

    def inventory_batches(self) -> Iterator[InventoryBatch]:
        """``scan_numbers``' batches with each number's source state."""
        states = {(s.source, s.account): (s.last_ok_at, s.stale) for s in self.source_states()}
        unknown = (None, False)
        for b in self.scan_numbers():
            held = [states.get(pair, unknown) for pair in zip(b.source, b.account, strict=True)]
            yield InventoryBatch(b, [seen for seen, _ in held], [stale for _, stale in held])

    @abstractmethod
    def staging(self) -> Staging:
        """Start a run: where its listings land as they arrive (call under ``run_lock``)."""

    @abstractmethod
    def unlisted(self, staging: Staging) -> dict[str, int]:
        """For each ``source/account`` the run listed: how many stored numbers its listing
        lacks, re-keyed ones aside (call once ``staging`` is settled)."""

    @abstractmethod
    def commit_run(
        self, result: RunResult, *, dry_run: bool = False, seconds: float | None = None
    ) -> int | None:
        """Fold the staged listings of ``result``'s ok sources into the snapshot, with its
        changes and source states, atomically; fills in ``result``'s totals and changes and
        returns the run id. A dry run computes the same figures and stores nothing (None).

        With ``seconds``, a commit still waiting or working by then is interrupted and rolled
        back (``StoreError``): the run's deadline holds even when the database stalls."""

    @abstractmethod
    def forget(self, source: str, account: str | None, result: RunResult) -> int:
        """Remove every number and the health of ``source`` (one ``account`` of it, or all),
        with a ``removed`` change for each, as the run ``result`` describes (call under
        ``run_lock``); fills in its totals and changes and returns its run id."""

    @abstractmethod
    def update_run(self, run_id: int, result: RunResult) -> None:
        """Record what happened after the commit (the sheet write) in the run's result, and
        the sheet's health when the run wrote it (ok or failed)."""

    @abstractmethod
    def first_request(self, signature: str, *, now: int, expires_at: int) -> bool:
        """Remember a signed request until ``expires_at`` (epoch seconds); False when it was
        remembered already, by this process or any other on the same store."""

    @property
    @abstractmethod
    def url(self) -> str | None:
        """A ``DATABASE_URL`` another process opens this database with; None for a database
        only this process sees (SQLite in memory)."""

    # -- follow-ups (syncbot/followups.py) ---------------------------------------------------

    @abstractmethod
    def followups(self) -> dict[Key, FollowUp]:
        """The follow-ups of the numbers unassigned now, for their current unassigned period.

        A number nobody acted on is absent (it is unowned); an expired Expected is returned as
        stored (``FollowUp.state`` says it is open again)."""

    @abstractmethod
    def take_followup(
        self, ref: FollowUpRef, who: Person, *, at: dt.datetime | None = None
    ) -> ActionResult:
        """``who`` owns the number's follow-up (ending an Expected); atomic, so of two people
        taking it at once one owns it and the other gets ``OwnedByOther`` naming them. Already
        theirs: nothing changes. ``NumberChanged`` when the number is assigned or gone, or
        unassigned again since ``ref`` was drawn."""

    @abstractmethod
    def expect_followup(
        self,
        ref: FollowUpRef,
        who: Person,
        *,
        until: dt.date,
        reason: str,
        at: dt.datetime | None = None,
    ) -> ActionResult:
        """The number is meant to stay unrouted through ``until``, for ``reason`` (it ends an
        ownership of ``who``'s; someone else's gives ``OwnedByOther``). ``BadExpectation`` for a
        past date or a missing or long reason; ``NumberChanged`` as for a take."""

    @abstractmethod
    def release_followup(
        self, ref: FollowUpRef, who: Person, *, at: dt.datetime | None = None
    ) -> ActionResult:
        """The owner lets the follow-up go (unowned again); ``OwnedByOther`` if it is not
        theirs, nothing changes if nobody owns it."""

    @abstractmethod
    def followup_actions(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        key: Key | None = None,
        after_id: int | None = None,
    ) -> list[FollowUpAction]:
        """The history of actions on follow-ups, oldest first: those at ``since`` or later and
        before ``until``, of one number when ``key`` is given, newer than the action
        ``after_id`` when given."""

    @abstractmethod
    def sheet_columns(self, spreadsheet: str) -> frozenset[str]:
        """The managed Inventory headers syncbot has written to ``spreadsheet`` (among the
        later ones, ``LATER_HEADERS``, that it records)."""

    @abstractmethod
    def add_sheet_columns(self, spreadsheet: str, headers: Iterable[str]) -> None:
        """Record that ``headers`` are syncbot's own columns in ``spreadsheet`` now."""

    @abstractmethod
    def reader(self) -> AbstractContextManager[Store]:
        """The same database on a connection of its own, for a long read (the query engine's
        load of a sync) that must not hold up this store's other callers meanwhile."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
