"""The servers a benchmark run talks to, all in the harness process: the sandbox provider APIs
and the fake Sheets API on loopback, each adding the same latency to every request and
recording how long each request took inside the server.

The synced program runs as a child process, so its CPU time and peak RSS are its own while
the servers' work lands on the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType

from aiohttp import web
from aiohttp.typedefs import Handler

from syncbot.sandbox.data import Dataset, generate_dataset
from syncbot.sandbox.faults import ProviderOptions, RecordedRequest
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets import FakeSheets, routes
from syncbot.sandbox.sheets.kit import SheetsSandbox

SOURCES = ("orgapi", "dialnexa")
INVENTORY_TAB = "Inventory"


@dataclass(frozen=True, slots=True)
class SheetsTiming:
    """One Sheets API request (the token grant included) as the fake saw it."""

    route: str
    spreadsheet_id: str | None
    # time.monotonic(), as the provider sandboxes record it.
    started: float
    duration: float


class TimedSheets(FakeSheets):
    """The fake Sheets API with latency on every request and each request's duration.

    ``CallRecord`` keeps bytes but no time, so a middleware times each request from its
    arrival to its answer, the same span the provider sandboxes record.
    """

    def __init__(self, *, latency_ms: float) -> None:
        # Snapshots copy every tab after every call: at 100,000 rows that is the benchmark.
        super().__init__(record_snapshots=False)
        self._latency = latency_ms / 1000
        self._timings: list[SheetsTiming] = []

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._timed)
        return app

    @web.middleware
    async def _timed(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        try:
            await asyncio.sleep(self._latency)
            return await handler(request)
        finally:
            route, spreadsheet_id, _ = routes.route(request.method, request.rel_url.raw_path)
            timing = SheetsTiming(route, spreadsheet_id, started, time.monotonic() - started)
            # Appended from the server's thread, read from the harness's between runs.
            with self._lock:
                self._timings.append(timing)

    def timings(self) -> list[SheetsTiming]:
        with self._lock:
            return list(self._timings)

    def reset_records(self) -> None:
        super().reset_records()
        with self._lock:
            self._timings.clear()


@dataclass(frozen=True, slots=True)
class Recorded:
    """Every request the servers received during one measured process."""

    orgapi: list[RecordedRequest]
    dialnexa: list[RecordedRequest]
    sheets: list[SheetsTiming]
    sheets_calls: int
    sheets_writes: int
    sheets_sent: int
    sheets_received: int


def bench_dataset(numbers: int, sources: Sequence[str]) -> Dataset:
    """``numbers`` records over ``sources``: split evenly, or all in the one chosen."""
    if set(sources) == set(SOURCES):
        return generate_dataset(numbers=numbers)
    # The generator splits its count between the two sources; keep the chosen half.
    data = generate_dataset(numbers=2 * numbers)
    return Dataset(
        orgapi=data.orgapi if "orgapi" in sources else [],
        dialnexa=data.dialnexa if "dialnexa" in sources else [],
    )


class Servers:
    """Both provider sandboxes and the fake Sheets API, serving from background threads."""

    def __init__(self, dataset: Dataset, *, latency_ms: float) -> None:
        self.expected = len(dataset.orgapi) + len(dataset.dialnexa)
        self.sandbox = Sandbox(
            dataset=dataset,
            orgapi=ProviderOptions(latency_ms=latency_ms),
            dialnexa=ProviderOptions(latency_ms=latency_ms),
        )
        self.sheets = TimedSheets(latency_ms=latency_ms)
        self._stack = contextlib.ExitStack()
        self._key: dict[str, str] = {}

    def __enter__(self) -> Servers:
        with contextlib.ExitStack() as stack:
            stack.enter_context(_serving_in_thread(self.sandbox))
            stack.enter_context(self.sheets.running())
            self._key = self.sheets.service_account()
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stack.close()

    def provider_env(self, sources: Sequence[str]) -> dict[str, str]:
        """The settings of the chosen sources only (CONTRACT.md section 4)."""
        prefixes = tuple(f"{source.upper()}_" for source in sources)
        return {k: v for k, v in self.sandbox.env().items() if k.startswith(prefixes)}

    def new_sheet(self) -> SheetsSandbox:
        """A fresh, empty spreadsheet shared with the bench's service account."""
        return SheetsSandbox.create(self.sheets, key=self._key)

    def sheet_env(self, sheet: SheetsSandbox) -> dict[str, str]:
        return {
            "GOOGLE_SHEET_ID": sheet.spreadsheet_id,
            "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(sheet.key),
            "GOOGLE_SHEETS_API_URL": sheet.url,
        }

    def data_rows(self, sheet: SheetsSandbox, tab: str) -> int:
        """Rows under the header row of ``tab``; 0 when the tab does not exist."""
        try:
            return max(len(self.sheets.values(sheet.spreadsheet_id, tab)) - 1, 0)
        except KeyError:
            return 0

    def reset(self) -> None:
        """Forget what was recorded; call only while no client is talking to the servers."""
        self.sandbox.orgapi.reset()
        self.sandbox.dialnexa.reset()
        self.sheets.reset_records()

    def recorded(self) -> Recorded:
        calls = self.sheets.calls()
        return Recorded(
            orgapi=list(self.sandbox.orgapi.requests),
            dialnexa=list(self.sandbox.dialnexa.requests),
            sheets=self.sheets.timings(),
            sheets_calls=len(calls),
            sheets_writes=sum(1 for c in calls if c.route in routes.WRITE_ROUTES),
            sheets_sent=sum(c.request_bytes for c in calls),
            sheets_received=sum(c.response_bytes for c in calls),
        )


@contextlib.contextmanager
def _serving_in_thread(sandbox: Sandbox) -> Iterator[Sandbox]:
    """Run the (async) sandbox on an event loop of its own thread for the block's duration."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-providers", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(sandbox.__aenter__(), loop).result(60)
        try:
            yield sandbox
        finally:
            asyncio.run_coroutine_threadsafe(sandbox.__aexit__(None, None, None), loop).result(60)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
