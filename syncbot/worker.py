"""``syncbot worker``: a sync every ``SYNC_INTERVAL_SECONDS``, ended cleanly by SIGTERM.

Heroku sends SIGTERM (maybe more than once) and SIGKILL 30 s later. A run in progress gets
``GRACE_SECONDS`` to finish; past that it is cancelled. A commit already under way finishes in
its thread before the process exits, and the store's single transaction means the snapshot is
the previous run's or the new one's, never a mix, even if SIGKILL comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal

from syncbot.errors import ConfigError
from syncbot.logs import event
from syncbot.settings import Settings
from syncbot.store import Store
from syncbot.sync import AfterRun, run_sync

log = logging.getLogger(__name__)

GRACE_SECONDS = 20.0


async def run_worker(
    settings: Settings,
    store: Store,
    *,
    stop: asyncio.Event | None = None,
    after_run: AfterRun | None = None,
    grace_seconds: float = GRACE_SECONDS,
) -> signal.Signals | None:
    """Sync until ``stop`` is set (SIGTERM and SIGINT set it); returns the signal that did.

    A run that fails is logged and the next one comes; a ``ConfigError`` ends the worker,
    since settings are read once and every later run would fail the same way.
    """
    stop = stop or asyncio.Event()
    stopped_by: list[signal.Signals] = []

    def stop_on(sig: signal.Signals) -> None:
        stopped_by.append(sig)
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_on, sig)
    interval = settings.sync_interval_seconds
    event(log, logging.INFO, "worker started", interval=interval)
    try:
        while not stop.is_set():
            run = asyncio.create_task(run_sync(settings, store, after_run=after_run))
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not run.done():
                event(
                    log, logging.INFO, "stopping: waiting for the current sync", grace=grace_seconds
                )
                done, _ = await asyncio.wait({run}, timeout=grace_seconds)
                if not done:
                    run.cancel()
                    # Its lock is released once the cancellation has run through it.
                    await asyncio.wait({run})
                    event(log, logging.WARNING, "sync cancelled: the grace period is over")
            stopping.cancel()
            error = None if run.cancelled() else run.exception()
            if isinstance(error, ConfigError):
                raise error
            if error is not None:
                event(log, logging.ERROR, "sync failed", error=str(error))
            # Jitter keeps several workers or a restart storm from hitting providers together.
            pause = interval * random.uniform(0.95, 1.05)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
    finally:
        # The handlers stay until the loop closes: a second SIGTERM while asyncio.run() waits
        # for a commit thread would otherwise kill the process with the default action.
        event(log, logging.INFO, "worker stopped")
    return stopped_by[0] if stopped_by else None
