"""`/numbers` at scale: the Slack app's own peak RSS and server-side latency over a mix of
queries, with the engine before the compact snapshot as the baseline, in one run.

    python -m bench.slack_bench [--numbers 500000] [--requests 40] [--baseline REV]

1. Writes --numbers numbers into a SQLite store through the store's interface
   (``bench/big_store.py``) as a first sync: every number added, so the app also holds
   --numbers changes.
2. Starts ``syncbot serve`` as a child process on that store, with a fake Slack Web API, and
   sends it signed slash commands one after another: each query of the mix --requests times,
   timed by the client (round trip) and by the server (its ``Server-Timing`` header).
3. Commits a second sync (1% of the numbers churned), times how long the app takes to answer
   from it, and sends the mix again. Peak RSS is the app process's own (``VmHWM``), so it covers
   holding the first sync, loading the second beside it and answering.
4. Answers the same mix with today's package and with the one of --baseline (a git revision:
   the design before, one record per number), each in a process of its own, engine and
   rendering only (``bench/slack_engines.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import io
import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp

from bench._proc import ROOT, clean_env
from bench.big_store import churned, commit, listings
from syncbot.models import PhoneNumber, utc_now
from syncbot.sandbox.slack import FakeSlack
from syncbot.store import SqliteStore

TARGET_P99_MS = 50.0
TARGET_PEAK_RSS_MB = 512.0
# main just before the compact snapshot (issue 10): a record per number, lists scanned.
BASELINE_REVISION = "fa72cc920e6ab3ccba800e5c5e76306665012130"
WARMUP = 5


@dataclass
class Row:
    label: str
    round_trip_ms: list[float]
    server_ms: list[float]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def query_mix(listed: dict[str, list[PhoneNumber]]) -> list[str]:
    """What people ask: lists, one number in the way people write it, digit runs, filters,
    counts and changes."""
    numbers = [n for batch in listed.values() for n in batch]
    us = next(n for n in numbers if n.phone_number.startswith("+1") and len(n.phone_number) == 12)
    d = us.phone_number[2:]
    agent = next(n.agent_id for n in numbers if n.agent_id and not n.agent_id.endswith("_eu"))
    return [
        "unassigned",
        "assigned country:US",
        f"agent {agent}",
        f"+1 ({d[:3]}) {d[3:6]}-{d[6:]}",
        d[3:],
        d[:4],
        "country:GB type:mobile",
        "idle 30d",
        "source:dialnexa carrier:twilio unassigned",
        "stats",
        "changes",
        "changes country:US",
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def peak_rss_mb(pid: int) -> float:
    """A process's own peak resident set (``VmHWM``: exec resets it, unlike ``ru_maxrss``)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class App:
    """``syncbot serve`` in a child process, and the means to talk to it as Slack does."""

    def __init__(self, http: aiohttp.ClientSession, fake: FakeSlack, url: str) -> None:
        self.http = http
        self.fake = fake
        self.url = url

    async def run_id(self) -> int | None:
        """The run the app answers from; None while it is still loading."""
        try:
            async with self.http.get(f"{self.url}/healthz") as response:
                body = await response.json()
        except aiohttp.ClientError:
            return None
        run_id = body.get("latest_sync", {}).get("run_id")
        return int(run_id) if run_id is not None else None

    async def wait_for(self, run_id: int) -> float:
        started = time.perf_counter()
        # The app is another process: asking it is the only way to know.
        while await self.run_id() != run_id:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        return time.perf_counter() - started

    async def measure(self, text: str, count: int) -> Row:
        row = Row(text, [], [])
        for i in range(WARMUP + count):
            # A fresh body each time: the app refuses a signed request sent again.
            body = self.fake.command_body(text)
            headers = self.fake.signed_headers(body)
            started = time.perf_counter()
            async with self.http.post(f"{self.url}/slack/events", data=body, headers=headers) as r:
                await r.read()
                took = (time.perf_counter() - started) * 1000
                if r.status != 200:
                    raise SystemExit(f"{text!r}: HTTP {r.status}")
                timing = r.headers["Server-Timing"]
            if i >= WARMUP:
                row.round_trip_ms.append(took)
                row.server_ms.append(float(timing.split("dur=")[1]))
        return row


def engine_figures(
    url: str, queries: list[str], requests: int, beside: Path | None = None
) -> dict[str, object] | str:
    """What ``bench/slack_engines.py`` measures; run beside the package in ``beside`` (an
    earlier revision) when given. A failure is returned as its message."""
    runner = [sys.executable, "-m", "bench.slack_engines"]
    if beside is not None:
        # A copy next to that package: Python puts the script's folder first on sys.path.
        shutil.copy(Path(__file__).with_name("slack_engines.py"), beside / "engines.py")
        runner = [sys.executable, str(beside / "engines.py")]
    done = subprocess.run(  # noqa: S603 - our own module
        [*runner, url, json.dumps(queries), str(requests)],
        env=clean_env(),
        cwd=beside or ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["no output"])[-1]
    figures: dict[str, object] = json.loads(done.stdout)
    return figures


