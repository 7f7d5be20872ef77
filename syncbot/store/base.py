"""The store interface: one snapshot of numbers with its history, committed a run at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from types import TracebackType

from syncbot.history import Reconciled
from syncbot.models import Change, ParsedPhone, PhoneNumber, RunRecord, RunResult, SourceState


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
    def load_numbers(self) -> list[PhoneNumber]:
        """The current inventory, stale rows included."""

    @abstractmethod
    def counts_by_source(self) -> dict[str, int]:
        """How many numbers the store holds for each ``source/account``, stale rows included."""

    @abstractmethod
    def parse_cache(self) -> list[ParsedPhone]:
        """How each stored number's phone text was read, so it is not parsed again."""

    @abstractmethod
    def source_states(self) -> list[SourceState]: ...

    @abstractmethod
    def latest_run(self) -> RunRecord | None: ...

    @abstractmethod
    def recent_runs(self, limit: int) -> list[RunRecord]: ...

    @abstractmethod
    def changes(self, run_id: int) -> list[Change]: ...

    @abstractmethod
    def commit_run(self, result: RunResult, reconciled: Reconciled) -> int:
        """Store a run's snapshot, changes and source states atomically; returns its run id."""

    @abstractmethod
    def update_run(self, run_id: int, result: RunResult) -> None:
        """Record what happened after the commit (the sheet write) in the run's result."""

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
