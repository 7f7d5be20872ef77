"""Run an aiohttp application on a loopback port, from async code or from a thread.

The sandbox servers are used from async tests (``async with serve(app)``) and
from synchronous code such as gspread calls or benchmarks, which need the
server's event loop to live in a thread of its own (``ThreadedServer``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from aiohttp import web

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Running:
    """A started server: where it listens."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


async def start(app: web.Application, *, port: int = 0) -> tuple[web.AppRunner, Running]:
    """Start ``app`` on the loopback address; port 0 picks a free one."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, port)
    await site.start()
    server = site._server  # noqa: SLF001 - aiohttp exposes the bound port only here
    assert isinstance(server, asyncio.base_events.Server)
    bound = server.sockets[0].getsockname()[1]
    return runner, Running(LOOPBACK, int(bound))


@contextlib.asynccontextmanager
async def serve(app: web.Application, *, port: int = 0) -> AsyncIterator[Running]:
    """Serve ``app`` on loopback for the duration of the block."""
    runner, running = await start(app, port=port)
    try:
        yield running
    finally:
        await runner.cleanup()


class ThreadedServer:
    """An aiohttp application served from a background thread's event loop."""

    def __init__(self, make_app: Callable[[], web.Application], *, port: int = 0) -> None:
        self._make_app = make_app
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.running: Running | None = None

    @property
    def url(self) -> str:
        if self.running is None:
            raise RuntimeError("the server has not been started")
        return self.running.url

    def start(self) -> None:
        self._thread.start()

        async def _start() -> tuple[web.AppRunner, Running]:
            return await start(self._make_app(), port=self._port)

        self._runner, self.running = asyncio.run_coroutine_threadsafe(_start(), self._loop).result(
            30
        )

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
            self._runner = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()

    @contextlib.contextmanager
    def running_in_thread(self) -> Iterator[Running]:
        self.start()
        try:
            assert self.running is not None
            yield self.running
        finally:
            self.stop()
