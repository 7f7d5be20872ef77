"""A full sheet at scale: ``syncbot sync`` with a sheet, this tree against an older syncbot.

    python -m bench sheet-scale [--numbers 100000] [--baseline 34bc297] [--latency-ms 0]
    make bench ARGS="sheet-scale --numbers 390000"

390,000 is about a full workbook: at 20 managed columns and 5 spare ones, 400,000 numbers pass
Google's 10,000,000-cell limit and the sheet write refuses them (as it should).

Starts the sandbox provider APIs and the fake Sheets API in this process, then for each
syncbot (this tree, and the ``--baseline`` commit extracted with ``git archive`` into a
temporary directory and run from there, so that its code is not copied here) runs, as child
processes into a fresh store and a fresh spreadsheet: a first sync, an unchanged sync, and a
sync after 1% churn at the providers (half of it reassigned numbers, a quarter removed, a
quarter new, spread through the listing). For this tree, an unchanged sync without a sheet
too, the CPU baseline of a sheet's cost. Each figure is the child's own: the peak RSS of its
whole process tree and its CPU time (``bench/_launch.py``); the fake Sheets API runs in this
process and is not counted. Prints one JSON object, then a table.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._proc import ROOT, clean_env, measure
from bench.servers import INVENTORY_TAB, Servers, bench_dataset
from syncbot.sandbox.data import inserted_records

DEFAULT_NUMBERS = 100_000
# The main branch before the sheet writer streamed (issue 17).
DEFAULT_BASELINE = "34bc297"
CHURN = 0.01
# Each provider's field for the agent a number routes to.
_AGENT_FIELD = {"orgapi": "agent_id", "dialnexa": "inbound_agent_id"}

Figures = dict[str, Any]


class BenchError(Exception):
    """A measured sync failed, so its figures would mean nothing."""


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def baseline_tree(commit: str) -> Iterator[Path]:
    """The ``syncbot`` package of ``commit``, extracted into a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="bench-baseline-") as tmp:
        archive = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", "archive", commit, "syncbot"],  # noqa: S607 - git from PATH
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        subprocess.run(  # noqa: S603 - fixed arguments
            ["tar", "-x", "-C", tmp],  # noqa: S607 - tar from PATH
            input=archive.stdout,
            check=True,
        )
        yield Path(tmp)


