"""Shutdown is not failure: SIGTERM (Heroku's restarts, deploys and config changes) stops a run
cleanly, whether it comes to this process or to its whole process group.

Heroku sends SIGTERM to every process of a dyno, then SIGKILL 30 s later. The run stops
listing at once and commits nothing of its listings; a commit already under way ends whole
(and the sheet write after it gets ``GRACE_SECONDS``). No source is recorded as failed and no
alert is sent for a stopped run. Child processes ignore SIGINT and SIGTERM, so a signal to the
group reaches them only through their parent, which shuts them down.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from syncbot.errors import SyncbotError

T = TypeVar("T")

# A run in its commit or sheet write when the signal comes gets this long to end, well
# inside Heroku's 30 s; then it is cancelled (a commit under way still ends whole).
GRACE_SECONDS = 20.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(SyncbotError):
    """The run was stopped by a signal before it committed anything."""

    exit_code = 128 + signal.SIGTERM


class Stop:
    """Set by SIGTERM or SIGINT once ``install``-ed; remembers which came first."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.signal: int | None = None

    def install(self) -> None:
        """Handle SIGTERM and SIGINT from now on, for the rest of the process: Heroku may
        send SIGTERM again while the process ends (after its loop closed), and the default
        action would kill it mid-exit."""
        loop = asyncio.get_running_loop()

        def handle(sig: int, frame: object) -> None:
            del frame
            # Once the loop has closed, the process is on its way out: nothing to do.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self.set, sig)

        for sig in STOP_SIGNALS:
            signal.signal(sig, handle)

    @staticmethod
    def ignore_more() -> None:
        """Ignore SIGTERM and SIGINT for the rest of the process: once its work is done, a
        second signal during the interpreter's own exit (which puts back the default action)
        must not turn a clean end into a kill."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)

    def set(self, sig: int = signal.SIGTERM) -> None:
        if self.signal is None:
            self.signal = sig
        self.event.set()

    def is_set(self) -> bool:
        return self.event.is_set()

    @property
    def exit_code(self) -> int:
        """What a shell reports for a process ended by the signal (143 for SIGTERM)."""
        return 128 + (self.signal or signal.SIGTERM)


async def unless_stopped(work: Awaitable[T], stop: Stop | None, *, what: str) -> T:
    """``work``'s result, or ``Stopped`` once ``stop`` is set first (``work`` is cancelled)."""
    task = asyncio.ensure_future(work)
    if stop is None:
        return await task
    stopping = asyncio.ensure_future(stop.event.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    # Whatever the work raised on its way out once stopped, the run was stopped, not failed.
    if task.cancelled() or (stop.is_set() and task.exception() is not None):
        raise Stopped(f"stopped by a signal while {what}; nothing of this run was committed")
    return task.result()


async def within_grace(run: asyncio.Task[T], stop: Stop, *, grace: float) -> None:
    """Wait for ``run``; once ``stop`` is set, give it ``grace`` seconds, then cancel it."""
    stopping = asyncio.ensure_future(stop.event.wait())
    try:
        await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if run.done():
        return
    done, _ = await asyncio.wait({run}, timeout=grace)
    if not done:
        run.cancel()
        # Its lock is released once the cancellation has run through it.
        await asyncio.wait({run})


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back from this thread while a child process starts: it starts
    with them blocked (``ignore_signals`` then ignores them), and any that came meanwhile are
    delivered here afterwards."""
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def ignore_signals() -> None:
    """In a child process: SIGINT and SIGTERM are for the parent, which shuts the child down."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
