"""The store's SQL diff against the Python reference (tests/oracle.py) on randomized histories:
adds, removes, reassignments, re-keys, listings not shown complete, failed sources, sources that
go and come back, on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncbot.models import PhoneNumber
from syncbot.store.sql import SqlStore
from tests import pg
from tests.runs import T0, by_key, number, run

SOURCES = ("orgapi/default", "orgapi/east", "dialnexa/default")
AGENTS = (None, None, "a1", "a2", "a3")
STEPS = 8


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with pg.migrated_store(request.param, tmp_path) as opened:
        yield opened


def _listed(rng: random.Random, key: str, number_id: str) -> PhoneNumber:
    source, account = key.split("/")
    return number(
        number_id,
        source=source,
        account=account,
        agent=rng.choice(AGENTS),
        label=rng.choice((None, "front desk", "sales")),
    )


def _evolve(rng: random.Random, key: str, truth: dict[str, PhoneNumber]) -> None:
    """What happened at a provider between two syncs; a re-key gives a number a new id."""
    for number_id in list(truth):
        roll = rng.random()
        if roll < 0.15:
            del truth[number_id]
        elif roll < 0.4:
            truth[number_id] = _listed(rng, key, number_id)
        elif roll < 0.45:
            new_id = f"r{rng.randrange(10**6)}"
            truth[new_id] = dataclasses.replace(truth.pop(number_id), number_id=new_id)
    for _ in range(rng.randrange(4)):
        number_id = f"n{rng.randrange(40)}"
        truth.setdefault(number_id, _listed(rng, key, number_id))


@pytest.mark.parametrize("seed", range(6))
def test_the_sql_diff_matches_the_python_reconcile_on_random_histories(
    store: SqlStore, seed: int
) -> None:
    rng = random.Random(seed)
    truths: dict[str, dict[str, PhoneNumber]] = {key: {} for key in SOURCES}
    for step in range(STEPS):
        at = T0 + dt.timedelta(hours=step)
        listed, failed, partial, incomplete = {}, {}, {}, set()
        for key, truth in truths.items():
            _evolve(rng, key, truth)
            outcome = rng.choices(("ok", "incomplete", "failed", "absent"), weights=(5, 2, 2, 1))[0]
            if outcome in {"ok", "incomplete"}:
                listed[key] = list(truth.values())
                rng.shuffle(listed[key])
            if outcome == "incomplete":
                # Some numbers the listing missed: they stay, as they were.
                incomplete.add(key)
                listed[key] = listed[key][: len(listed[key]) * 3 // 4]
            elif outcome == "failed":
                failed[key] = f"HTTP 503 at step {step}"
                partial[key] = rng.sample(list(truth.values()), len(truth) // 2)
        dry_run = rng.random() < 0.15
        before = store.load_numbers(), store.source_states(), store.recent_runs(100)
        run_id, expected, result = run(
            store,
            listed,
            failed=failed,
            partial=partial,
            at=at,
            dry_run=dry_run,
            incomplete=frozenset(incomplete),
        )
        assert result.total == len(expected.inventory)
        assert result.unassigned == sum(n.unassigned for n in expected.inventory)
        assert result.changes == {
            kind: sum(c.kind.value == kind for c in expected.changes) for kind in result.changes
        }
        if dry_run:
            assert (store.load_numbers(), store.source_states(), store.recent_runs(100)) == before
            continue
        assert store.load_numbers() == expected.inventory
        assert sorted(store.changes(run_id), key=by_key) == sorted(
            (dataclasses.replace(c, run_id=run_id) for c in expected.changes), key=by_key
        )
        states = {s.key: s for s in store.source_states()}
        for state in expected.states:
            assert states[state.key] == state
