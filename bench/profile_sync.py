"""Run a ``syncbot`` command under cProfile in every thread, and write the merged profile.

    python -m bench.profile_sync OUT -- sync --json

Writes ``OUT.prof`` (for ``python -m pstats`` or snakeviz) and ``OUT.txt``: the functions
by their own time and by cumulative time. A sync lists on the event loop while
``asyncio.to_thread`` reads the store, commits it and writes the sheet in worker threads, which
a profiler enabled in the main thread alone would miss; so each thread gets a profiler of its
own and the profiles are merged. cProfile's own cost inflates code with many small calls, so
read the shares, not the absolute seconds.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
from pathlib import Path

from syncbot.cli import main as syncbot_main

TOP = 40


def main(out: Path, argv: list[str]) -> int:
    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    run = threading.Thread.run

    def profiled_run(thread: threading.Thread) -> None:
        profile = cProfile.Profile()
        with lock:
            profiles.append(profile)
        profile.runcall(run, thread)

    # From 3.12 cProfile listens through sys.monitoring, which sees every thread and refuses a
    # second profiler while one is on: the main thread's profile is the whole process's there.
    per_thread = sys.version_info < (3, 12)
    if per_thread:
        threading.Thread.run = profiled_run  # type: ignore[method-assign,assignment]
    main_profile = cProfile.Profile()
    try:
        code = main_profile.runcall(syncbot_main, argv)
    finally:
        if per_thread:
            threading.Thread.run = run  # type: ignore[method-assign]
    report = io.StringIO()
    stats = pstats.Stats(main_profile, stream=report)
    with lock:
        for profile in profiles:
            stats.add(profile)
    stats.dump_stats(out.with_suffix(".prof"))
    stats.sort_stats(pstats.SortKey.TIME).print_stats(TOP)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(TOP)
    out.with_suffix(".txt").write_text(report.getvalue(), encoding="utf-8")
    return code


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] != "--":
        sys.exit(__doc__)
    sys.exit(main(Path(sys.argv[1]), sys.argv[3:]))
