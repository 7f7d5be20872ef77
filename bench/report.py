"""The report ``python -m bench`` prints: the revision measured, medians over the runs, and the
table people read after the JSON.

Apart from ``harness.py``, which starts the servers and measures each program, because none of
this measures anything: it turns the measured figures into what is printed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
from collections.abc import Sequence
from typing import Any

from bench._proc import ROOT
from bench.stores import table as stores_table
from bench.targets import Figures, targets_table


def revision() -> str | None:
    """The commit measured, with ``+`` when syncbot/ has uncommitted changes; None outside git.

    Other people change the tree while benchmarks run, so a figure is only as good as its
    revision. Read-only: GIT_OPTIONAL_LOCKS=0 keeps ``git status`` from rewriting the index.
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed arguments
            ["git", *args],  # noqa: S607 - git from PATH, as a developer runs it
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", "syncbot")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if dirty else "")


def median(runs: Sequence[Any]) -> Any:
    """The median of each figure over the runs; dicts of figures figure by figure."""
    if isinstance(runs[0], dict):
        return {key: median([run[key] for run in runs]) for key in runs[0]}
    value = statistics.median(runs)
    return round(value, 3) if isinstance(value, float) else value


def _row(cells: Sequence[object], widths: Sequence[int]) -> str:
    first, *rest = cells
    return f"{first!s:<{widths[0]}}" + "".join(
        f"{cell!s:>{w}}" for cell, w in zip(rest, widths[1:], strict=True)
    )


def table(report: Figures) -> str:
    """The report as a table for people."""
    runs = report["runs"]
    lines = [
        f"{report['numbers']:,} numbers ({' + '.join(report['sources'])}), "
        f"{report['latency_ms']:g} ms per request, "
        + (f"median of {runs} runs" if runs > 1 else "1 run")
        + ("" if report["sheet"] else ", no sheet")
        + f", revision {report['revision'] or 'unknown'}",
        "",
    ]
    widths = [22, 8, 8, 10, 9, 10, 7, 10, 7, 9, 9, 9]
    lines.append(
        _row(
            [
                "syncbot",
                "wall s",
                "path s",
                "wall/path",
                "orgapi",
                "dialnexa",
                "sheets",
                "sheets MB",
                "cpu s",
                "µs/num",
                "RSS MB",
                "listed",
            ],
            widths,
        )
    )
    lines.append(_row(["", "", "", "", "requests", "requests", "calls", "sent"], widths[:8]))
    for name, key in (("first sync", "syncbot_first"), ("steady state", "syncbot_steady")):
        f = report[key]
        lines.append(
            _row(
                [
                    name,
                    f"{f['wall_s']:.2f}",
                    f"{f['critical_path_s']:.2f}",
                    f"{f['wall_over_critical_path']:.2f}x",
                    f["requests"]["orgapi"],
                    f["requests"]["dialnexa"],
                    f["sheets_calls"],
                    f"{f['sheets_sent_bytes'] / 1e6:.2f}",
                    f"{f['cpu_s']:.2f}",
                    f"{f['cpu_us_per_number']:.1f}",
                    f"{f['peak_rss_mb']:.0f}",
                    f"{f['listed']:,}",
                ],
                widths,
            )
        )
    for name, key in (("first sync", "syncbot_first"), ("steady state", "syncbot_steady")):
        path, spent = report[key]["critical_path"], report[key]["timeline"]
        lines += [
            f"  {name}: critical path: orgapi {path['orgapi_s']:.2f} s and dialnexa "
            f"{path['dialnexa_s']:.2f} s side by side, then sheets {path['sheets_s']:.2f} s",
            f"  {'':{len(name)}}  wall time:     start-up {spent['startup_s']:.2f} s, listing "
            f"{spent['listing_s']:.2f} s, after listing {spent['after_listing_s']:.2f} s, "
            f"sheets {spent['sheets_s']:.2f} s, exit {spent['exit_s']:.2f} s",
        ]
    lines += ["", _peers_table(report), "", targets_table(report)]
    if "stores" in report:
        lines += ["", stores_table(report["stores"])]
    return "\n".join(lines)


def _peers_table(report: Figures) -> str:
    widths = [40, 8, 8, 9, 10, 10, 10, 18]
    lines = [
        _row(
            [
                "peers, same servers and data",
                "wall s",
                "cpu s",
                "RSS MB",
                "orgapi",
                "dialnexa",
                "listed",
                "syncbot's wall",
            ],
            widths,
        ),
        _row(["", "", "", "", "requests", "requests", "", "over theirs"], widths),
    ]
    names = {
        "naive": "naive: requests + gspread append_rows",
        "dlt": "dlt rest_api: extract + normalize",
    }
    for key, name in names.items():
        f = report["peers"][key]
        if isinstance(f, str):
            lines.append(f"{name:<{widths[0]}}{f}")
            continue
        lines.append(
            _row(
                [
                    name,
                    f"{f['wall_s']:.2f}",
                    f"{f['cpu_s']:.2f}",
                    f"{f['peak_rss_mb']:.0f}",
                    f["requests"]["orgapi"],
                    f["requests"]["dialnexa"],
                    f"{f['listed']:,}",
                    f"{f['syncbot_wall_over_theirs']:.2f}x",
                ],
                widths,
            )
        )
    naive = report["peers"]["naive"]
    if isinstance(naive, str):
        return "\n".join(lines)
    lines.append(
        f"  naive: {naive['sheets_calls']:,} Sheets calls, "
        f"{naive['sheets_server_s']:.2f} s of them inside the fake Sheets API; "
        "dlt writes no sheet"
    )
    return "\n".join(lines)
