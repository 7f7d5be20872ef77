"""The fault campaign: broken and hostile provider answers, over real sockets.

Each answer comes from the sandbox providers; whatever they send, a sync never wipes an
account, fails only the source that misbehaves, and ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
from pathlib import Path

import pytest
from aiohttp import web

from syncbot.providers import DialnexaProvider
from syncbot.sandbox._server import serve
from syncbot.sandbox.faults import Fault
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions
from tests.conftest import FAST
from tests.procs import clean_env, syncbot
from tests.test_sync import sync


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


# --- item 3: credentials never follow a redirect to another host ---------------------------


async def test_a_redirect_to_another_origin_is_refused_and_sends_it_no_key(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    seen: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"success": True, "data": []})

    elsewhere = web.Application()
    elsewhere.router.add_get("/{tail:.*}", record)
    # A redirect within the API's origin (relative, as servers often send them) is followed.
    sandbox.dialnexa.options.faults = {1: Fault.redirect("/v1/organization-phone-numbers?page=1")}
    async with serve(elsewhere) as other:
        sandbox.orgapi.options.always = Fault.redirect(f"{other.url}/steal?x=1")
        result = await sync(sandbox, sqlite_store)
    orgapi = result.sources["orgapi/default"]
    assert orgapi.status == "failed"
    assert f"redirected to {other.url}/steal, another origin" in (orgapi.error or "")
    assert seen == []
    assert result.sources["dialnexa/default"].status == "ok"
    assert result.sources["dialnexa/default"].count == 20


async def test_an_error_shows_the_providers_json_message_cut_short_and_no_other_text(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.orgapi.options.always = Fault.status(400, message="bad filter \x1b[2J" + "y" * 500)
    sandbox.dialnexa.options.always = Fault.huge_body(size=4096, code=404)
    result = await sync(sandbox, sqlite_store)
    orgapi = result.sources["orgapi/default"].error or ""
    assert orgapi.endswith(": bad filter [2J" + "y" * 146 + "...")
    dialnexa = result.sources["dialnexa/default"].error or ""
    assert dialnexa.endswith("/v1/organization-phone-numbers")
    assert "xxx" not in dialnexa


# --- item 5: a page count of any size costs nothing up front -------------------------------


async def test_a_claimed_page_count_past_the_cap_fails_at_once(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.claimed_total_pages = 10**9
    result = await sync(sandbox, sqlite_store)
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "failed"
    assert "claims 1,000,000,000 pages, more than the 10,000" in (dialnexa.error or "")
    assert len(sandbox.dialnexa.requests) == 1


async def test_pages_claimed_past_an_empty_page_are_never_asked_for(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.claimed_total_pages = 5_000
    result = await sync(sandbox, sqlite_store)
    assert result.sources["dialnexa/default"].count == 20
    # Pages 1-2 hold the numbers; page 3 is empty, and only requests already in flight follow.
    assert len(sandbox.dialnexa.requests) <= 3 + DialnexaProvider.concurrency


# --- item 6: what is read of an answer is capped --------------------------------------------

HUGE = 64 * 2**20


@pytest.mark.parametrize("code", [200, 500])
async def test_a_huge_answer_is_not_read_whole(
    sandbox: Sandbox, sqlite_store: SqliteStore, code: int
) -> None:
    sandbox.dialnexa.options.faults = {1: Fault.huge_body(size=HUGE, code=code)}
    result = await sync(sandbox, sqlite_store)
    dialnexa = result.sources["dialnexa/default"]
    if code == 200:
        assert dialnexa.status == "failed"
        assert "more than 8 MiB for one page" in (dialnexa.error or "")
    else:
        # An error page is read only as far as a JSON message could go, then retried.
        assert (dialnexa.status, dialnexa.retries) == ("ok", 1)
    # The client hung up long before the end; what was sent is the cap plus socket buffers.
    assert sandbox.dialnexa.streamed_bytes < HUGE / 2


# --- item 9: bad Retry-After values, and a deadline for the whole run -----------------------


@pytest.mark.parametrize("value", [math.nan, math.inf])
async def test_a_retry_after_that_is_not_a_finite_delay_is_ignored(
    sandbox: Sandbox, sqlite_store: SqliteStore, value: float
) -> None:
    sandbox.dialnexa.options.faults = {1: Fault.status(429, retry_after=value)}
    async with asyncio.timeout(20):
        result = await sync(sandbox, sqlite_store)
    assert result.sources["dialnexa/default"].status == "ok"
    assert result.sources["dialnexa/default"].retries == 1


async def test_a_provider_that_trickles_fails_at_the_deadline_and_the_lock_is_released(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await sync(sandbox, sqlite_store)
    sandbox.dialnexa.options.always = Fault.trickle(seconds=0.05)
    # Each request may take 30 s and is retried: only the run's deadline ends this.
    patient = SyncOptions(policy=dataclasses.replace(FAST, request_timeout=30.0))
    async with asyncio.timeout(20):
        result = await sync(sandbox, sqlite_store, patient, SYNC_DEADLINE_SECONDS=1)
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "failed"
    assert "not listed within SYNC_DEADLINE_SECONDS (1 s" in (dialnexa.error or "")
    assert result.sources["orgapi/default"].status == "ok"
    assert result.run_id == 2
    assert len([n for n in sqlite_store.load_numbers() if n.stale]) == 20
    with sqlite_store.run_lock() as acquired:
        assert acquired