def baseline_package(revision: str, into: Path) -> Path | str:
    """The ``syncbot`` package as it was at ``revision``, in ``into``; why not, as text."""
    done = subprocess.run(  # noqa: S603 - git with our arguments
        ["git", "archive", "--format=tar", revision, "syncbot"],  # noqa: S607 - git from PATH
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        return done.stderr.decode(errors="replace").strip() or f"git archive {revision} failed"
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into


async def serve_and_measure(
    store: SqliteStore, url: str, listed: dict[str, list[PhoneNumber]], requests: int
) -> tuple[list[Row], dict[str, float]]:
    queries = query_mix(listed)
    figures: dict[str, float] = {}
    async with (
        FakeSlack() as fake,
        aiohttp.ClientSession() as http,
        serving(http, fake, {"DATABASE_URL": url}) as (app, pid),
    ):
        figures["first_load_seconds"] = await app.wait_for(1)
        rows = [await app.measure(text, requests) for text in queries]
        later = utc_now() + dt.timedelta(seconds=1)
        await asyncio.to_thread(commit, store, churned(listed, share=0.01), at=later)
        figures["pickup_seconds"] = await app.wait_for(2)
        rows += [await app.measure(text, requests) for text in queries]
        figures["peak_rss_mb"] = peak_rss_mb(pid)
    return rows, figures


@contextlib.asynccontextmanager
async def serving(
    http: aiohttp.ClientSession,
    fake: FakeSlack,
    settings: dict[str, str],
    *,
    stderr: int | IO[Any] = subprocess.DEVNULL,
) -> AsyncIterator[tuple[App, int]]:
    """``syncbot serve`` as a child process on a free port, with ``settings`` and the fake
    Slack's; the app and the process id while the block runs, then SIGTERM (the app finishes a
    sync in progress first)."""
    port = free_port()
    env = clean_env(**settings, PORT=str(port), **fake.env())
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "syncbot",
        "serve",
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        yield App(http, fake, f"http://127.0.0.1:{port}"), child.pid
    finally:
        child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), 30)


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )


def _ms(values: list[float]) -> tuple[str, str]:
    return f"{statistics.median(values):.1f}", f"{percentile(values, 99):.1f}"


def report(
    rows: list[Row], serve: dict[str, float], engines: dict[str, dict[str, object] | str]
) -> bool:
    """Prints the figures; returns whether the targets hold."""
    by_query: dict[str, list[Row]] = {}
    for row in rows:
        by_query.setdefault(row.label, []).append(row)
    table = [("/numbers query (served)", "p50 ms", "p99 ms", "server p50", "server p99")]
    for text, found in by_query.items():
        trips = [t for r in found for t in r.round_trip_ms]
        server = [t for r in found for t in r.server_ms]
        table.append((text, *_ms(trips), *_ms(server)))
    trips = [t for r in rows for t in r.round_trip_ms]
    server = [t for r in rows for t in r.server_ms]
    table.append(("all of the mix", *_ms(trips), *_ms(server)))
    print_table(table)
    print()
    print(
        f"serve: first sync loaded in {serve['first_load_seconds']:.1f} s, the second picked up "
        f"{serve['pickup_seconds']:.1f} s after its commit (polls every 5 s); "
        f"peak RSS {serve['peak_rss_mb']:.0f} MB"
    )
    print()
    table = [("engine, own process", "load s", "peak RSS MB", "p50 ms", "p99 ms")]
    for label, figures in engines.items():
        if isinstance(figures, str):
            print(f"{label}: not measured ({figures})")
            continue
        took = figures["ms"]
        assert isinstance(took, dict)
        every = [t for times in took.values() for t in times]
        load, rss = figures["load_seconds"], figures["peak_rss_mb"]
        assert isinstance(load, float)
        assert isinstance(rss, float)
        table.append((label, f"{load:.1f}", f"{rss:.0f}", *_ms(every)))
    print_table(table)
    p99 = percentile(server, 99)
    met = p99 < TARGET_P99_MS and serve["peak_rss_mb"] <= TARGET_PEAK_RSS_MB
    print(
        f"\ntargets: serve peak RSS <= {TARGET_PEAK_RSS_MB:.0f} MB "
        f"({serve['peak_rss_mb']:.0f}), /numbers server p99 < {TARGET_P99_MS:.0f} ms "
        f"({p99:.1f}): {'met' if met else 'MISSED'}. Two shared cores: figures are noisy."
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--numbers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40, help="per query and pass")
    parser.add_argument(
        "--baseline",
        default=BASELINE_REVISION,
        metavar="REV",
        help=f"git revision whose syncbot is the baseline (default {BASELINE_REVISION[:7]})",
    )
    parser.add_argument(
        "--baseline-requests", type=int, default=3, help="per query; the baseline takes seconds"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slack-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        store = SqliteStore(str(path))
        try:
            store.migrate()
            started = time.perf_counter()
            listed = listings(args.numbers)
            commit(store, listed, at=utc_now())
            print(f"store: {args.numbers:,} numbers in {time.perf_counter() - started:.0f} s")
            rows, serve = asyncio.run(serve_and_measure(store, url, listed, args.requests))
        finally:
            store.close()
        queries = query_mix(listed)
        engines: dict[str, dict[str, object] | str] = {
            "today's": engine_figures(url, queries, args.requests)
        }
        old = baseline_package(args.baseline, Path(tmp) / "baseline")
        engines[f"baseline ({args.baseline[:7]})"] = (
            old
            if isinstance(old, str)
            else engine_figures(url, queries, args.baseline_requests, beside=old)
        )
    print()
    sys.exit(0 if report(rows, serve, engines) else 1)


if __name__ == "__main__":
    main()
