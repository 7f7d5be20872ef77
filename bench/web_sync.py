"""``/numbers sync`` on the web dyno (issue 17): the peak memory of ``syncbot serve`` and of the
sync process it spawns, together, beside the same sync run as a plain ``syncbot sync``.

    python -m bench web-sync [--numbers 100000] [--latency-ms 0]
    make bench ARGS='web-sync --numbers 400000'

Heroku's memory quota (512 MB on a standard dyno) counts every process of the dyno, so the
figure that matters is the serve process and its children summed, over time.

1. The sandbox provider APIs with --numbers numbers, the fake Sheets API (``bench/servers.py``)
   and a fake Slack, all in this process.
2. ``syncbot sync`` (the CLI, measured by ``bench/_launch.py``: its process tree's peak) into a
   fresh SQLite store and a fresh spreadsheet: the first sync, then an unchanged one, the
   baseline of the web's unchanged syncs.
3. ``syncbot serve`` on that store with the sheet configured (``bench/slack_bench.py``
   ``serving``). A thread here reads, every 50 ms, ``VmRSS`` and ``VmHWM`` of the serve process
   and of every descendant (the spawned sync, its normalizing worker, multiprocessing's
   resource tracker) and sums the resident sets. Phases, each with the serve process's own
   peak (``VmHWM``, reset at the phase's start through ``/proc/<pid>/clear_refs``):
   ``idle`` (loading the latest sync, two ``/numbers`` queries), then ``/numbers sync``
   unchanged, unchanged again, and after 1% churn at the providers (``bench/sheet_scale.py``
   ``churn``), each until its outcome reaches the ``response_url``.
4. With serve stopped, another 1% churn and a ``syncbot sync``: the baseline of the churned web
   sync (a churn of the same size, not the same churn: that one is in the store already).

The sum of resident sets counts the pages processes share (the interpreter, libraries) once per
process, so it is a little above what the kernel charges the dyno. Prints one JSON object, then
a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

from bench._launch import children, status_kb
from bench._proc import ROOT, clean_env, measure
from bench.servers import INVENTORY_TAB, SOURCES, Servers, bench_dataset
from bench.sheet_scale import BenchError, churn
from bench.slack_bench import App, serving
from syncbot.sandbox.slack import USER_ID, FakeSlack

DEFAULT_NUMBERS = 100_000
DYNO_QUOTA_MB = 512.0
SAMPLE_SECONDS = 0.05
ALERT_CHANNEL = "C0NUMBERS"
# A bound on a hang, never on speed: a loaded two-core machine takes minutes at 400,000.
WAIT_SECONDS = 3600.0
IDLE_QUERIES = ("unassigned", "stats")
WEB_SYNCS = ("unchanged", "unchanged again", "churn 1%")

Figures = dict[str, Any]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _mb(kb: int) -> float:
    return round(kb / 1024, 1)


def reset_peak(pid: int) -> bool:
    """Reset ``pid``'s ``VmHWM`` to its current resident set; False when refused."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _label(pid: int, depth: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = ""
    if "resource_tracker" in command:
        return "resource tracker"
    return {0: "serve", 1: "sync"}.get(depth, "sync worker")


@dataclass
class Phase:
    """What the sampler saw between ``begin`` and ``end``."""

    name: str
    started: float
    serve_start_kb: int = 0
    sum_start_kb: int = 0
    serve_max_kb: int = 0
    sum_max_kb: int = 0
    samples: int = 0
    last_sample: float = 0.0
    max_gap: float = 0.0
    # Per descendant process id: its label and the largest VmHWM read.
    others: dict[int, tuple[str, int]] = field(default_factory=dict)
    serve_hwm_kb: int | None = None


