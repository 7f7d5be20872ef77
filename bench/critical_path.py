"""The lower bound of a sync's wall time (its network critical path), and where the wall time
went instead.

Summed from the servers' own durations of the requests syncbot made, not from the nominal
latency: on a shared machine a 20 ms sleep sometimes takes far longer, and that time is on the
path whoever the client is.

- orgapi: the pages of one cursor chain (one ``status`` filter, or none) come one after
  another; the chains run side by side, so the longest counts.
- DialNexa: page 1 gives the total, then every other page can come at once: page 1 plus the
  slowest of the rest.
- The providers are listed side by side, then the Sheets calls (the token grant first) follow
  one after another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.servers import Recorded, SheetsTiming
from syncbot.sandbox.faults import RecordedRequest


@dataclass(frozen=True, slots=True)
class CriticalPath:
    orgapi: float
    dialnexa: float
    sheets: float

    @property
    def total(self) -> float:
        return max(self.orgapi, self.dialnexa) + self.sheets

    def to_dict(self) -> dict[str, float]:
        return {
            "orgapi_s": round(self.orgapi, 3),
            "dialnexa_s": round(self.dialnexa, 3),
            "sheets_s": round(self.sheets, 3),
        }


def orgapi_path(requests: Sequence[RecordedRequest]) -> float:
    chains: defaultdict[str | None, float] = defaultdict(float)
    for request in requests:
        chains[request.query.get("status")] += request.duration
    return max(chains.values(), default=0.0)


def dialnexa_path(requests: Sequence[RecordedRequest]) -> float:
    # Retries of page 1 are on the path too: nothing else can start before it answers.
    first = sum(r.duration for r in requests if r.query.get("page", "1") == "1")
    rest = (r.duration for r in requests if r.query.get("page", "1") != "1")
    return first + max(rest, default=0.0)


def sheets_path(timings: Sequence[SheetsTiming]) -> float:
    return sum(t.duration for t in timings)


def critical_path(recorded: Recorded) -> CriticalPath:
    return CriticalPath(
        orgapi=orgapi_path(recorded.orgapi),
        dialnexa=dialnexa_path(recorded.dialnexa),
        sheets=sheets_path(recorded.sheets),
    )


@dataclass(frozen=True, slots=True)
class Timeline:
    """A sync's wall time cut at its first and last provider requests and its first and last
    Sheets requests, all on the servers' clock (``time.monotonic`` in this process)."""

    startup: float
    listing: float
    after_listing: float
    sheets: float
    exit: float

    def to_dict(self) -> dict[str, float]:
        return {
            "startup_s": round(self.startup, 3),
            "listing_s": round(self.listing, 3),
            "after_listing_s": round(self.after_listing, 3),
            "sheets_s": round(self.sheets, 3),
            "exit_s": round(self.exit, 3),
        }


def timeline(recorded: Recorded, *, started: float, finished: float) -> Timeline:
    """Phases of a process that ran from ``started`` to ``finished``: start-up (imports, the
    store), listing, after listing (the diff and commit, planning the sheet), the Sheets calls,
    and exit."""
    providers = [*recorded.orgapi, *recorded.dialnexa]
    first = min((r.started for r in providers), default=started)
    listed = max((r.started + r.duration for r in providers), default=first)
    sheets_start = min((t.started for t in recorded.sheets), default=listed)
    sheets_end = max((t.started + t.duration for t in recorded.sheets), default=listed)
    return Timeline(
        startup=first - started,
        listing=listed - first,
        after_listing=sheets_start - listed,
        sheets=sheets_end - sheets_start,
        exit=finished - sheets_end,
    )
