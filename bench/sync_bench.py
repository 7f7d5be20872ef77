"""A full ``syncbot sync`` against the sandbox APIs, first run and unchanged re-run, beside the
naive baseline (``bench/naive_sync.py``), with the same servers and data.

    python -m bench.sync_bench [--numbers 10000] [--latency-ms 20] [--runs 3]

The sandbox runs in its own process so the figures are syncbot's alone.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._proc import ROOT, Measured, clean_env, measure


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_sandbox(numbers: int, latency_ms: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    ports = [_free_port(), _free_port()]
    proc = subprocess.Popen(  # noqa: S603 - our own command
        [
            sys.executable,
            "-m",
            "syncbot",
            "sandbox",
            "--numbers",
            str(numbers),
            "--latency-ms",
            str(latency_ms),
            "--orgapi-port",
            str(ports[0]),
            "--dialnexa-port",
            str(ports[1]),
        ],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    env: dict[str, str] = {}
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").strip().partition("=")
            env[name] = value
        if line.startswith("# then"):
            return proc, env
    proc.kill()
    raise SystemExit("the sandbox did not start within 60 s")


def _sync(env: dict[str, str], db: Path) -> Measured:
    run = measure(
        [sys.executable, "-m", "syncbot", "sync", "--json"],
        env=clean_env(**env, DATABASE_URL=f"sqlite:///{db}"),
        cwd=db.parent,
    )
    if run.returncode != 0:
        raise SystemExit(f"syncbot sync failed:\n{run.stderr}")
    return run


def _median(runs: list[Measured]) -> dict[str, float]:
    return {
        "wall_s": round(statistics.median(r.wall for r in runs), 3),
        "cpu_s": round(statistics.median(r.cpu for r in runs), 3),
        "peak_rss_mb": round(statistics.median(r.peak_rss_mb for r in runs), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=10_000, help="numbers in the sandbox")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency per request")
    parser.add_argument("--runs", type=int, default=3, help="runs of each; medians are printed")
    args = parser.parse_args()
    sandbox, env = _start_sandbox(args.numbers, args.latency_ms)
    try:
        first: list[Measured] = []
        steady: list[Measured] = []
        naive: list[Measured] = []
        requests = None
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                db = Path(tmp) / "bench.db"
                run = _sync(env, db)
                first.append(run)
                requests = {k: v["requests"] for k, v in json.loads(run.stdout)["sources"].items()}
                steady.append(_sync(env, db))
                baseline = measure(
                    [
                        sys.executable,
                        str(ROOT / "bench" / "naive_sync.py"),
                        str(Path(tmp) / "naive.db"),
                    ],
                    env=clean_env(**env),
                    cwd=ROOT,
                )
                if baseline.returncode != 0:
                    raise SystemExit(f"the baseline failed:\n{baseline.stderr}")
                naive.append(baseline)
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    report = {
        "numbers": args.numbers,
        "latency_ms": args.latency_ms,
        "runs": args.runs,
        "requests": requests,
        "syncbot_first": _median(first),
        "syncbot_unchanged": _median(steady),
        "naive_baseline": _median(naive),
    }
    report["speedup_vs_naive"] = round(
        report["naive_baseline"]["wall_s"] / report["syncbot_first"]["wall_s"], 2
    )
    print(json.dumps(report, indent=2))
    print(f"\n{args.numbers:,} numbers, {args.latency_ms:g} ms per request, median of {args.runs}")
    print(f"{'':24}{'wall s':>10}{'cpu s':>10}{'peak RSS MB':>14}")
    for name in ("syncbot_first", "syncbot_unchanged", "naive_baseline"):
        r = report[name]
        print(f"{name:24}{r['wall_s']:>10}{r['cpu_s']:>10}{r['peak_rss_mb']:>14}")
    print(
        f"requests: {requests}; syncbot is {report['speedup_vs_naive']}x faster than the baseline"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
