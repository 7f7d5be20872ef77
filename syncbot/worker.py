"""``syncbot worker``: a sync every ``SYNC_INTERVAL_SECONDS``, ended cleanly by SIGTERM.

Heroku sends SIGTERM (maybe more than once, to every process of the dyno) and SIGKILL 30 s
later. A run still listing stops at once and commits nothing (``syncbot.stopping``); one in its
commit or sheet write gets ``GRACE_SECONDS`` to finish, then it is cancelled. A commit already
under way finishes in its thread before the process exits, and the store's single transaction
means the snapshot is the previous run's or the new one's, never a mix, even if SIGKILL comes
first. A stopped run records no source as failed and sends no alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

from syncbot.errors import ConfigError
from syncbot.logs import event
from syncbot.settings import Settings
from syncbot.stopping import GRACE_SECONDS, Stop, Stopped, within_grace
from syncbot.store import Store
from syncbot.sync import AfterRun, run_sync

log = logging.getLogger(__name__)

__all__ = ["GRACE_SECONDS", "run_worker"]


async def run_worker(
    settings: Settings,
    store: Store,
    *,
    stop: Stop | None = None,
    after_run: AfterRun | None = None,
    grace_seconds: float = GRACE_SECONDS,
) -> None:
    """Sync until ``stop`` is set (SIGTERM and SIGINT set it: without a ``stop`` given, the
    worker installs the handlers).

    A run that fails is logged and the next one comes; a ``ConfigError`` ends the worker,
    since settings are read once and every later run would fail the same way.
    """
    if stop is None:
        stop = Stop()
        stop.install()
    interval = settings.sync_interval_seconds
    event(log, logging.INFO, "worker started", interval=interval)
    try:
        while not stop.is_set():
            run = asyncio.create_task(run_sync(settings, store, after_run=after_run, stop=stop))
            await within_grace(run, stop, grace=grace_seconds)
            if run.cancelled():
                event(log, logging.WARNING, "sync cancelled: the grace period is over")
                break
            error = run.exception()
            if isinstance(error, ConfigError):
                raise error
            if isinstance(error, Stopped):
                break
            if error is not None:
                event(log, logging.ERROR, "sync failed", error=str(error))
            # Jitter keeps several workers or a restart storm from hitting providers together.
            pause = interval * random.uniform(0.95, 1.05)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.event.wait(), timeout=pause)
    finally:
        event(log, logging.INFO, "worker stopped")
