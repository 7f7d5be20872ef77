"""The query engine in a process of its own: its load time, answer times and peak RSS.

    python -m bench.slack_engines DATABASE_URL QUERIES_JSON REQUESTS

Loads the latest sync with whichever ``syncbot`` package comes first on ``sys.path``
(``slack_bench.py`` also runs a copy of this file beside an earlier revision's package, taken
from git, as the baseline), answers each query ``REQUESTS`` times and renders the Slack
message as ``/numbers`` does. Prints one JSON object. The Slack app's modules are imported as
``syncbot serve`` imports them, so the peak RSS compares with the app's. Standard library and
the interfaces every revision shares only.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import syncbot.slack.app  # noqa: F401 - the app's imports, for a comparable peak RSS
from syncbot.models import utc_now
from syncbot.query import answer, load_snapshot, parse
from syncbot.slack.blocks import answer_message
from syncbot.store import open_store


def peak_rss_mb() -> float:
    """This process's peak resident set (``VmHWM``), which exec resets, unlike ``ru_maxrss``."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(url: str, queries: list[str], requests: int) -> None:
    store = open_store(url)
    try:
        started = time.perf_counter()
        snapshot = load_snapshot(store)
        loaded = time.perf_counter() - started
    finally:
        store.close()
    took: dict[str, list[float]] = {}
    for text in queries:
        query = parse(text)
        times = took.setdefault(text, [])
        for _ in range(requests):
            started = time.perf_counter()
            now = utc_now()
            answer_message(answer(query, snapshot, now=now, interval_seconds=900), now=now)
            times.append((time.perf_counter() - started) * 1000)
    print(json.dumps({"load_seconds": loaded, "peak_rss_mb": peak_rss_mb(), "ms": took}))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]))
