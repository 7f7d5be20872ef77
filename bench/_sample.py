"""Sample a process tree's memory until its root is gone, one JSON line per sample on stdout.

    python -m bench._sample PID [SECONDS]

Each line: ``{"t": <time.monotonic()>, "procs": [[pid, depth, label, VmRSS kB, VmHWM kB], ...]}``,
the root first at depth 0. A process of its own, so that the samples keep their pace while the
benchmark's process (which serves the fake APIs, and holds the GIL through a large JSON answer
for seconds) is busy; ``time.monotonic`` is the system's clock, so the benchmark can place the
samples among its own timestamps.
"""

from __future__ import annotations

import json
import sys
import time

from bench._launch import children, status_kb

DEFAULT_SECONDS = 0.05


def label(pid: int, depth: int) -> str:
    """What a process of ``syncbot serve``'s tree is: by its command line, else its depth."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        command = ""
    if "resource_tracker" in command:
        return "resource tracker"
    return {0: "serve", 1: "sync"}.get(depth, "sync worker")


def sample(root: int, labels: dict[int, str]) -> list[tuple[int, int, str, int, int]]:
    """Every live process of the tree: pid, depth, label, VmRSS and VmHWM in kB."""
    found, todo = [], [(root, 0)]
    while todo:
        pid, depth = todo.pop()
        kb = status_kb(pid, "VmRSS", "VmHWM")
        # A process that has exited (a zombie until reaped) has no VmRSS.
        if kb["VmRSS"] == 0:
            continue
        if pid not in labels:
            labels[pid] = label(pid, depth)
        found.append((pid, depth, labels[pid], kb["VmRSS"], kb["VmHWM"]))
        todo += [(child, depth + 1) for child in children(pid)]
    return found


def main(root: int, seconds: float) -> int:
    labels: dict[int, str] = {}
    while True:
        procs = sample(root, labels)
        if not procs or procs[0][0] != root:
            return 0
        print(json.dumps({"t": time.monotonic(), "procs": procs}), flush=True)
        time.sleep(seconds)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_SECONDS))
