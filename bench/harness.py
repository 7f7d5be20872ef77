"""A full ``syncbot sync`` against the network's limit and against the tools users would pick
instead, with the same servers and data.

    python -m bench [--numbers 100000] [--latency-ms 20] [--sources orgapi,dialnexa]
                    [--runs 1] [--quick] [--no-sheet] [--no-peers] [--profile DIR]
                    [--database-url URL] [--baseline REV]

Starts the sandbox provider APIs and the fake Sheets API on loopback in this process, then per
run: a first ``syncbot sync`` into a fresh store and sheet, an unchanged re-run (the steady
state), the naive baseline (``bench/naive_sync.py``) and dlt's ``rest_api`` (``bench/dlt_peer.py``,
skipped when dlt is not installed), each as a child process so that its wall time, CPU time and
peak RSS are its own. ``--no-sheet`` syncs into the store alone, as the memory targets assume.
Prints one JSON object, then a table; with several runs, medians. ``--profile DIR`` profiles a
first and a steady-state sync instead (``bench/profile_sync.py``). ``--database-url`` adds the
same syncs into PostgreSQL, ``--baseline REV`` the syncbot of git revision REV on each store
(``bench/stores.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench._proc import ROOT, Measured, clean_env, measure
from bench.critical_path import critical_path, timeline
from bench.report import median, revision, table
from bench.servers import INVENTORY_TAB, SOURCES, Recorded, Servers, bench_dataset
from bench.stores import store_pairs
from bench.targets import DEFAULT_NUMBERS, Figures, targets
from syncbot.sandbox.sheets.kit import SheetsSandbox

QUICK_NUMBERS = 1_000
DLT_MISSING = "skipped: dlt not installed"
NAIVE_SKIPPED = "skipped: it writes a sheet, and this run has none"
PEERS_SKIPPED = "skipped: --no-peers"


class BenchError(Exception):
    """A measured program failed, so its figures would mean nothing."""


def _sources(text: str) -> list[str]:
    chosen = [s.strip() for s in text.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SOURCES))
    if not chosen or unknown:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(SOURCES)}; got {text!r}"
        )
    return [s for s in SOURCES if s in chosen]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument(
        "--numbers",
        type=int,
        help=f"numbers split evenly between the sources (default {DEFAULT_NUMBERS:,})",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=20.0, help="latency of every request (default 20)"
    )
    parser.add_argument(
        "--sources",
        type=_sources,
        default=list(SOURCES),
        help="comma-separated sources to sync (default orgapi,dialnexa)",
    )
    parser.add_argument("--runs", type=int, default=1, help="runs of each; medians are quoted")
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="instead of measuring, profile a first and a steady-state sync into DIR",
    )
    parser.add_argument(
        "--no-sheet",
        dest="sheet",
        action="store_false",
        help="sync into the store alone, without the fake Google Sheet",
    )
    parser.add_argument(
        "--no-peers",
        dest="peers",
        action="store_false",
        help="measure syncbot alone, without the naive script and dlt",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="also sync into PostgreSQL: a server URL; each first + unchanged pair gets a "
        "fresh database there",
    )
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also measure the syncbot of git revision REV, on each store, as the baseline",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_NUMBERS:,} numbers unless --numbers says otherwise: the test suite's size",
    )
    args = parser.parse_args(argv)
    if args.numbers is None:
        args.numbers = QUICK_NUMBERS if args.quick else DEFAULT_NUMBERS
    if args.numbers < 1 or args.runs < 1 or args.latency_ms < 0:
        parser.error("--numbers and --runs must be positive and --latency-ms not negative")
    return args


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(servers: Servers, args: list[str], env: Mapping[str, str], cwd: Path) -> Measured:
    """Run one measured child against freshly reset server records."""
    servers.reset()
    run = measure(args, env=clean_env(**env), cwd=cwd)
    if run.returncode != 0:
        raise BenchError(f"{' '.join(args[1:])} exited {run.returncode}:\n{run.stderr[-4000:]}")
    return run


def _timed_run(
    servers: Servers, args: list[str], env: Mapping[str, str], cwd: Path
) -> tuple[Measured, float]:
    """``_run``, and when the child started on the servers' clock (for its timeline)."""
    run = _run(servers, args, env, cwd)
    # The launcher's own exit after the child's is a millisecond or two: negligible here.
    return run, time.monotonic() - run.wall


