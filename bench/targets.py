"""The targets the benchmark is held to: each figure against its limit, and their table.

Apart from ``harness.py`` (which measures) and ``report.py`` (which lays the report out) so
that the limits, what is compared with them and how a verdict reads stand in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# python -m bench's default size, the one the targets are set for.
DEFAULT_NUMBERS = 100_000
# The figures the targets are set for (the issue's, at DEFAULT_NUMBERS and 20 ms).
MAX_WALL_OVER_PATH = 1.25
MAX_SHEETS_CALLS = 6
MAX_PEAK_RSS_MB = 512.0
MAX_STEADY_CPU_SHARE = 0.5
MAX_STEADY_CPU_US_PER_NUMBER = 20.0
# syncbot's first sync against dlt's extract and normalize of the same listings: twice as fast.
MAX_WALL_OVER_DLT = 0.5

# A report, or a part of it, as it is printed in JSON.
Figures = dict[str, Any]


def _target(value: float, limit: float, *, strict: bool) -> Figures:
    return {
        "value": round(value, 3),
        "limit": limit,
        "comparison": "<" if strict else "<=",
        "met": value < limit if strict else value <= limit,
        # How far from the limit: above 0 is by how much it is missed, as a share of it.
        "over_by": round(value / limit - 1, 3),
    }


def targets(first: Figures, steady: Figures, dlt: Figures | None) -> Figures:
    chosen = {
        "first_wall_over_critical_path": _target(
            first["wall_over_critical_path"], MAX_WALL_OVER_PATH, strict=False
        ),
        "steady_wall_over_critical_path": _target(
            steady["wall_over_critical_path"], MAX_WALL_OVER_PATH, strict=False
        ),
        "sheets_calls_per_sync": _target(
            max(first["sheets_calls"], steady["sheets_calls"]), MAX_SHEETS_CALLS, strict=False
        ),
        "peak_rss_mb": _target(
            max(first["peak_rss_mb"], steady["peak_rss_mb"]), MAX_PEAK_RSS_MB, strict=True
        ),
        "steady_cpu_over_first_cpu": _target(
            steady["cpu_s"] / first["cpu_s"], MAX_STEADY_CPU_SHARE, strict=True
        ),
        "steady_cpu_us_per_number": _target(
            steady["cpu_us_per_number"], MAX_STEADY_CPU_US_PER_NUMBER, strict=False
        ),
    }
    if dlt is not None:
        chosen["wall_over_dlt"] = _target(
            dlt["syncbot_wall_over_theirs"], MAX_WALL_OVER_DLT, strict=False
        )
    return chosen


_TARGET_LABELS: Mapping[str, tuple[str, Callable[[float], str]]] = {
    "first_wall_over_critical_path": ("wall / critical path, first sync", "{:.2f}x".format),
    "steady_wall_over_critical_path": ("wall / critical path, steady state", "{:.2f}x".format),
    "sheets_calls_per_sync": ("Sheets API calls per sync", "{:.0f}".format),
    "peak_rss_mb": ("peak RSS, MB", "{:.0f}".format),
    "steady_cpu_over_first_cpu": ("steady-state CPU / first sync CPU", "{:.2f}".format),
    "steady_cpu_us_per_number": ("steady-state CPU per number, µs", "{:.1f}".format),
    "wall_over_dlt": ("first sync wall / dlt's wall", "{:.2f}x".format),
}


def targets_table(report: Figures) -> str:
    lines = [f"targets (set for {DEFAULT_NUMBERS:,} numbers at 20 ms)"]
    for key, (label, shown) in _TARGET_LABELS.items():
        t = report["targets"].get(key)
        if t is None:
            continue
        verdict = "met" if t["met"] else f"missed by {t['over_by']:.0%}"
        lines.append(
            f"  {label:<38}{shown(t['value']):>10}   "
            f"{t['comparison']} {shown(t['limit']):<8}{verdict}"
        )
    return "\n".join(lines)
