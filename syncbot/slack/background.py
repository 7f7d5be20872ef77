"""Work that outlives Slack's 3 s acknowledgement: requested syncs and edits of a message.

Both report back through the request's ``response_url``. Tasks are kept referenced (asyncio
holds only weak references) and cancelled when the app shuts down.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Coroutine
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond

from syncbot.errors import SyncbotError
from syncbot.logs import event
from syncbot.models import RunResult
from syncbot.settings import Settings
from syncbot.slack.blocks import Message, sync_outcome
from syncbot.slack.errors import user_message
from syncbot.slack.snapshot import LiveSnapshot
from syncbot.store import Store, open_store
from syncbot.sync import AfterRun, run_sync

log = logging.getLogger(__name__)


class Background:
    """Tasks started by requests, kept until they finish or the app stops."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reply(self, respond: AsyncRespond, message: Message) -> None:
        """Send ``message`` to the ``response_url`` without holding up the acknowledgement."""
        self.start(send(respond, message))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def send(respond: AsyncRespond, message: Message) -> None:
    """Post to a ``response_url``; a failure is logged, since nobody is left to tell."""
    try:
        response = await respond(message)
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The URL itself is not logged: whoever holds it can post to the user for 30 minutes.
        event(log, logging.WARNING, "response_url unreachable", error=type(exc).__name__)
        return
    if response.status_code != 200:
        event(log, logging.WARNING, "response_url refused the message", status=response.status_code)


class SyncRunner:
    """Runs ``/numbers sync`` requests in the background, never two at once."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        background: Background,
        *,
        after_run: AfterRun | None,
        snapshot: LiveSnapshot,
    ) -> None:
        self._settings = settings
        self._store = store
        self._background = background
        self._after_run = after_run
        self._snapshot = snapshot
        self._running: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._running is not None and not self._running.done()

    def start(self, respond: AsyncRespond) -> bool:
        """Start a sync reporting to ``respond``; False when one is already running."""
        if self.running:
            return False
        self._running = self._background.start(self._run(respond))
        return True

    async def close(self) -> None:
        """Wait for a sync in progress to finish and report: its thread uses the store."""
        if self._running is not None:
            await asyncio.wait({self._running})

    async def _run(self, respond: AsyncRespond) -> None:
        try:
            with self._snapshot.deferring():
                result = await asyncio.to_thread(self._sync_on_own_loop)
        except Exception as exc:
            # The admin is told through the one translator (a ConfigError reads as itself).
            await send(respond, user_message(exc))
            await self._snapshot.check()
            return
        # The admin's next question comes right after the outcome: answer it from this run.
        await self._snapshot.check()
        await send(respond, sync_outcome(result))

    def _sync_on_own_loop(self) -> RunResult:
        # Normalizing and reconciling 100,000 numbers is seconds of CPU; on the app's loop it
        # would hold up every acknowledgement past Slack's 3 s. On shutdown the thread finishes
        # its run (see ``close``), bounded by the providers' retry policy.
        url = self._store.url
        if url is None:
            # A database only this process sees: the sync shares the process.
            return asyncio.run(run_sync(self._settings, self._store, after_run=self._after_run))
        return sync_in_child(self._settings, url, alerts=self._after_run is not None)


def sync_in_child(settings: Settings, url: str, *, alerts: bool) -> RunResult:
    """One sync in a process of its own: the web dyno keeps the app's memory only, and a
    sync's peak (a full sheet, a first sync) is the child's, given back when it ends."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_sync, args=(settings, url, alerts, sender), name="syncbot-sync"
    )
    child.start()
    sender.close()
    try:
        outcome = receiver.recv()
    except EOFError:
        outcome = SyncbotError(
            f"the sync process ended without a result (exit code {child.exitcode}); "
            "its log lines say why"
        )
    finally:
        receiver.close()
        child.join()
    if isinstance(outcome, BaseException):
        raise outcome
    assert isinstance(outcome, RunResult)
    return outcome


def _child_sync(settings: Settings, url: str, alerts: bool, sender: Connection) -> None:
    from syncbot.slack.alerts import alert_hook  # noqa: PLC0415 - the child's own imports

    outcome: RunResult | Exception
    try:
        store = open_store(url)
        try:
            hook = alert_hook(settings) if alerts else None
            outcome = asyncio.run(run_sync(settings, store, after_run=hook))
        finally:
            store.close()
    except Exception as exc:
        outcome = exc if isinstance(exc, SyncbotError) else SyncbotError(str(exc))
    sender.send(outcome)
    sender.close()
