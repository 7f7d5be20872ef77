"""A store holding a large inventory, written straight through the store's interface.

Syncing 500,000 numbers from the sandbox takes minutes of libphonenumber; a benchmark of what
reads the store needs the rows, not the sync. The sandbox's generated records are mapped to
records the way the normalizers would (without libphonenumber: the sandbox's numbers are all
valid, their country follows from the calling code) and committed as runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import zlib
from typing import Any

from syncbot.models import PhoneNumber, RunResult, SourceResult
from syncbot.sandbox.data import generate_dataset
from syncbot.store import Store

_CALLING_CODES = {"1": "US", "44": "GB", "49": "DE", "91": "IN", "61": "AU", "33": "FR", "81": "JP"}
_NON_DIGITS = re.compile(r"\D")
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _e164(text: str) -> tuple[str, str | None]:
    digits = _NON_DIGITS.sub("", text)
    if not text.startswith("+"):
        digits = "1" + digits  # the sandbox writes only North American numbers nationally
    country = next((c for code, c in _CALLING_CODES.items() if digits.startswith(code)), None)
    return f"+{digits}", country


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _orgapi(r: dict[str, Any]) -> PhoneNumber:
    phone, country = _e164(r["phone_number"])
    agent = r["assigned_agent_id"]
    free = r["status"] == "free" or not agent
    return PhoneNumber(
        "orgapi",
        "default",
        r["phone_number_id"],
        phone,
        True,
        country,
        "local",
        r["provider"],
        "unassigned" if free else "assigned",
        r["status"],
        agent,
        None,
        r["supports_inbound"],
        r["supports_outbound"],
        _time(r["created_at"]),
    )


def _dialnexa(r: dict[str, Any]) -> PhoneNumber:
    phone, country = _e164(r["phone_number"])
    agent = r.get("inbound_agent_id") or r.get("agent_id")
    return PhoneNumber(
        "dialnexa",
        "default",
        r["id"],
        phone,
        True,
        r.get("country_code") or country,
        r.get("type") or "local",
        r.get("provider"),
        "assigned" if agent else "unassigned",
        r.get("status"),
        agent,
        r.get("nickname") or r.get("label"),
        None,
        None,
        _time(r["created_at"]),
    )


def listings(numbers: int) -> dict[str, list[PhoneNumber]]:
    """The sandbox's dataset of ``numbers`` records, as the sync would list them."""
    data = generate_dataset(numbers=numbers)
    return {
        "orgapi/default": [_orgapi(r) for r in data.orgapi],
        "dialnexa/default": [_dialnexa(r) for r in data.dialnexa],
    }


def commit(store: Store, listed: dict[str, list[PhoneNumber]], *, at: dt.datetime) -> int:
    """Stage and store ``listed`` as one successful run at ``at``, as ``run_sync`` does;
    returns its run id."""
    staging = store.staging()
    try:
        for numbers in listed.values():
            for n in numbers:
                staging.add(n, zlib.crc32(repr(n).encode()))
        staging.settle()
    finally:
        staging.close()
    result = RunResult(started_at=at, finished_at=at)
    result.sources = {
        key: SourceResult(numbers[0].source, numbers[0].account, count=len(numbers), complete=True)
        for key, numbers in listed.items()
    }
    run_id = store.commit_run(result)
    assert run_id is not None
    return run_id


def churned(
    listed: dict[str, list[PhoneNumber]], *, share: float, seed: int = 1
) -> dict[str, list[PhoneNumber]]:
    """``listed`` a sync later: ``share`` of the numbers removed, as many added, and as many
    reassigned, unassigned or assigned."""
    rng = random.Random(seed)
    out: dict[str, list[PhoneNumber]] = {}
    for key, numbers in listed.items():
        kept = [n for n in numbers if rng.random() >= share]
        added = [
            dataclasses.replace(
                n, number_id=f"{n.number_id}-new", phone_number=n.phone_number + "9"
            )
            for n in rng.sample(numbers, len(numbers) - len(kept))
        ]
        moved = []
        for n in kept:
            if rng.random() >= share:
                moved.append(n)
            elif n.unassigned:
                moved.append(dataclasses.replace(n, status="assigned", agent_id="agent_new"))
            elif rng.random() < 0.5:
                moved.append(dataclasses.replace(n, status="unassigned", agent_id=None))
            else:
                moved.append(dataclasses.replace(n, agent_id="agent_moved"))
        out[key] = moved + added
    return out
