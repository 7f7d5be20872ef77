"""What ``GET /healthz`` answers: the latest sync's age, each source's health, the sheet's and,
in Socket Mode, whether Slack is connected; ``degraded`` with its reasons when any is not well."""

from __future__ import annotations

import datetime as dt
from typing import Any

from syncbot.models import ago, iso, sheet_health
from syncbot.query import Snapshot
from syncbot.runlock import HeldLock
from syncbot.settings import Settings


def health_report(
    snapshot: Snapshot | None,
    *,
    settings: Settings,
    now: dt.datetime,
    lock: HeldLock | None,
    socket: dict[str, Any],
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and body: 200 with the health of everything, 503 until there is a sync.

    ``socket`` holds ``{"socket_mode": {"connected": bool}}`` in Socket Mode, else nothing.
    """
    if snapshot is None:
        return 503, {"status": "starting", "detail": "loading the latest sync", **socket}
    run = snapshot.run
    if run is None:
        return 503, {
            "status": "no_sync",
            "detail": "no sync has run yet: run `syncbot sync`",
            **socket,
        }
    interval = settings.sync_interval_seconds
    age = int((now - run.finished_at).total_seconds())
    late = age > 2 * interval
    sheet = sheet_health(snapshot.sheet, configured=settings.sheet_configured)
    # Source and sheet errors are left out: this endpoint is public (an error may name the
    # service account or a provider's account), and `/numbers status` shows them.
    reasons = [
        f"{state.key} is {'failing' if state.status == 'failed' else 'stale'}"
        for state in snapshot.states
        if state.stale
    ]
    if sheet["status"] == "failing":
        reasons.append("the sheet is failing")
    if late:
        reasons.append(f"the latest sync finished {ago(dt.timedelta(seconds=age))} ago")
    if lock is not None and lock.stuck(now):
        reasons.append("the run lock is stuck")
    if socket and not socket["socket_mode"]["connected"]:
        reasons.append("Socket Mode is not connected to Slack")
    return 200, {
        "status": "degraded" if reasons else "ok",
        "reasons": reasons,
        "latest_sync": {
            "run_id": run.run_id,
            "status": run.status,
            "finished_at": iso(run.finished_at),
            "age_seconds": age,
            "late": late,
        },
        "interval_seconds": interval,
        "run_lock": None if lock is None else lock.to_dict(now),
        "sources": {
            state.key: {
                "status": state.status,
                "stale": state.stale,
                "last_ok_at": iso(state.last_ok_at),
                "last_attempt_at": iso(state.last_attempt_at),
            }
            for state in snapshot.states
        },
        "sheet": {
            "status": sheet["status"],
            "last_ok_at": sheet["last_ok_at"],
            "last_attempt_at": iso(snapshot.sheet.last_attempt_at) if snapshot.sheet else None,
        },
        **socket,
    }
