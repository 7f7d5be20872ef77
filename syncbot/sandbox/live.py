"""Live providers: records that change while a listing is in progress.

Teams buy, release and reassign numbers all day, and a sync pages through a listing that
moves under it. ``Live`` schedules such changes on request numbers drawn from its seed, so a
test that found a bad interleaving finds it again.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

ChangeKind = Literal["flip", "release", "purchase", "rekey"]


@dataclass(slots=True)
class Live:
    """Changes a sandbox provider makes to its records while it is listed.

    Each change happens just before the request whose number (1-based, counted like faults)
    the seed drew for it, among requests ``2`` to ``within``.
    """

    seed: int = 0
    # Records whose status flips: orgapi free <-> assigned (they move between the status
    # chains); DialNexa agent <-> no agent.
    flips: int = 0
    # Records deleted near the head of the list (the later ones move back a place).
    releases: int = 0
    # New records inserted at the head (the later ones move on a place).
    purchases: int = 0
    # Every record's id is replaced by a new one, once: a provider migration.
    rekey: bool = False
    within: int = 12
    # Records near the head that releases pick from.
    head: int = 10


@dataclass(frozen=True, slots=True)
class LiveChange:
    """A change made: its kind, the record's id (the new one for a purchase), its phone text
    and the request number it came before."""

    kind: ChangeKind
    record_id: str
    phone_number: str
    request: int


@dataclass(slots=True)
class LiveState:
    """Where a provider's ``Live`` schedule stands."""

    live: Live
    schedule: dict[int, list[ChangeKind]] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    purchased: int = 0
    rekeyed: bool = False

    @classmethod
    def start(cls, live: Live, name: str) -> LiveState:
        rng = random.Random(f"{live.seed}/{name}")
        counts: tuple[tuple[ChangeKind, int], ...] = (
            ("flip", live.flips),
            ("release", live.releases),
            ("purchase", live.purchases),
            ("rekey", int(live.rekey)),
        )
        kinds = [kind for kind, count in counts for _ in range(count)]
        schedule: dict[int, list[ChangeKind]] = {}
        for kind in kinds:
            schedule.setdefault(rng.randint(2, max(2, live.within)), []).append(kind)
        return cls(live, schedule, rng)


def new_id(old: str, seed: int) -> str:
    """The id a re-key gives a record: unlike any other, the same for the same seed."""
    digest = hashlib.blake2b(f"{seed}/{old}".encode(), digest_size=7).hexdigest()
    return f"pn_{digest}" if old.startswith("pn_") else f"{digest[:8]}-rk{digest[8:]}"


def apply(
    state: LiveState,
    request: int,
    records: list[dict[str, Any]],
    *,
    id_field: str,
    inserted: Callable[[int], list[dict[str, Any]]],
) -> list[LiveChange]:
    """Make the changes scheduled before ``request`` to ``records``, in place."""
    made: list[LiveChange] = []
    rng = state.rng
    for kind in state.schedule.pop(request, []):
        if kind == "purchase":
            state.purchased += 1
            record = inserted(state.purchased)[-1]
            records.insert(0, record)
        elif not records:
            continue
        elif kind == "release":
            record = records.pop(rng.randrange(min(len(records), state.live.head)))
        elif kind == "flip":
            record = records[rng.randrange(len(records))]
            _flip(record, rng)
        else:
            if state.rekeyed:
                continue
            state.rekeyed = True
            for each in records:
                each[id_field] = new_id(str(each[id_field]), state.live.seed)
            made.append(LiveChange(kind, "*", "*", request))
            continue
        made.append(LiveChange(kind, str(record[id_field]), str(record["phone_number"]), request))
    return made


def _flip(record: dict[str, Any], rng: random.Random) -> None:
    agent = f"agent_live_{rng.randrange(1000)}"
    if record.get("status") in ("free", "assigned"):
        freed = record["status"] == "assigned"
        record["status"] = "free" if freed else "assigned"
        record["assigned_agent_id"] = None if freed else agent
    elif "inbound_agent_id" in record:
        record["inbound_agent_id"] = None if record.get("inbound_agent_id") else agent
        record.pop("agent_id", None)
    else:
        record["agent_id"] = None if record.get("agent_id") else agent
