"""``/numbers sync`` on the web dyno (issue 17): the peak memory of ``syncbot serve`` and of the
sync process it spawns, together, beside the same sync run as a plain ``syncbot sync``.

    python -m bench web-sync [--numbers 100000] [--unchanged 2] [--latency-ms 0]
    make bench ARGS='web-sync --numbers 395000 --unchanged 6'

Heroku's memory quota (512 MB on a standard dyno) counts every process of the dyno, so the
figure that matters is the serve process and its children summed, over time.

1. The sandbox provider APIs with --numbers numbers, the fake Sheets API (``bench/servers.py``)
   and a fake Slack, all in this process.
2. ``syncbot sync`` (the CLI, measured by ``bench/_launch.py``: its process tree's peak) into a
   fresh SQLite store and a fresh spreadsheet: the first sync, then an unchanged one, the
   baseline of the web's unchanged syncs.
3. ``syncbot serve`` on that store with the sheet configured (``bench/slack_bench.py``
   ``serving``). A process of its own (``bench/_sample.py``, read by ``bench/sampler.py``)
   reads, every 50 ms, ``VmRSS`` and ``VmHWM`` of the serve process and of every descendant
   (the spawned sync, its normalizing worker, multiprocessing's resource tracker); the resident
   sets are summed. Phases, each with the serve process's own peak (``VmHWM``, reset at the
   phase's start through ``/proc/<pid>/clear_refs``): ``idle`` (loading the latest sync, two
   ``/numbers`` queries), then ``/numbers sync`` unchanged (--unchanged times), and after 1%
   churn at the providers (``bench/sheet_scale.py`` ``churn``), each until its outcome reaches
   the ``response_url``.
4. With serve stopped, another 1% churn and a ``syncbot sync``: the baseline of the churned web
   sync (a churn of the same size, not the same churn: that one is in the store already).

At 400,000 numbers the first sync's sheet write is refused today: with every number in the
Inventory and in Changes (all added) it needs 10,037,613 cells, over Google's 10,000,000 per
spreadsheet, and the bench stops with syncbot's message. 395,000 fits, churns included.

The sum of resident sets counts the pages processes share (the interpreter, libraries) once per
process, so it is a little above what the kernel charges the dyno. Prints one JSON object, then
a table.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import aiohttp

from bench._proc import ROOT, clean_env, measure
from bench.sampler import Figures, Sampler
from bench.servers import INVENTORY_TAB, SOURCES, Servers, bench_dataset
from bench.sheet_scale import BenchError, churn, print_report
from bench.slack_bench import App, serving
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import USER_ID

DEFAULT_NUMBERS = 100_000
DYNO_QUOTA_MB = 512.0
ALERT_CHANNEL = "C0NUMBERS"
# A bound on a hang, never on speed: a loaded two-core machine takes minutes at 400,000.
WAIT_SECONDS = 3600.0
IDLE_QUERIES = ("unassigned", "stats")
CHURN = "churn 1%"


def web_sync_names(unchanged: int) -> list[str]:
    """The ``/numbers sync`` phases: ``unchanged`` unchanged syncs, then one after churn."""
    names = ["unchanged", "unchanged again"][:unchanged]
    return [*names, *(f"unchanged {k}" for k in range(3, unchanged + 1)), CHURN]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _listed(servers: Servers) -> list[tuple[str, str]]:
    """(source, number id) of every record the providers list."""
    return [("orgapi", str(r["phone_number_id"])) for r in servers.sandbox.orgapi.records] + [
        ("dialnexa", str(r["id"])) for r in servers.sandbox.dialnexa.records
    ]


def _sheet_figures(servers: Servers, sheet: Any) -> Figures:
    """The Sheets calls of the sync just done, once the Inventory holds exactly one row for
    each record the providers list."""
    recorded = servers.recorded()
    listed = _listed(servers)
    values = servers.sheets.values(sheet.spreadsheet_id, INVENTORY_TAB)
    header, rows = values[0], values[1:]
    source, number_id = header.index("Source"), header.index("Number ID")
    keys = [(str(row[source]), str(row[number_id])) for row in rows]
    if len(keys) != len(listed) or set(keys) != set(listed):
        twice = [key for key, n in collections.Counter(keys).items() if n > 1]
        extra, missing = set(keys) - set(listed), set(listed) - set(keys)
        raise BenchError(
            f"the sheet has {len(rows)} rows, the providers {len(listed)} records "
            f"({len(set(listed))} distinct); rows of no record: {sorted(extra)[:5]}, "
            f"records without a row: {sorted(missing)[:5]}, keys on several rows: {twice[:5]}"
        )
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
    servers: Servers,
    sheet: Any,
    fake: FakeSlack,
    settings: dict[str, str],
    *,
    next_run: int,
    folder: Path,
    names: list[str],
) -> Figures:
    """Step 3: serve idle, then each ``/numbers sync`` of ``names``."""
    figures: Figures = {}
    with tempfile.TemporaryFile("w+") as log:
        async with (
            aiohttp.ClientSession() as http,
            serving(http, fake, settings, stderr=log) as (app, pid),
        ):
            with Sampler(pid, folder) as sampler:
                web = Web(app, sampler, log)
                sampler.begin("idle")
                started = time.perf_counter()
                await web.loaded(next_run - 1)
                for text in IDLE_QUERIES:
                    await app.measure(text, 1)
                figures["idle"] = sampler.end(time.perf_counter() - started)
                for name in names:
                    if name == CHURN:
                        churn(servers)
                    servers.reset()
                    _progress(f"  /numbers sync: {name}")
                    sampler.begin(name)
                    wall = await web.sync(name.replace(" ", "-"), next_run)
                    figures[name] = {
                        **sampler.end(wall),
                        "run_id": next_run,
                        **_sheet_figures(servers, sheet),
                    }
                    next_run += 1
                figures["serve_peak_resets"] = sampler.peak_resets
    return figures


async def run(numbers: int, latency_ms: float, unchanged: int) -> Figures:
    _progress(f"generating {numbers:,} numbers")
    names = web_sync_names(unchanged)
    report: Figures = {"numbers": numbers, "dyno_quota_mb": DYNO_QUOTA_MB, "web_syncs": names}
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
                servers,
                sheet,
                fake,
                settings,
                next_run=cli["unchanged"]["run_id"] + 1,
                folder=Path(tmp),
                names=names,
            )
            # Another churn of the same size: the web's is in the store already.
            churn(servers, seed=12)
            _progress("  syncbot sync: churn 1%")
            cli["churn 1%"] = await asyncio.to_thread(cli_sync, servers, sheet, cli_env)
            report["cli"] = cli
    return report


def table(report: Figures) -> str:
    head = (
        f"{'numbers':>8}  {'sync':<16} {'run by':<14} {'serve before':>12} {'dyno before':>11} "
        f"{'serve peak':>10} {'sync child':>10} {'dyno peak':>9} {'= serve+sync+rest':>17} "
        f"{'wall s':>7}"
    )
    lines = [head]
    n = f"{report['numbers']:>8,}"
    cli, web = report["cli"], report["web"]

    def cli_row(name: str) -> None:
        f = cli[name]
        lines.append(
            f"{n}  {name:<16} {'syncbot sync':<14} {'':>12} {'':>11} {'':>10} {'':>10} "
            f"{f['peak_rss_mb']:>9.0f} {'':>17} {f['wall_s']:>7.1f}"
        )

    def web_row(name: str, by: str) -> None:
        f = web[name]
        child = f"{f['sync_child_peak_mb']:.0f}" if f["sync_child_peak_mb"] else ""
        parts = dict(f["at_dyno_peak_mb"])
        split = "+".join(
            f"{x:.0f}" for x in (parts.pop("serve", 0), parts.pop("sync", 0), sum(parts.values()))
        )
        lines.append(
            f"{n}  {name:<16} {by:<14} {f['serve_before_mb']:>12.0f} {f['dyno_before_mb']:>11.0f} "
            f"{f['serve_peak_mb']:>10.0f} {child:>10} {f['dyno_peak_mb']:>9.0f} {split:>17} "
            f"{f['wall_s']:>7.1f}"
        )

    cli_row("first")
    web_row("idle", "serve")
    for name in report["web_syncs"]:
        if name in cli:
            cli_row(name)
        web_row(name, "/numbers sync")
    lines.append(
        "\nMB: serve before = its RSS as the phase began, dyno before = with its children;"
        "\nserve peak = its own VmHWM over the phase; sync child = the spawned sync's VmHWM;"
        "\ndyno peak = serve and all its descendants summed every 50 ms (for syncbot sync: its"
        "\nprocess tree's peak), split into each one's RSS at that moment (rest: the sync's"
        "\nnormalizing worker and multiprocessing's resource tracker)."
    )
    worst = max(web[name]["dyno_peak_mb"] for name in ("idle", *report["web_syncs"]))
    over = worst - report["dyno_quota_mb"]
    verdict = f"over by {over:.0f} MB" if over > 0 else f"{-over:.0f} MB to spare"
    lines.append(
        f"web dyno peak {worst:.0f} MB against {report['dyno_quota_mb']:.0f} MB: {verdict}"
    )
    for name in report["web_syncs"]:
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
    parser.add_argument(
        "--unchanged",
        type=int,
        default=2,
        metavar="K",
        help="unchanged /numbers syncs before the churned one (default 2): does serve level off?",
    )
    args = parser.parse_args(argv)
    return print_report(
        lambda: asyncio.run(run(args.numbers, args.latency_ms, args.unchanged)), table
    )


if __name__ == "__main__":
    sys.exit(main())