def _process(run: Measured) -> Figures:
    return {"wall_s": run.wall, "cpu_s": run.cpu, "peak_rss_mb": run.peak_rss_mb}


def _requests(recorded: Recorded) -> Figures:
    return {"orgapi": len(recorded.orgapi), "dialnexa": len(recorded.dialnexa)}


def _syncbot(servers: Servers, env: Mapping[str, str], db: Path, *, sheet: bool) -> Figures:
    args = [sys.executable, "-m", "syncbot", "sync", "--json"]
    run, started = _timed_run(servers, args, env, db.parent)
    result = json.loads(run.stdout)
    if result["status"] != "ok" or result["sheet"]["status"] != ("ok" if sheet else "skipped"):
        raise BenchError(f"syncbot sync did not succeed:\n{run.stdout}\n{run.stderr[-4000:]}")
    recorded = servers.recorded()
    path = critical_path(recorded)
    phases = timeline(recorded, started=started, finished=started + run.wall)
    return {
        **_process(run),
        "cpu_us_per_number": run.cpu / max(result["total"], 1) * 1e6,
        "critical_path_s": path.total,
        "wall_over_critical_path": run.wall / path.total,
        "critical_path": path.to_dict(),
        "timeline": phases.to_dict(),
        "requests": _requests(recorded),
        "sheets_calls": recorded.sheets_calls,
        "sheets_writes": recorded.sheets_writes,
        "sheets_sent_bytes": recorded.sheets_sent,
        "sheets_received_bytes": recorded.sheets_received,
        "listed": result["total"],
    }


def _naive(servers: Servers, provider_env: Mapping[str, str]) -> Figures:
    sheet = servers.new_sheet()
    env = {**provider_env, **servers.sheet_env(sheet)}
    run = _run(servers, [sys.executable, "-m", "bench.naive_sync"], env, ROOT)
    recorded = servers.recorded()
    return {
        **_process(run),
        "requests": _requests(recorded),
        "sheets_calls": recorded.sheets_calls,
        "sheets_sent_bytes": recorded.sheets_sent,
        # How much of its wall time the fake Sheets API spent on it (latency included).
        "sheets_server_s": sum(t.duration for t in recorded.sheets),
        "listed": servers.data_rows(sheet, "Sheet1"),
    }


def _dlt(servers: Servers, provider_env: Mapping[str, str]) -> Figures:
    run = _run(servers, [sys.executable, "-m", "bench.dlt_peer"], provider_env, ROOT)
    rows: dict[str, int] = json.loads(run.stdout)["rows"]
    return {
        **_process(run),
        "requests": _requests(servers.recorded()),
        "listed": sum(rows.values()),
    }


def _sync_env(
    servers: Servers, sources: Sequence[str], db: Path, sheet: SheetsSandbox | None
) -> dict[str, str]:
    return {
        **servers.provider_env(sources),
        **(servers.sheet_env(sheet) if sheet is not None else {}),
        "DATABASE_URL": f"sqlite:///{db}",
    }


def _one_run(
    servers: Servers, sources: Sequence[str], *, dlt: bool, sheet: bool, peers: bool, label: str
) -> Figures:
    provider_env = servers.provider_env(sources)
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        db = Path(tmp) / "syncbot.db"
        tab = servers.new_sheet() if sheet else None
        env = _sync_env(servers, sources, db, tab)
        _progress(f"{label}: syncbot, first sync")
        first = _syncbot(servers, env, db, sheet=sheet)
        first["sheet_rows"] = servers.data_rows(tab, INVENTORY_TAB) if tab else None
        _progress(f"{label}: syncbot, steady state")
        steady = _syncbot(servers, env, db, sheet=sheet)
        steady["sheet_rows"] = servers.data_rows(tab, INVENTORY_TAB) if tab else None
    measured: Figures = {}
    if sheet and peers:
        _progress(f"{label}: naive baseline")
        measured["naive"] = _naive(servers, provider_env)
    if dlt and peers:
        _progress(f"{label}: dlt rest_api")
        measured["dlt"] = _dlt(servers, provider_env)
    for figures in measured.values():
        figures["syncbot_wall_over_theirs"] = first["wall_s"] / figures["wall_s"]
    return {"syncbot_first": first, "syncbot_steady": steady, "peers": measured}


