"""Run a command and write its wall time and ``wait4`` figures as JSON to a file.

    python -I -S bench/_launch.py REPORT COMMAND [ARG ...]

Linux carries a process's peak RSS over fork and exec, so a command started straight from the
benchmark harness (which holds the servers and their data) would report at least the harness's
size. Started from this small process instead, its peak RSS is its own. Standard library only,
and few imports, so that this process stays smaller than anything it measures.
"""

import json
import os
import sys
import time


def main(report: str, command: list[str]) -> int:
    started = time.perf_counter()
    pid = os.posix_spawnp(command[0], command, os.environ)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    figures = {
        "returncode": os.waitstatus_to_exitcode(status),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        # Kilobytes on Linux.
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
    with open(report, "w", encoding="utf-8") as out:
        json.dump(figures, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
