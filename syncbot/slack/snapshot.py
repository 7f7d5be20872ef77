"""The in-memory copy of the latest sync that every ``/numbers`` answer comes from.

Slack allows 3 s for an answer and loading a 500,000-number snapshot takes seconds, so requests
never load it from the store (nor call a provider, nor the sheet); only ``changes 7d`` reads the
store's history, one indexed query. A poller asks the store for the latest
run id (one indexed row) every few seconds; when a newer run appears it loads that run in a
worker thread while requests keep getting the previous copy, then swaps the reference. The same
run's final outcome (stored once the sheet is written) and the sheet's health replace the
copy's run record without loading its numbers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterator

from syncbot.errors import SyncbotError
from syncbot.followups import FollowUp
from syncbot.logs import event
from syncbot.models import Change, Key
from syncbot.query import Snapshot, load_snapshot
from syncbot.slack.memory import give_back_memory
from syncbot.store import Store

log = logging.getLogger(__name__)

_EMPTY = Snapshot(numbers=[], run=None, states=[], changes=[])


class LiveSnapshot:
    """The latest committed sync, kept in memory and replaced when a newer run is stored."""

    def __init__(self, store: Store, *, poll_seconds: float = 5.0) -> None:
        self._store = store
        self._poll_seconds = poll_seconds
        self._current: Snapshot | None = None
        self._loaded = asyncio.Event()
        # One check-and-load at a time: a second caller waits for the first instead of loading
        # the same run again.
        self._refreshing = asyncio.Lock()
        # Since when a sync holds the run lock, as of the latest check (None: it is free).
        self.lock_since: dt.datetime | None = None
        # Syncs of this dyno under way (``deferring``): a newer run waits for them to end.
        self._deferring = 0

    @property
    def store(self) -> Store:
        """The store the snapshot comes from: follow-ups are acted on there."""
        return self._store

    @property
    def current(self) -> Snapshot | None:
        """The copy answers come from; ``None`` until the first load finishes."""
        return self._current

    async def ready(self) -> Snapshot:
        """The current copy, once the first load has finished."""
        await self._loaded.wait()
        assert self._current is not None
        return self._current

    async def changes_since(self, at: dt.datetime) -> list[Change]:
        """The store's changes since ``at``, beyond the latest sync's (``changes 7d``)."""
        return await asyncio.to_thread(self._store.changes_since, at)

    async def followups(self) -> dict[Key, FollowUp]:
        """The follow-ups as they stand now: people act on them between syncs, so they are
        read for each question (one small indexed read) rather than kept with the snapshot."""
        return await asyncio.to_thread(self._store.followups)

    @contextlib.contextmanager
    def deferring(self) -> Iterator[None]:
        """While this dyno runs a sync of its own, a newer run is not loaded: the sync commits
        its run before writing the sheet, and the dyno would hold the sync's process and two
        copies at once (the copy is loaded once the sync is over)."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1

    async def refresh(self) -> None:
        """Load the latest run if it is not the one in memory."""
        async with self._refreshing:
            latest = await asyncio.to_thread(self._store.latest_run)
            latest_id = latest.run_id if latest else None
            current = self._current
            if current is not None and current.run_id != latest_id and self._deferring:
                return
            if current is not None and current.run_id == latest_id:
                if latest is not None:
                    # The run is committed before its sheet is written: its final status and
                    # the sheet's health are stored after, under the same run id.
                    sheet = await asyncio.to_thread(self._store.sheet_state)
                    if latest != current.run or sheet != current.sheet:
                        self._current = current.with_outcome(latest, sheet)
                return
            started = asyncio.get_running_loop().time()
            loaded = _EMPTY
            if latest is not None:
                loaded = await asyncio.to_thread(self._load)
            self._current = loaded
            self._loaded.set()
            # The previous copy's memory, once it is gone, back to the system (see ``memory``).
            del current
            await asyncio.to_thread(give_back_memory)
            event(
                log,
                logging.INFO,
                "snapshot loaded",
                run_id=loaded.run_id,
                numbers=len(loaded.numbers),
                seconds=asyncio.get_running_loop().time() - started,
            )

    def _load(self) -> Snapshot:
        # On a connection of its own: streaming 500,000 numbers takes seconds, and
        # ``changes 7d`` must not wait for it.
        with self._store.reader() as reader:
            loaded = load_snapshot(reader)
        # Made here, in the loading thread, rather than by the first answer with follow-ups.
        loaded.unassigned_rows()
        return loaded

    async def check(self) -> None:
        """``refresh`` and see who holds the run lock, logging a failure instead of raising it:
        the previous copy stays."""
        try:
            await self.refresh()
            self.lock_since = await asyncio.to_thread(self._store.run_lock_since)
        except SyncbotError as exc:
            event(log, logging.WARNING, "snapshot refresh failed", error=exc.message)
        except Exception:
            # A bug must not stop the refreshes for good: answers would go stale silently.
            log.exception("snapshot refresh failed unexpectedly")

    async def keep_fresh(self, stop: asyncio.Event) -> None:
        """``check`` every ``poll_seconds`` until ``stop`` is set.

        Stopping waits for a check in progress instead of cancelling it: a cancelled await would
        leave its thread reading the store while the caller closes it.
        """
        while not stop.is_set():
            await self.check()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._poll_seconds)