class Sampler:
    """Reads the resident sets of ``root`` and its descendants every ``SAMPLE_SECONDS``."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_resets = True
        self._labels: dict[int, str] = {}
        self._phase: Phase | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def alive(self) -> bool:
        # A process that has exited (a zombie until reaped) has no VmRSS line.
        return status_kb(self.root, "VmRSS")["VmRSS"] > 0

    def begin(self, name: str) -> None:
        with self._lock:
            self.peak_resets = reset_peak(self.root) and self.peak_resets
            now = time.monotonic()
            self._phase = Phase(name, now, last_sample=now)
            self._phase.serve_start_kb = status_kb(self.root, "VmRSS")["VmRSS"]
        self.sample()

    def end(self) -> Phase:
        self.sample()
        with self._lock:
            phase, self._phase = self._phase, None
        assert phase is not None
        if self.peak_resets:
            phase.serve_hwm_kb = status_kb(self.root, "VmHWM")["VmHWM"]
        return phase

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self) -> None:
        total, serve_kb, seen = 0, 0, {}
        todo = [(self.root, 0)]
        while todo:
            pid, depth = todo.pop()
            kb = status_kb(pid, "VmRSS", "VmHWM")
            if kb["VmRSS"] == 0:
                continue
            total += kb["VmRSS"]
            if depth == 0:
                serve_kb = kb["VmRSS"]
            else:
                label = self._labels.setdefault(pid, _label(pid, depth))
                seen[pid] = (label, kb["VmHWM"])
            todo += [(child, depth + 1) for child in children(pid)]
        now = time.monotonic()
        with self._lock:
            phase = self._phase
            if phase is None:
                return
            if phase.samples == 0:
                phase.sum_start_kb = total
            phase.samples += 1
            phase.max_gap = max(phase.max_gap, now - phase.last_sample)
            phase.last_sample = now
            phase.sum_max_kb = max(phase.sum_max_kb, total)
            phase.serve_max_kb = max(phase.serve_max_kb, serve_kb)
            for pid, (label, hwm) in seen.items():
                old = phase.others.get(pid, (label, 0))[1]
                phase.others[pid] = (label, max(old, hwm))


def phase_figures(phase: Phase, wall: float) -> Figures:
    by_label: dict[str, int] = {}
    for label, hwm in phase.others.values():
        by_label[label] = max(by_label.get(label, 0), hwm)
    serve_peak = phase.serve_hwm_kb if phase.serve_hwm_kb is not None else phase.serve_max_kb
    return {
        "serve_before_mb": _mb(phase.serve_start_kb),
        "dyno_before_mb": _mb(phase.sum_start_kb),
        "serve_peak_mb": _mb(max(serve_peak, phase.serve_max_kb)),
        "sync_child_peak_mb": _mb(by_label.get("sync", 0)),
        "others_peak_mb": {k: _mb(v) for k, v in sorted(by_label.items()) if k != "sync"},
        "dyno_peak_mb": _mb(phase.sum_max_kb),
        "wall_s": round(wall, 2),
        "samples": phase.samples,
        "max_sample_gap_ms": round(phase.max_gap * 1000),
    }


def _expected(servers: Servers) -> int:
    return len(servers.sandbox.orgapi.records) + len(servers.sandbox.dialnexa.records)


def _sheet_figures(servers: Servers, sheet: Any) -> Figures:
    recorded = servers.recorded()
    rows = servers.data_rows(sheet, INVENTORY_TAB)
    if rows != _expected(servers):
        raise BenchError(f"the sheet has {rows} rows, the providers {_expected(servers)} numbers")
    return {"sheets_calls": recorded.sheets_calls, "sheets_writes": recorded.sheets_writes}


def cli_sync(servers: Servers, sheet: Any, env: dict[str, str]) -> Figures:
    """One ``syncbot sync`` as a measured child process (its tree's peak RSS)."""
    servers.reset()
    run = measure(
        [sys.executable, "-m", "syncbot", "sync", "--json"], env=clean_env(**env), cwd=ROOT
    )
    if run.returncode != 0:
        raise BenchError(f"syncbot sync exited {run.returncode}:\n{run.stderr[-4000:]}")
    result = json.loads(run.stdout)
    if result["status"] != "ok" or result["sheet"]["status"] != "ok":
        raise BenchError(f"syncbot sync did not succeed:\n{run.stdout[-4000:]}")
    return {
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "wall_s": round(run.wall, 2),
        "cpu_s": round(run.cpu, 2),
        "run_id": result["run_id"],
        **_sheet_figures(servers, sheet),
    }


class Web:
    """The serve process being sampled, and the means to ask it things."""

    def __init__(self, app: App, sampler: Sampler, log: IO[str]) -> None:
        self.app = app
        self.sampler = sampler
        self.log = log

    def _died(self) -> BenchError:
        self.log.flush()
        self.log.seek(0)
        return BenchError(f"syncbot serve ended:\n{self.log.read()[-4000:]}")

    async def health(self) -> dict[str, Any]:
        async with self.app.http.get(f"{self.app.url}/healthz") as response:
            body: dict[str, Any] = await response.json()
            return body

    async def loaded(self, run_id: int) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while await self.app.run_id() != run_id:
                if not self.sampler.alive():
                    raise self._died()
                await asyncio.sleep(0.1)

    async def sync(self, name: str, run_id: int) -> float:
        """``/numbers sync`` as an admin; the seconds until its outcome reached Slack."""
        fake = self.app.fake
        body = fake.command_body("sync", response_url=fake.response_url(name))
        started = time.perf_counter()
        async with self.app.http.post(
            f"{self.app.url}/slack/events", data=body, headers=fake.signed_headers(body)
        ) as response:
            ack = await response.text()
            if response.status != 200 or "Sync started" not in ack:
                raise BenchError(f"/numbers sync: HTTP {response.status}: {ack[:500]}")
        async with asyncio.timeout(WAIT_SECONDS):
            while not any(reply.name == name for reply in fake.replies):
                if not self.sampler.alive():
                    raise self._died()
                await asyncio.sleep(0.05)
        wall = time.perf_counter() - started
        health = await self.health()
        latest, sheet = health["latest_sync"], health["sheet"]
        if (latest["run_id"], latest["status"], sheet["status"]) != (run_id, "ok", "ok"):
            reply = next(r for r in fake.replies if r.name == name)
            raise BenchError(f"/numbers sync did not succeed: {health}\n{reply.body}")
        return wall


async def web_syncs(
    servers: Servers, sheet: Any, fake: FakeSlack, settings: dict[str, str], next_run: int
) -> Figures:
    """Phases 3: serve idle, then each ``/numbers sync`` of ``WEB_SYNCS``."""
    figures: Figures = {}
    with tempfile.TemporaryFile("w+") as log:
        async with (
            aiohttp.ClientSession() as http,
            serving(http, fake, settings, stderr=log) as (app, pid),
        ):
            with Sampler(pid) as sampler:
                web = Web(app, sampler, log)
                sampler.begin("idle")
                started = time.perf_counter()
                await web.loaded(next_run - 1)
                for text in IDLE_QUERIES:
                    await app.measure(text, 1)
                figures["idle"] = phase_figures(sampler.end(), time.perf_counter() - started)
                for name in WEB_SYNCS:
                    if name.startswith("churn"):
                        churn(servers)
                    servers.reset()
                    _progress(f"  /numbers sync: {name}")
                    sampler.begin(name)
                    wall = await web.sync(name.replace(" ", "-"), next_run)
                    figures[name] = {
                        **phase_figures(sampler.end(), wall),
                        "run_id": next_run,
                        **_sheet_figures(servers, sheet),
                    }
                    next_run += 1
                figures["serve_peak_resets"] = sampler.peak_resets
    return figures


async def run(numbers: int, latency_ms: float) -> Figures:
    _progress(f"generating {numbers:,} numbers")
    report: Figures = {"numbers": numbers, "dyno_quota_mb": DYNO_QUOTA_MB}
    with (
        Servers(bench_dataset(numbers, SOURCES), latency_ms=latency_ms) as servers,
        tempfile.TemporaryDirectory(prefix="bench-web-sync-") as tmp,
    ):
        sheet = servers.new_sheet()
        async with FakeSlack(wait_seconds=WAIT_SECONDS) as fake:
            settings = {
                **servers.provider_env(SOURCES),
                **servers.sheet_env(sheet),
                "DATABASE_URL": f"sqlite:///{Path(tmp) / 'syncbot.db'}",
                "SLACK_ALERT_CHANNEL": ALERT_CHANNEL,
                "SLACK_ADMIN_USER_IDS": USER_ID,
            }
            cli_env = {**settings, **fake.env()}
            cli: Figures = {}
            for name in ("first", "unchanged"):
                _progress(f"  syncbot sync: {name}")
                cli[name] = await asyncio.to_thread(cli_sync, servers, sheet, cli_env)
            report["web"] = await web_syncs(
                servers, sheet, fake, settings, cli["unchanged"]["run_id"] + 1
            )
            churn(servers)
            _progress("  syncbot sync: churn 1%")
            cli["churn 1%"] = await asyncio.to_thread(cli_sync, servers, sheet, cli_env)
            report["cli"] = cli
    return report


def table(report: Figures) -> str:
    head = (
        f"{'numbers':>8}  {'sync':<16} {'run by':<14} {'serve before':>12} {'serve peak':>10} "
        f"{'sync child':>10} {'dyno peak':>9} {'wall s':>7}"
    )
    lines = [head]
    n = f"{report['numbers']:>8,}"
    cli, web = report["cli"], report["web"]

    def cli_row(name: str) -> None:
        f = cli[name]
        lines.append(
            f"{n}  {name:<16} {'syncbot sync':<14} {'':>12} {'':>10} {'':>10} "
            f"{f['peak_rss_mb']:>9.0f} {f['wall_s']:>7.1f}"
        )

    def web_row(name: str, by: str) -> None:
        f = web[name]
        child = f"{f['sync_child_peak_mb']:.0f}" if f["sync_child_peak_mb"] else ""
        lines.append(
            f"{n}  {name:<16} {by:<14} {f['serve_before_mb']:>12.0f} {f['serve_peak_mb']:>10.0f} "
            f"{child:>10} {f['dyno_peak_mb']:>9.0f} {f['wall_s']:>7.1f}"
        )

    cli_row("first")
    web_row("idle", "serve")
    for name in WEB_SYNCS:
        if name in cli:
            cli_row(name)
        web_row(name, "/numbers sync")
    lines.append(
        "\nMB: serve before = its RSS as the phase began; serve peak = its own VmHWM over the"
        "\nphase; sync child = the spawned sync's VmHWM; dyno peak = serve and all its"
        "\ndescendants summed every 50 ms (for syncbot sync: its process tree's peak)."
    )
    worst = max(web[name]["dyno_peak_mb"] for name in ("idle", *WEB_SYNCS))
    over = worst - report["dyno_quota_mb"]
    verdict = f"over by {over:.0f} MB" if over > 0 else f"{-over:.0f} MB to spare"
    lines.append(
        f"web dyno peak {worst:.0f} MB against {report['dyno_quota_mb']:.0f} MB: {verdict}"
    )
    for name in WEB_SYNCS:
        if name in cli:
            extra = web[name]["dyno_peak_mb"] - cli[name]["peak_rss_mb"]
            lines.append(f"{name}: the web dyno adds {extra:.0f} MB to a plain syncbot sync")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench web-sync", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--numbers", type=int, default=DEFAULT_NUMBERS)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    try:
        report = asyncio.run(run(args.numbers, args.latency_ms))
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