def _stores(
    servers: Servers,
    sources: Sequence[str],
    measured: Figures,
    *,
    sheet: bool,
    database_url: str | None,
    baseline: str | None,
) -> Figures:
    """The same syncs into PostgreSQL, and with the baseline revision; today's SQLite pair
    is the one measured already."""
    provider_env = servers.provider_env(sources)

    def sync(env: Mapping[str, str], cwd: Path) -> Figures:
        store = env["DATABASE_URL"].split(":", 1)[0]
        version = f" @ {baseline}" if "PYTHONPATH" in env else ""
        _progress(f"{store}{version}: syncbot")
        return _syncbot(servers, {**provider_env, **env}, cwd / "syncbot.db", sheet=sheet)

    def pair_env() -> dict[str, str]:
        return servers.sheet_env(servers.new_sheet()) if sheet else {}

    return store_pairs(
        sync,
        pair_env,
        measured={"first": measured["syncbot_first"], "steady": measured["syncbot_steady"]},
        database_url=database_url,
        baseline=baseline,
    )


def run_bench(
    *,
    numbers: int,
    latency_ms: float,
    sources: Sequence[str],
    runs: int,
    dlt: bool,
    sheet: bool,
    peers: bool = True,
    database_url: str | None = None,
    baseline: str | None = None,
) -> Figures:
    """Measure ``runs`` times and return the report: medians, peers and targets."""
    measured_revision = revision()
    _progress(f"generating {numbers:,} numbers")
    with Servers(bench_dataset(numbers, sources), latency_ms=latency_ms) as servers:
        measured = [
            _one_run(servers, sources, dlt=dlt, sheet=sheet, peers=peers, label=f"run {i}/{runs}")
            for i in range(1, runs + 1)
        ]
        medians = median(measured)
        stores = (
            _stores(
                servers,
                sources,
                medians,
                sheet=sheet,
                database_url=database_url,
                baseline=baseline,
            )
            if database_url or baseline
            else None
        )
        expected = servers.expected
    others = medians["peers"]
    if not sheet:
        others["naive"] = NAIVE_SKIPPED
    if not dlt:
        others["dlt"] = DLT_MISSING
    if not peers:
        others["naive"] = others["dlt"] = PEERS_SKIPPED
    report: Figures = {
        "numbers": numbers,
        "expected_numbers": expected,
        "latency_ms": latency_ms,
        "sources": list(sources),
        "runs": runs,
        "sheet": sheet,
        "revision": measured_revision,
        "syncbot_first": medians["syncbot_first"],
        "syncbot_steady": medians["syncbot_steady"],
        "peers": others,
        "targets": targets(
            medians["syncbot_first"],
            medians["syncbot_steady"],
            others["dlt"] if dlt and peers else None,
        ),
    }
    if stores is not None:
        report["stores"] = stores
    return report


def profile(
    *, numbers: int, latency_ms: float, sources: Sequence[str], sheet: bool, out: Path
) -> None:
    """A first sync and a steady-state one under ``bench/profile_sync.py``, into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    _progress(f"generating {numbers:,} numbers")
    with (
        Servers(bench_dataset(numbers, sources), latency_ms=latency_ms) as servers,
        tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp,
    ):
        db = Path(tmp) / "syncbot.db"
        env = _sync_env(servers, sources, db, servers.new_sheet() if sheet else None)
        for name in ("first", "steady"):
            _progress(f"profiling syncbot, {name} sync")
            target = out.resolve() / name
            args = [sys.executable, "-m", "bench.profile_sync", str(target), "--", "sync", "--json"]
            run = _run(servers, args, {**env, "PYTHONPATH": str(ROOT)}, db.parent)
            print(f"{target}.txt, .prof: wall {run.wall:.2f} s, cpu {run.cpu:.2f} s under cProfile")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.profile is not None:
            profile(
                numbers=args.numbers,
                latency_ms=args.latency_ms,
                sources=args.sources,
                sheet=args.sheet,
                out=args.profile,
            )
            return 0
        report = run_bench(
            numbers=args.numbers,
            latency_ms=args.latency_ms,
            sources=args.sources,
            runs=args.runs,
            dlt=importlib.util.find_spec("dlt") is not None,
            sheet=args.sheet,
            peers=args.peers,
            database_url=args.database_url,
            baseline=args.baseline,
        )
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    print()
    print(table(report))
    return 0
