"""The sync core over real sockets: both providers' sandboxes, the fetch loop, SQLite."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
from pathlib import Path

import pytest

from syncbot.errors import ConfigError
from syncbot.http import RetryPolicy
from syncbot.models import RunResult
from syncbot.providers import OrgapiProvider
from syncbot.providers.listing import MAX_PENDING_PAGES, Workers
from syncbot.sandbox.faults import Fault, ProviderOptions
from syncbot.sandbox.providers import Sandbox
from syncbot.settings import settings_from
from syncbot.store import SqliteStore
from syncbot.sync import SyncOptions, run_sync
from tests.conftest import FAST, settings_for
from tests.procs import LIMIT

SMALL_PAGES = SyncOptions(policy=FAST, page_size=10)


async def sync(
    sandbox: Sandbox, store: SqliteStore, options: SyncOptions = SMALL_PAGES, **extra: object
) -> RunResult:
    return await run_sync(settings_for(sandbox, **extra), store, options=options)


async def test_first_sync_lists_every_number_of_both_sources_across_pages(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    result = await sync(sandbox, sqlite_store)
    assert result.status == "ok"
    assert result.exit_code == 0
    orgapi, dialnexa = result.sources["orgapi/default"], result.sources["dialnexa/default"]
    assert orgapi.count == len(sandbox.orgapi.records) == 20
    assert dialnexa.count == len(sandbox.dialnexa.records) == 20
    assert dialnexa.pages == 2
    # orgapi: a chain per status filter plus the one-record check of their totals.
    free = sum(r["status"] == "free" for r in sandbox.orgapi.records)
    assert orgapi.pages == math.ceil(free / 10) + math.ceil((20 - free) / 10) + 1
    assert result.total == 40
    assert result.changes["added"] == 40
    stored = sqlite_store.load_numbers()
    assert len(stored) == 40
    assert {n.source for n in stored} == {"orgapi", "dialnexa"}
    assert result.unassigned == sum(n.unassigned for n in stored) > 0
    # Both documented DialNexa shapes landed: labels from shape A, types from shape B.
    dialnexa_rows = [n for n in stored if n.source == "dialnexa"]
    assert any(n.provider_status == "active" for n in dialnexa_rows)
    assert any(n.number_type == "toll_free" for n in dialnexa_rows)
    assert all(n.first_seen_at == result.started_at for n in stored)


async def test_a_record_unchanged_since_the_last_sync_is_not_normalized_again(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await sync(sandbox, sqlite_store)
    # Rows that the next sync would rewrite if it normalized their records again.
    with sqlite_store.transaction(write=True) as cur:
        cur.execute("UPDATE numbers SET carrier = 'as stored'")
    changed = sandbox.orgapi.records[0]
    changed["provider"] = "telnyx"
    second = await sync(sandbox, sqlite_store)
    assert second.phones_parsed == 1
    assert set(second.changes.values()) == {0}
    carriers = {n.number_id: n.carrier for n in sqlite_store.load_numbers()}
    assert carriers.pop(changed["phone_number_id"]) == "telnyx"
    assert set(carriers.values()) == {"as stored"}


async def test_orgapi_last_page_with_has_more_but_null_cursor_ends_the_listing(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.orgapi.options.null_cursor_has_more = True
    result = await sync(sandbox, sqlite_store)
    assert result.sources["orgapi/default"].status == "ok"
    assert result.sources["orgapi/default"].count == 20


async def test_an_orgapi_status_outside_the_documented_ones_is_still_listed(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.orgapi.records[7]["status"] = "porting"
    result = await sync(sandbox, sqlite_store)
    orgapi = result.sources["orgapi/default"]
    assert orgapi.status == "ok"
    assert orgapi.count == 20
    assert orgapi.warnings == []
    stored = {n.number_id: n for n in sqlite_store.load_numbers()}
    assert stored[sandbox.orgapi.records[7]["phone_number_id"]].provider_status == "porting"


async def test_the_status_chains_cover_the_listing_without_a_second_full_pass(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    result = await sync(sandbox, sqlite_store)
    unfiltered = [r for r in sandbox.orgapi.requests if "status" not in r.query]
    # One record for the check that the chains add up, one for the total once they are done.
    assert [r.query.get("page_size") for r in unfiltered] == ["1", "1"]
    assert result.sources["orgapi/default"].duplicates == 0
    assert result.sources["orgapi/default"].passes == 1


async def test_a_repeating_cursor_fails_the_source_instead_of_looping(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.orgapi.options.repeat_cursor = True
    result = await sync(sandbox, sqlite_store)
    orgapi = result.sources["orgapi/default"]
    assert orgapi.status == "failed"
    assert "twice" in (orgapi.error or "")
    # Stopped at the first repeat: the three first requests and one follow-up per chain.
    assert orgapi.requests == len(sandbox.orgapi.requests) <= 6
    assert orgapi.count == 0
    assert result.sources["dialnexa/default"].status == "ok"
    assert result.status == "partial"
    assert result.exit_code == 1


async def test_dialnexa_fetches_the_remaining_pages_concurrently_after_page_one() -> None:
    async with Sandbox(numbers=400, dialnexa=ProviderOptions(latency_ms=30)) as sandbox:
        store = SqliteStore(":memory:")
        store.migrate()
        result = await sync(sandbox, store)
        # The listing's pages, not the one-record check of the total once they are in.
        pages = [r for r in sandbox.dialnexa.requests if r.query["limit"] == "10"]
        # Pages 2..N were all asked for before the first of them was answered.
        later = sorted(pages[1:], key=lambda r: r.started)
        first_answered = min(r.started + r.duration for r in later)
        overlapping = [r for r in later if r.started < first_answered]
        assert result.sources["dialnexa/default"].count == 200
        assert len(pages) == math.ceil(200 / 10)
        assert len(overlapping) > 1
        store.close()


@pytest.mark.parametrize("quirk", ["omit_total_pages", "omit_total"])
async def test_dialnexa_without_total_pages_or_total_still_lists_everything(
    sandbox: Sandbox, sqlite_store: SqliteStore, quirk: str
) -> None:
    setattr(sandbox.dialnexa.options, quirk, True)
    result = await sync(sandbox, sqlite_store)
    assert result.sources["dialnexa/default"].status == "ok"
    assert result.sources["dialnexa/default"].count == 20


async def test_an_empty_dialnexa_page_ends_the_listing_with_a_shortfall_warning(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.empty_page_at = 2
    sandbox.dialnexa.options.omit_total_pages = True
    result = await sync(sandbox, sqlite_store, SyncOptions(policy=FAST, page_size=10))
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "ok"
    assert dialnexa.count == 10
    assert any("reported 20" in w for w in dialnexa.warnings)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(429, retry_after=0.3),
        Fault.status(500),
        Fault.status(503),
        Fault.timeout(seconds=3),
        Fault.drop(),
    ],
    ids=["429", "500", "503", "timeout", "dropped"],
)
async def test_transient_faults_are_retried_and_the_sync_succeeds(
    sandbox: Sandbox, sqlite_store: SqliteStore, fault: Fault
) -> None:
    # aiohttp itself retries an idempotent request once after a dropped connection, so a
    # dropped connection has to happen twice in a row to reach syncbot's own retry.
    faults = {1: fault, 2: fault} if fault.kind == "drop" else {2: fault}
    sandbox.dialnexa.options.faults = faults
    policy = dataclasses.replace(FAST, request_timeout=0.5)
    result = await sync(sandbox, sqlite_store, SyncOptions(policy=policy, page_size=10))
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "ok", dialnexa.error
    assert dialnexa.count == 20
    assert dialnexa.retries >= 1


async def test_retry_after_is_honoured_before_the_next_attempt(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.faults = {1: Fault.status(429, retry_after=0.4)}
    result = await sync(sandbox, sqlite_store)
    assert result.sources["dialnexa/default"].status == "ok"
    first, second = sandbox.dialnexa.requests[0], sandbox.dialnexa.requests[1]
    assert first.status == 429
    assert second.started - first.started >= 0.4


async def test_permanent_5xx_fails_the_source_after_bounded_attempts(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.always = Fault.status(503)
    result = await sync(sandbox, sqlite_store)
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "failed"
    assert len(sandbox.dialnexa.requests) == FAST.attempts
    # The failed source still reports what it cost.
    assert (dialnexa.requests, dialnexa.retries) == (FAST.attempts, FAST.attempts - 1)
    assert "dialnexa/default" in (dialnexa.error or "")
    assert "503" in (dialnexa.error or "")
    assert result.sources["orgapi/default"].status == "ok"


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_credentials_fail_at_once_naming_account_and_permission(
    sandbox: Sandbox, sqlite_store: SqliteStore, status: int
) -> None:
    sandbox.orgapi.options.always = Fault.status(status)
    result = await sync(sandbox, sqlite_store)
    orgapi = result.sources["orgapi/default"]
    assert orgapi.status == "failed"
    # Only the first requests, sent side by side before any answer; none is retried.
    assert len(sandbox.orgapi.requests) <= OrgapiProvider.concurrency
    assert orgapi.retries == 0
    error = orgapi.error or ""
    assert "phone_numbers:read" in error
    assert "orgapi/default" in error
    assert "ORGAPI_API_KEY" in error
    assert "sandbox-orgapi-key" not in error


async def test_a_page_that_is_not_json_fails_the_source_without_quoting_the_page(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.faults = {1: Fault.bad_json()}
    result = await sync(sandbox, sqlite_store)
    error = result.sources["dialnexa/default"].error or ""
    assert result.sources["dialnexa/default"].status == "failed"
    assert "not JSON (text/html" in error
    # Whatever host answered, its page never reaches Slack, alerts or the sheet.
    assert "Bad Gateway" not in error


async def test_success_false_with_http_200_is_a_failure(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.orgapi.options.faults = {1: Fault.success_false(message="organization suspended")}
    result = await sync(sandbox, sqlite_store)
    orgapi = result.sources["orgapi/default"]
    assert orgapi.status == "failed"
    assert "organization suspended" in (orgapi.error or "")


async def test_one_bad_record_is_logged_and_the_rest_of_its_page_lands(
    sandbox: Sandbox, sqlite_store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    broken = sandbox.dialnexa.records[3]
    del broken["phone_number"]
    sandbox.orgapi.records[5]["phone_number_id"] = {"not": "an id"}
    with caplog.at_level(logging.WARNING):
        result = await sync(sandbox, sqlite_store)
    assert result.status == "ok"
    assert result.sources["dialnexa/default"].invalid == 1
    assert result.sources["dialnexa/default"].count == 19
    assert result.sources["orgapi/default"].invalid == 1
    assert result.sources["orgapi/default"].count == 19
    logged = [r for r in caplog.records if r.getMessage() == "invalid record"]
    fields = [getattr(r, "fields", {}) for r in logged]
    assert {
        "source": "dialnexa/default",
        "id": str(broken["id"]),
        "reason": "phone_number: Field required",
    } in fields


async def test_ids_seen_twice_while_pages_drift_are_kept_once(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    sandbox.dialnexa.options.drift_after_first_page = 3
    result = await sync(sandbox, sqlite_store)
    dialnexa = result.sources["dialnexa/default"]
    assert dialnexa.status == "ok"
    assert dialnexa.duplicates == 3
    numbers = [n for n in sqlite_store.load_numbers() if n.source == "dialnexa"]
    assert len(numbers) == len({n.number_id for n in numbers}) == dialnexa.count == 23
    # The total moved from 20 to 23 under the first listing: a second one, steady, proved it.
    assert (dialnexa.passes, dialnexa.complete, dialnexa.warnings) == (2, True, [])


async def test_a_source_down_on_the_second_run_keeps_its_rows_marked_stale(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await sync(sandbox, sqlite_store)
    sandbox.dialnexa.options.always = Fault.status(503)
    sandbox.orgapi.records.pop(0)
    result = await sync(sandbox, sqlite_store)
    assert result.status == "partial"
    assert result.exit_code == 1
    assert result.total == 39
    stored = sqlite_store.load_numbers()
    dialnexa = [n for n in stored if n.source == "dialnexa"]
    orgapi = [n for n in stored if n.source == "orgapi"]
    assert len(dialnexa) == 20
    assert all(n.stale for n in dialnexa)
    assert len(orgapi) == 19
    assert not any(n.stale for n in orgapi)
    assert result.changes["removed"] == 1
    states = {s.key: s for s in sqlite_store.source_states()}
    assert states["dialnexa/default"].status == "failed"
    assert "503" in (states["dialnexa/default"].error or "")
    # The stale rows still say when they were last seen: at the first run.
    assert {n.last_seen_at for n in dialnexa} == {states["dialnexa/default"].last_ok_at}


async def test_changes_between_runs_are_classified_and_history_fields_kept(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    first = await sync(sandbox, sqlite_store)
    records = sandbox.orgapi.records
    assigned = [r for r in records if r["status"] == "assigned" and r["assigned_agent_id"]]
    free = [r for r in records if r["status"] == "free"]
    to_free, to_reassign, to_assign = assigned[0], assigned[1], free[0]
    to_free.update(status="free", assigned_agent_id=None)
    to_reassign["assigned_agent_id"] = "agent_brand_new"
    to_assign.update(status="assigned", assigned_agent_id="agent_sales_eu")
    removed = records.pop(-1)
    records.append({**records[0], "phone_number_id": "pn_new", "phone_number": "+14155550142"})

    second = await sync(sandbox, sqlite_store)
    assert second.changes == {
        "added": 1,
        "removed": 1,
        "assigned": 1,
        "unassigned": 1,
        "reassigned": 1,
        "rekeyed": 0,
    }
    changes = {(c.kind.value, c.number_id): c for c in sqlite_store.changes(second.run_id or 0)}
    assert changes[("reassigned", to_reassign["phone_number_id"])].agent_after == "agent_brand_new"
    assert ("removed", removed["phone_number_id"]) in changes
    by_id = {n.number_id: n for n in sqlite_store.load_numbers() if n.source == "orgapi"}
    assert by_id[to_free["phone_number_id"]].unassigned_since == second.started_at
    assert by_id[to_assign["phone_number_id"]].unassigned_since is None
    assert by_id[to_reassign["phone_number_id"]].first_seen_at == first.started_at
    assert by_id["pn_new"].first_seen_at == second.started_at


async def test_an_unchanged_number_is_never_parsed_twice(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    first = await sync(sandbox, sqlite_store)
    sandbox.dialnexa.records[0]["phone_number"] = "+44 20 7946 0001"
    second = await sync(sandbox, sqlite_store)
    assert first.phones_parsed == 40
    assert second.phones_parsed == 1


async def test_an_unchanged_second_run_records_no_changes(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await sync(sandbox, sqlite_store)
    second = await sync(sandbox, sqlite_store)
    assert second.status == "ok"
    assert set(second.changes.values()) == {0}
    assert sqlite_store.changes(second.run_id or 0) == []


async def test_dry_run_stores_nothing(sandbox: Sandbox, sqlite_store: SqliteStore) -> None:
    result = await sync(sandbox, sqlite_store, SyncOptions(policy=FAST, dry_run=True))
    assert result.total == 40
    assert result.run_id is None
    assert sqlite_store.load_numbers() == []
    assert sqlite_store.latest_run() is None


async def test_a_commit_that_fails_half_way_leaves_the_previous_snapshot_intact(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await sync(sandbox, sqlite_store)
    before = sqlite_store.load_numbers()
    victim = sandbox.orgapi.records[-1]
    victim["assigned_agent_id"] = "agent_other"
    victim["status"] = "assigned"
    sandbox.orgapi.records.append(
        {**sandbox.orgapi.records[0], "phone_number_id": "pn_boom", "phone_number": "+14155550111"}
    )
    # A real failure inside the database, after earlier rows of the run were written.
    with sqlite_store.transaction(write=True) as cur:
        cur.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON changes WHEN NEW.number_id = 'pn_boom' "
            "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
        )
    failed = await sync(sandbox, sqlite_store)
    assert (failed.status, failed.run_id, failed.exit_code) == ("failed", None, 1)
    assert "disk on fire" in (failed.message or "")
    assert "previous snapshot is unchanged" in (failed.message or "")
    assert sqlite_store.load_numbers() == before
    assert len(sqlite_store.recent_runs(10)) == 1


async def test_each_configured_account_is_synced_and_keyed_on_its_own(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    env = sandbox.env()
    settings = settings_from(
        {
            "DIALNEXA_ACCOUNTS": [
                {
                    "name": "east",
                    "api_key": env["DIALNEXA_API_KEY"],
                    "base_url": env["DIALNEXA_BASE_URL"],
                },
                {
                    "name": "west",
                    "api_key": env["DIALNEXA_API_KEY"],
                    "base_url": env["DIALNEXA_BASE_URL"],
                },
            ]
        }
    )
    result = await run_sync(settings, sqlite_store, options=SMALL_PAGES)
    assert set(result.sources) == {"dialnexa/east", "dialnexa/west"}
    accounts = {n.account for n in sqlite_store.load_numbers()}
    assert accounts == {"east", "west"}
    assert result.total == 40


async def test_no_configured_source_is_a_configuration_error(sqlite_store: SqliteStore) -> None:
    with pytest.raises(ConfigError, match="ORGAPI_API_KEY"):
        await run_sync(settings_from({}), sqlite_store, options=SMALL_PAGES)


async def test_a_run_that_finds_the_lock_held_is_skipped(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    with sqlite_store.run_lock() as acquired:
        assert acquired
        result = await sync(sandbox, sqlite_store)
    assert result.status == "skipped"
    assert result.exit_code == 0
    assert sandbox.orgapi.requests == []


def test_retry_policy_defaults_are_bounded() -> None:
    policy = RetryPolicy()
    assert 1 < policy.attempts <= 10
    assert policy.wait_max <= 60


async def test_a_worker_process_normalizes_records_as_the_event_loop_does(
    sandbox: Sandbox, sqlite_store: SqliteStore, tmp_path: Path
) -> None:
    """A first sync hands records to a worker process; what lands is the same."""
    records = sandbox.dialnexa.records
    records[3].pop("phone_number")
    # The same id twice, with other content: the first listed wins, wherever it was read.
    records[12]["id"] = records[11]["id"]
    inline = SqliteStore(str(tmp_path / "inline.db"))
    inline.migrate()
    on_loop = await sync(sandbox, inline)
    in_worker = await sync(sandbox, sqlite_store, dataclasses.replace(SMALL_PAGES, worker_after=0))

    def listed(store: SqliteStore) -> list[dict[str, object]]:
        history = {"first_seen_at", "last_seen_at", "unassigned_since"}
        return [
            {k: v for k, v in n.to_dict().items() if k not in history} for n in store.load_numbers()
        ]

    assert listed(sqlite_store) == listed(inline)
    # 20 records and 19 ids: the listing falls short of its total and is listed again.
    assert in_worker.phones_parsed == on_loop.phones_parsed == 39 + 19
    for key, source in in_worker.sources.items():
        expected = on_loop.sources[key]
        assert (source.count, source.invalid, source.duplicates) == (
            expected.count,
            expected.invalid,
            expected.duplicates,
        )
    assert (
        in_worker.sources["dialnexa/default"].invalid,
        in_worker.sources["dialnexa/default"].duplicates,
    ) == (1, 1)
    inline.close()


async def test_a_listing_waits_for_the_worker_rather_than_piling_up_raw_pages() -> None:
    """At most MAX_PENDING_PAGES pages are with the worker: the next waits for one to finish."""
    workers = Workers(after=0)
    try:
        held = [await workers.submit("orgapi", "default", []) for _ in range(MAX_PENDING_PAGES)]
        one_more = asyncio.ensure_future(workers.submit("orgapi", "default", []))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not one_more.done()
        held[0].result(timeout=LIMIT)
        workers.finished()
        async with asyncio.timeout(LIMIT):
            await one_more
    finally:
        workers.close()
