"""The fault campaign: broken and hostile provider answers, over real sockets.

Each answer comes from the sandbox providers; whatever they send, a sync never wipes an
account, fails only the source that misbehaves, and ends.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncbot.models import RunResult
from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions, run_sync
from tests.conftest import FAST, settings_for
from tests.procs import clean_env, syncbot

SMALL_PAGES = SyncOptions(policy=FAST, page_size=10)


async def sync(
    sandbox: Sandbox, store: SqliteStore, options: SyncOptions = SMALL_PAGES, **extra: object
) -> RunResult:
    return await run_sync(settings_for(sandbox, **extra), store, options=options)


def dialnexa_rows(store: SqliteStore) -> dict[str, object]:
    """Each stored DialNexa number with the history a bad listing must not lose."""
    return {
        n.number_id: (n.phone_number, n.first_seen_at, n.unassigned_since)
        for n in store.load_numbers()
        if n.source == "dialnexa"
    }


# --- item 1: a bad listing never wipes an account ------------------------------------------


def empty_listing(sandbox: Sandbox) -> None:
    sandbox.dialnexa.options.always = Fault.empty()


def renamed_field(sandbox: Sandbox) -> None:
    sandbox.dialnexa.options.renamed_fields = {"phone_number": "phoneNumber"}


def most_records_invalid(sandbox: Sandbox) -> None:
    for record in sandbox.dialnexa.records[:15]:
        record["id"] = None


def two_thirds_gone(sandbox: Sandbox) -> None:
    del sandbox.dialnexa.records[:14]


@pytest.mark.parametrize(
    ("break_it", "says"),
    [
        (empty_listing, "the API listed no numbers, but 20 are stored"),
        (renamed_field, "20 of the 20 records it listed failed validation"),
        (most_records_invalid, "15 of the 20 records it listed failed validation"),
        (two_thirds_gone, "would remove 14 of its 20 numbers (70%)"),
    ],
    ids=["empty", "renamed-field", "most-invalid", "70%-gone"],
)
async def test_a_listing_that_would_wipe_an_account_fails_it_and_keeps_its_rows(
    sandbox: Sandbox, sqlite_store: SqliteStore, break_it: object, says: str
) -> None:
    await sync(sandbox, sqlite_store)
    before = dialnexa_rows(sqlite_store)
    assert callable(break_it)
    break_it(sandbox)
    result = await sync(sandbox, sqlite_store)
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "failed"
    error = dialnexa.error or ""
    assert says in error
    assert "--allow-removals" in error
    assert result.changes["removed"] == 0
    assert result.status == "partial"
    assert result.sources["orgapi/default"].status == "ok"
    assert dialnexa_rows(sqlite_store) == before
    assert all(n.stale for n in sqlite_store.load_numbers() if n.source == "dialnexa")
    states = {s.key: s for s in sqlite_store.source_states()}
    assert states["dialnexa/default"].error == error


async def test_the_allowed_share_is_a_setting_and_a_smaller_removal_goes_through(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await sync(sandbox, sqlite_store)
    del sandbox.dialnexa.records[:4]
    refused = await sync(sandbox, sqlite_store, SYNC_MAX_REMOVAL_PERCENT=10)
    assert refused.sources["dialnexa/default"].status == "failed"
    assert "SYNC_MAX_REMOVAL_PERCENT=10" in (refused.sources["dialnexa/default"].error or "")
    accepted = await sync(sandbox, sqlite_store)
    assert accepted.status == "ok"
    assert accepted.changes["removed"] == 4


async def test_allow_removals_accepts_a_real_mass_removal(tmp_path: Path) -> None:
    async with Sandbox(numbers=40) as sandbox:
        env = clean_env(tmp_path, **sandbox.env())
        code, _, err = await syncbot("sync", "--json", env=env, cwd=tmp_path)
        assert code == 0, err
        sandbox.dialnexa.records.clear()
        code, out, _ = await syncbot("sync", "--json", env=env, cwd=tmp_path)
        assert code == 1
        assert json.loads(out)["sources"]["dialnexa/default"]["status"] == "failed"
        code, out, err = await syncbot("sync", "--json", "--allow-removals", env=env, cwd=tmp_path)
    assert code == 0, err
    accepted = json.loads(out)
    assert accepted["changes"]["removed"] == 20
    assert accepted["sources"]["dialnexa/default"]["warnings"] == [
        "20 of 20 numbers removed, as --allow-removals let"
    ]


# --- item 2: one odd record stays one odd record -------------------------------------------


async def test_a_date_out_of_range_in_utc_is_one_invalid_record(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.records[2]["created_at"] = "0001-01-01T00:00:00+01:00"
    sandbox.orgapi.records[2]["created_at"] = "9999-12-31T23:30:00-01:00"
    result = await sync(sandbox, sqlite_store)
    assert result.status == "ok"
    for key in ("dialnexa/default", "orgapi/default"):
        assert (result.sources[key].count, result.sources[key].invalid) == (19, 1)
