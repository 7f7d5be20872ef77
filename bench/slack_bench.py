"""How fast `/numbers` answers over loopback with a large inventory, against a naive baseline.

    python bench/slack_bench.py [--numbers 100000] [--requests 1000] [--baseline-requests 5]

Builds the inventory with a real sync from the sandbox providers into a SQLite store, serves the
app `syncbot serve` runs on a loopback port (with a fake Slack Web API for `auth.test`), and
sends signed slash commands one after another. Each request is timed by the client (round trip)
and by the server (its `Server-Timing` header). The baseline answers the same queries the way a
naive app would: loading the snapshot from the store for every request.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from syncbot.models import PhoneNumber, utc_now
from syncbot.query import answer, load_snapshot, parse
from syncbot.sandbox._server import serve
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.settings import settings_from
from syncbot.slack.app import create_web_app
from syncbot.slack.blocks import answer_message
from syncbot.store import SqliteStore
from syncbot.sync import run_sync

TARGET_P99_MS = 50.0
WARMUP = 20


@dataclass
class Row:
    label: str
    requests: int
    round_trip_ms: list[float]
    server_ms: list[float]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def lookup_texts(numbers: list[PhoneNumber]) -> tuple[str, str]:
    """A real US number written as people write it, and a run of its digits."""
    us = next(n for n in numbers if n.valid and n.phone_number.startswith("+1"))
    d = us.phone_number[2:]
    return f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}", d[:3] + d[3:6] + d[6:]


async def measure(
    http: aiohttp.ClientSession, url: str, fake: FakeSlack, text: str, count: int
) -> tuple[list[float], list[float]]:
    round_trips: list[float] = []
    server: list[float] = []
    body = fake.command_body(text)
    for i in range(WARMUP + count):
        headers = fake.signed_headers(body)
        started = time.perf_counter()
        async with http.post(f"{url}/slack/events", data=body, headers=headers) as response:
            await response.read()
            took = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise SystemExit(f"{text!r}: HTTP {response.status}")
            timing = response.headers["Server-Timing"]
        if i >= WARMUP:
            round_trips.append(took)
            server.append(float(timing.split("dur=")[1]))
    return round_trips, server


def baseline(store: SqliteStore, text: str, count: int) -> list[float]:
    query = parse(text)
    took = []
    for _ in range(count):
        started = time.perf_counter()
        snapshot = load_snapshot(store)
        now = utc_now()
        answer_message(answer(query, snapshot, now=now, interval_seconds=900), now=now)
        took.append((time.perf_counter() - started) * 1000)
    return took


def busy_reloading(store: SqliteStore) -> Callable[[], None]:
    """Reload the snapshot in a loop in a thread, as the app does when a new sync lands."""
    stop = threading.Event()

    def reload_forever() -> None:
        while not stop.is_set():
            load_snapshot(store)

    thread = threading.Thread(target=reload_forever, daemon=True)
    thread.start()

    def done() -> None:
        stop.set()
        thread.join()

    return done


async def run(numbers: int, requests: int, baseline_requests: int) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(str(Path(tmp) / "bench.db"))
        store.migrate()
        try:
            started = time.perf_counter()
            async with Sandbox(numbers=numbers) as sandbox:
                result = await run_sync(settings_from(sandbox.env()), store)
            print(f"sync: {result.total:,} numbers in {time.perf_counter() - started:.1f} s")
            async with FakeSlack() as fake, aiohttp.ClientSession() as http:
                web_app = create_web_app(settings_from(fake.env()), store)
                async with serve(web_app) as running:
                    started = time.perf_counter()
                    while True:
                        async with http.get(f"{running.url}/healthz") as health:
                            if health.status == 200:
                                break
                        await asyncio.sleep(0.05)
                    loaded = time.perf_counter() - started
                    print(f"snapshot loaded by the app in {loaded:.1f} s")
                    formatted, digits = lookup_texts(load_snapshot(store).numbers)
                    rows = []
                    for label, text in (
                        ("/numbers unassigned", "unassigned"),
                        (f"/numbers {formatted}", formatted),
                        (f"/numbers {digits[3:]} (digit run)", digits[3:]),
                    ):
                        trips, server = await measure(http, running.url, fake, text, requests)
                        rows.append(Row(label, requests, trips, server))
                    done = busy_reloading(store)
                    try:
                        trips, server = await measure(
                            http, running.url, fake, "unassigned", requests // 4
                        )
                    finally:
                        done()
                    rows.append(Row("unassigned, during a reload", requests // 4, trips, server))
            for label, text in (("unassigned", "unassigned"), ("number lookup", formatted)):
                took = await asyncio.to_thread(baseline, store, text, baseline_requests)
                rows.append(Row(f"baseline: load per request, {label}", len(took), took, took))
        finally:
            store.close()
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("query", "requests", "p50 ms", "p99 ms", "server p50", "server p99")
    lines = [
        (
            row.label,
            f"{row.requests:,}",
            f"{statistics.median(row.round_trip_ms):.1f}",
            f"{percentile(row.round_trip_ms, 99):.1f}",
            f"{statistics.median(row.server_ms):.1f}",
            f"{percentile(row.server_ms, 99):.1f}",
        )
        for row in rows
    ]
    widths = [max(len(str(r[i])) for r in (header, *lines)) for i in range(len(header))]
    for line in (header, *lines):
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(line)
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument(
        "--baseline-requests",
        type=int,
        default=5,
        help="requests for the baseline, which takes seconds each (default 5)",
    )
    args = parser.parse_args()
    rows = asyncio.run(run(args.numbers, args.requests, args.baseline_requests))
    print()
    print_table(rows)
    worst = max(percentile(r.round_trip_ms, 99) for r in rows[:2])
    verdict = "met" if worst < TARGET_P99_MS else "MISSED"
    print(f"\ntarget p99 < {TARGET_P99_MS:.0f} ms (unassigned, number lookup): {verdict}")


if __name__ == "__main__":
    main()
