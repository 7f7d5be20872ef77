"""Runs of the store as run_sync makes them, checked against the Python reference."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from typing import Any

from syncbot.models import Change, PhoneNumber, RunResult, SourceResult
from syncbot.store.sql import SqlStore
from tests.oracle import Reconciled, reconcile

T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(hours=1)
T2 = T0 + dt.timedelta(hours=2)


def by_key(c: Change) -> tuple[str, str, str, str]:
    """One order for changes, which the store and the reference record in different ones."""
    return (c.kind.value, c.source, c.account, c.number_id)


def number(
    number_id: str,
    *,
    source: str = "orgapi",
    account: str = "default",
    agent: str | None = "agent_1",
    **fields: Any,
) -> PhoneNumber:
    """A number as a provider listing gives it; ``fields`` override any attribute."""
    text = fields.pop("phone_number", f"+1415555{zlib.crc32(number_id.encode()) % 10_000:04d}")
    listed = PhoneNumber(
        source=source,
        account=account,
        number_id=number_id,
        phone_number=text,
        valid=True,
        country_code="US",
        number_type="local",
        carrier="twilio",
        status="unassigned" if agent is None else "assigned",
        provider_status="active",
        agent_id=agent,
        label=None,
        inbound=True,
        outbound=True,
        created_at=dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    )
    return dataclasses.replace(listed, **fields)


def digest(n: PhoneNumber) -> int:
    """A stand-in for the digest of the raw record ``n`` came from."""
    return zlib.crc32(repr(n).encode())


def stage(store: SqlStore, listed: dict[str, list[PhoneNumber]]) -> None:
    """Stage listings as the fetch loop does: numbers unchanged since they were stored by
    their id and digest alone, the others whole."""
    staging = store.staging()
    try:
        for numbers in listed.values():
            for n in numbers:
                if staging.known(digest(n)):
                    staging.keep(n.source, n.account, n.number_id, digest(n))
                else:
                    staging.add(n, digest(n))
        staging.settle()
    finally:
        staging.close()


def run(
    store: SqlStore,
    listed: dict[str, list[PhoneNumber]],
    *,
    at: dt.datetime,
    failed: dict[str, str] | None = None,
    partial: dict[str, list[PhoneNumber]] | None = None,
    dry_run: bool = False,
    incomplete: frozenset[str] = frozenset(),
) -> tuple[int, Reconciled, RunResult]:
    """Stage and commit one run the way run_sync does; also returns what the Python
    reference (tests/oracle.py) makes of it. ``partial``: what failed sources staged before
    they failed; ``incomplete``: listings not shown complete."""
    failed = failed or {}
    reconciled = reconcile(
        store.load_numbers(),
        listed,
        failed=failed,
        known_states=store.source_states(),
        now=at,
        incomplete=incomplete,
    )
    stage(store, {**listed, **(partial or {})})
    result = RunResult(started_at=at, finished_at=at + dt.timedelta(seconds=7))
    for key, numbers in listed.items():
        source, account = key.split("/")
        result.sources[key] = SourceResult(
            source, account, count=len(numbers), pages=1, complete=key not in incomplete
        )
    for key, error in failed.items():
        source, account = key.split("/")
        result.sources[key] = SourceResult(source, account, status="failed", error=error)
    result.settle()
    run_id = store.commit_run(result, dry_run=dry_run)
    return (run_id or 0), reconciled, result
