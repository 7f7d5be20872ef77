"""Run a command and write its wall time, CPU time and peak RSS as JSON to a file.

    python -I -S bench/_launch.py REPORT COMMAND [ARG ...]

Linux carries a process's peak RSS over fork and exec, so a command started straight from the
benchmark harness (which holds the servers and their data) would report at least the harness's
size. Started from this small process instead, its peak RSS is its own. Standard library only,
and few imports, so that this process stays smaller than anything it measures.

``wait4`` gives the largest single process of the tree, but a dyno's memory limit counts the
whole tree (a sync normalizes in a worker process), so the tree's resident sets are also summed
every few milliseconds while it runs, and the larger of the two figures is the peak.

``children``, ``status_kb`` and ``tree_rss_kb`` serve the other benchmarks too
(``bench/web_sync.py`` samples a running ``syncbot serve`` and its children with them).
"""

import json
import os
import sys
import time

SAMPLE_SECONDS = 0.01


def children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (of all its threads); none once it is gone."""
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


def status_kb(pid: int, *fields: str) -> dict[str, int]:
    """``fields`` of ``/proc/<pid>/status`` in kB (``VmRSS``, ``VmHWM``, ...): 0 for each once
    the process is gone."""
    found = dict.fromkeys(fields, 0)
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name in found:
                    found[name] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return found


def tree_rss_kb(root: int) -> int:
    """The resident sets of ``root`` and all its descendants, summed."""
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += status_kb(pid, "VmRSS")["VmRSS"]
        todo += children(pid)
    return total


def main(report: str, command: list[str]) -> int:
    started = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    tree_peak_kb = 0
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        tree_peak_kb = max(tree_peak_kb, tree_rss_kb(pid))
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
