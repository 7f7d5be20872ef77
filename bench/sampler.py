"""The memory of ``syncbot serve``'s process tree, phase by phase, for ``bench/web_sync.py``.

``Sampler`` runs ``bench/_sample.py`` on the tree in a process of its own, reads its samples
back, and sums them over each phase the benchmark marks (serve's own peak reset at each start).
Apart from ``web_sync.py``, which drives serve and the syncs, because reading ``/proc`` and the
samples is the same whatever the phases do.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._launch import status_kb, tree_rss_kb
from bench._proc import ROOT, clean_env

SAMPLE_SECONDS = 0.05

Figures = dict[str, Any]


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


@dataclass
class Phase:
    name: str
    started: float
    serve_start_kb: int
    tree_start_kb: int


class Sampler:
    """``bench/_sample.py`` on the tree of ``root``, in a process of its own, and the phases
    its samples fall in."""

    def __init__(self, root: int, folder: Path) -> None:
        self.root = root
        self.peak_resets = True
        # (time.monotonic(), [[pid, depth, label, VmRSS kB, VmHWM kB], ...]), oldest first.
        self.samples: list[tuple[float, list[list[Any]]]] = []
        self._path = folder / "samples.jsonl"
        self._phase: Phase | None = None
        self._partial = ""

    def __enter__(self) -> Sampler:
        with self._path.open("w", encoding="utf-8") as out:
            self._process = subprocess.Popen(  # noqa: S603 - our own module
                [sys.executable, "-m", "bench._sample", str(self.root), str(SAMPLE_SECONDS)],
                stdout=out,
                cwd=ROOT,
                env=clean_env(),
            )
        self._reader = self._path.open(encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(10)
        self._reader.close()

    def alive(self) -> bool:
        # A process that has exited (a zombie until reaped) has no VmRSS line.
        return status_kb(self.root, "VmRSS")["VmRSS"] > 0

    def begin(self, name: str) -> None:
        self.peak_resets = reset_peak(self.root) and self.peak_resets
        serve_kb, tree_kb = status_kb(self.root, "VmRSS")["VmRSS"], tree_rss_kb(self.root)
        self._phase = Phase(name, time.monotonic(), serve_kb, tree_kb)

    def end(self, wall: float) -> Figures:
        """The phase's figures, ``wall`` its duration as the caller timed it."""
        phase, self._phase = self._phase, None
        assert phase is not None
        ended = time.monotonic()
        serve_hwm = status_kb(self.root, "VmHWM")["VmHWM"] if self.peak_resets else 0
        self._read_past(ended)
        window = [(t, procs) for t, procs in self.samples if phase.started <= t <= ended]
        sums = [sum(p[3] for p in procs) for _, procs in window]
        # Who held what when the sum peaked (labels summed: a sync and its worker apart).
        parts: dict[str, int] = {}
        if sums:
            for _, _, label, rss, _ in window[sums.index(max(sums))][1]:
                parts[label] = parts.get(label, 0) + rss
        serve = [p[3] for _, procs in window for p in procs if p[1] == 0]
        by_label: dict[str, int] = {}
        for _, procs in window:
            for _, depth, label, _, hwm in procs:
                if depth > 0:
                    by_label[label] = max(by_label.get(label, 0), hwm)
        times = [phase.started, *(t for t, _ in window), ended]
        return {
            "serve_before_mb": _mb(phase.serve_start_kb),
            "dyno_before_mb": _mb(phase.tree_start_kb),
            "serve_peak_mb": _mb(max([serve_hwm, *serve])),
            "sync_child_peak_mb": _mb(by_label.get("sync", 0)),
            "others_peak_mb": {k: _mb(v) for k, v in sorted(by_label.items()) if k != "sync"},
            "dyno_peak_mb": _mb(max(sums, default=0)),
            "at_dyno_peak_mb": {k: _mb(v) for k, v in sorted(parts.items())},
            "wall_s": round(wall, 2),
            "samples": len(window),
            "max_sample_gap_ms": round(max(b - a for a, b in itertools.pairwise(times)) * 1000),
        }

    def _read_past(self, moment: float) -> None:
        """Read the samples written so far, waiting (a little) for one taken after ``moment``."""
        deadline = time.monotonic() + 5
        while True:
            text = self._partial + self._reader.read()
            *lines, self._partial = text.split("\n")
            for line in lines:
                sample = json.loads(line)
                self.samples.append((sample["t"], sample["procs"]))
            done = self.samples and self.samples[-1][0] > moment
            if done or self._process.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.01)