def churn(servers: Servers, *, seed: int = 11) -> None:
    """Change 1% of each provider's records in place: reassign, remove, add. A churn after
    another needs a ``seed`` of its own, else it adds the same ids again."""
    for source in ("orgapi", "dialnexa"):
        provider = getattr(servers.sandbox, source)
        records: list[dict[str, Any]] = provider.records
        touched = max(int(len(records) * CHURN), 4)
        step = max(len(records) // touched, 1)
        new = iter(inserted_records(source, touched // 4 + 1, seed=seed))
        out: list[dict[str, Any]] = []
        for k, listed in enumerate(records):
            slot = k // step if k % step == 0 else -1
            what = slot % 4 if 0 <= slot < touched else None
            if what == 1:
                continue
            moved = {_AGENT_FIELD[source]: f"agent_moved_{k}"} if what in {0, 2} else {}
            out.append({**listed, **moved})
            if what == 3:
                out.append(next(new))
        records[:] = out


def sync(servers: Servers, tree: Path, env: dict[str, str], *, sheet: bool) -> Figures:
    """One ``syncbot sync`` of ``tree`` as a measured child process."""
    servers.reset()
    args = [sys.executable, "-m", "syncbot", "sync", "--json"]
    run = measure(args, env=clean_env(**env, PYTHONPATH=str(tree)), cwd=tree)
    if run.returncode != 0:
        raise BenchError(f"syncbot sync exited {run.returncode}:\n{run.stderr[-4000:]}")
    result = json.loads(run.stdout)
    if result["status"] != "ok" or result["sheet"]["status"] != ("ok" if sheet else "skipped"):
        raise BenchError(f"syncbot sync did not succeed:\n{run.stdout[-4000:]}")
    recorded = servers.recorded()
    return {
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "cpu_s": round(run.cpu, 2),
        "wall_s": round(run.wall, 2),
        "sheets_calls": recorded.sheets_calls,
        "sheets_writes": recorded.sheets_writes,
        "sheets_sent_kb": round(recorded.sheets_sent / 1e3, 1),
        "numbers": result["total"],
    }


def one_tree(servers: Servers, tree: Path, *, original: list[list[dict[str, Any]]]) -> Figures:
    """First, unchanged and churned syncs of ``tree`` into a fresh store and spreadsheet."""
    sandbox = servers.sandbox
    sandbox.orgapi.records[:] = [dict(r) for r in original[0]]
    sandbox.dialnexa.records[:] = [dict(r) for r in original[1]]
    with tempfile.TemporaryDirectory(prefix="bench-sheet-") as tmp:
        sheet = servers.new_sheet()
        env = {
            **servers.provider_env(("orgapi", "dialnexa")),
            **servers.sheet_env(sheet),
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'syncbot.db'}",
        }
        figures = {}
        for name in ("first", "unchanged", "churn"):
            if name == "churn":
                churn(servers)
            _progress(f"  {tree.name}: {name} sync")
            figures[name] = sync(servers, tree, env, sheet=True)
            figures[name]["sheet_rows"] = servers.data_rows(sheet, INVENTORY_TAB)
    return figures


def no_sheet(servers: Servers, original: list[list[dict[str, Any]]]) -> Figures:
    """This tree's first and unchanged syncs without a sheet."""
    servers.sandbox.orgapi.records[:] = [dict(r) for r in original[0]]
    servers.sandbox.dialnexa.records[:] = [dict(r) for r in original[1]]
    with tempfile.TemporaryDirectory(prefix="bench-nosheet-") as tmp:
        env = {
            **servers.provider_env(("orgapi", "dialnexa")),
            "DATABASE_URL": f"sqlite:///{Path(tmp) / 'syncbot.db'}",
        }
        _progress("  this tree: first sync without a sheet")
        first = sync(servers, ROOT, env, sheet=False)
        _progress("  this tree: unchanged sync without a sheet")
        return {"first": first, "unchanged": sync(servers, ROOT, env, sheet=False)}


def run(numbers: int, baseline: str | None, latency_ms: float) -> Figures:
    _progress(f"generating {numbers:,} numbers")
    report: Figures = {"numbers": numbers, "baseline": baseline}
    with Servers(bench_dataset(numbers, ("orgapi", "dialnexa")), latency_ms=latency_ms) as servers:
        original = [
            [dict(r) for r in servers.sandbox.orgapi.records],
            [dict(r) for r in servers.sandbox.dialnexa.records],
        ]
        _progress("this tree")
        report["this_tree"] = one_tree(servers, ROOT, original=original)
        report["this_tree_no_sheet"] = no_sheet(servers, original)
        if baseline is not None:
            _progress(f"baseline {baseline}")
            with baseline_tree(baseline) as tree:
                report["baseline_tree"] = one_tree(servers, tree, original=original)
    return report


def table(report: Figures) -> str:
    head = (
        f"{'numbers':>8} {'sync':<10} {'writer':<14} {'peak MB':>8} {'cpu s':>7} "
        f"{'calls':>6} {'writes':>6} {'sent KB':>10}"
    )
    lines = [head]
    trees = [("this_tree", "this tree")]
    if "baseline_tree" in report:
        trees.append(("baseline_tree", f"main {report['baseline']}"))
    for name in ("first", "unchanged", "churn"):
        for key, label in trees:
            f = report[key][name]
            lines.append(
                f"{report['numbers']:>8,} {name:<10} {label:<14} {f['peak_rss_mb']:>8.0f} "
                f"{f['cpu_s']:>7.1f} {f['sheets_calls']:>6} {f['sheets_writes']:>6} "
                f"{f['sheets_sent_kb']:>10,.1f}"
            )
    for name in ("first", "unchanged"):
        f = report["this_tree_no_sheet"][name]
        lines.append(
            f"{report['numbers']:>8,} {name:<10} {'no sheet':<14} {f['peak_rss_mb']:>8.0f} "
            f"{f['cpu_s']:>7.1f}"
        )
    with_sheet = report["this_tree"]["unchanged"]["cpu_s"]
    lines.append(
        f"\nunchanged sync: CPU with a sheet / without = {with_sheet / max(f['cpu_s'], 1e-9):.2f}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench sheet-scale", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--numbers", type=int, default=DEFAULT_NUMBERS)
    parser.add_argument(
        "--baseline",
        default=DEFAULT_BASELINE,
        help=f"commit of the syncbot to compare with (default {DEFAULT_BASELINE}); 'none': skip",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    baseline = None if args.baseline == "none" else args.baseline
    if baseline is not None and shutil.which("git") is None:
        parser.error("--baseline needs git")
    return print_report(lambda: run(args.numbers, baseline, args.latency_ms), table)


def print_report(measure: Callable[[], Figures], table: Callable[[Figures], str]) -> int:
    """Print what ``measure`` reports as JSON, then as ``table`` (0), or why it failed (1)."""
    try:
        report = measure()
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2))
    print(table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
