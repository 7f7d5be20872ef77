"""Run a command and write its wall time, CPU time and peak RSS as JSON to a file.

    python -I -S bench/_launch.py REPORT COMMAND [ARG ...]

Linux carries a process's peak RSS over fork and exec, so a command started straight from the
benchmark harness (which holds the servers and their data) would report at least the harness's
size. Started from this small process instead, its peak RSS is its own. Standard library only,
and few imports, so that this process stays smaller than anything it measures.

``wait4`` gives the largest single process of the tree, but a dyno's memory limit counts the
whole tree (a sync normalizes in a worker process), so the tree's resident sets are also summed
every few milliseconds while it runs, and the larger of the two figures is the peak.
"""

import json
import os
import sys
import time

SAMPLE_SECONDS = 0.01


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(child) for child in f.read().split()]
        except OSError:
            continue
    return found


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kb(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo += _children(pid)
    return total


def main(report: str, command: list[str]) -> int:
    started = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    tree_peak_kb = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        tree_peak_kb = max(tree_peak_kb, _tree_rss_kb(pid))
        time.sleep(SAMPLE_SECONDS)
    wall = time.perf_counter() - started
    figures = {
        "returncode": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        # Kilobytes on Linux.
        "peak_rss_mb": max(usage.ru_maxrss, tree_peak_kb) / 1024,
    }
    with open(report, "w", encoding="utf-8") as out:
        json.dump(figures, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
