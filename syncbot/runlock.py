"""A run lock held for too long: when that is, and how to say it.

A sync stops listing at ``SYNC_DEADLINE_SECONDS``; its commit and sheet write come after, so a
lock is taken for stuck only past the deadline plus ``GRACE_SECONDS``. Until then every sync
that finds the lock taken is rightly skipped; after, they would be skipped for ever without
anyone noticing, so ``status``, ``/healthz``, ``doctor`` and those syncs say it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from syncbot.models import ago, iso

GRACE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class HeldLock:
    """The run lock as found held by a sync."""

    since: dt.datetime
    deadline_seconds: int

    def age(self, now: dt.datetime) -> dt.timedelta:
        return max(now - self.since, dt.timedelta(0))

    def stuck(self, now: dt.datetime) -> bool:
        limit = dt.timedelta(seconds=self.deadline_seconds + GRACE_SECONDS)
        return self.age(now) > limit

    def describe(self, now: dt.datetime) -> str:
        """What to tell someone about it: a running sync, or a stuck one and what to do."""
        age = ago(self.age(now))
        held = f"A sync has held the run lock for {age} (since {iso(self.since)})"
        if not self.stuck(now):
            return f"{held}: it is still running."
        return (
            f"{held}, longer than SYNC_DEADLINE_SECONDS ({self.deadline_seconds} s) plus "
            f"{GRACE_SECONDS // 60} min: the process holding it is likely stuck, and every sync "
            "is skipped until it ends. Restart it (e.g. `heroku ps:restart worker`)."
        )

    def to_dict(self, now: dt.datetime) -> dict[str, object]:
        return {
            "held_since": iso(self.since),
            "age_seconds": int(self.age(now).total_seconds()),
            "stuck": self.stuck(now),
        }


def held_lock(since: dt.datetime | None, *, deadline_seconds: int) -> HeldLock | None:
    return None if since is None else HeldLock(since, deadline_seconds)
