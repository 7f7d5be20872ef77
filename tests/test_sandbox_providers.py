"""The sandbox provider APIs follow CONTRACT.md section 1, and each of their knobs works."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import phonenumbers
import pytest

from syncbot.sandbox.data import (
    HOSTILE_LABELS,
    INVALID_NUMBERS,
    SHARED_AGENTS,
    generate_dataset,
    inserted_records,
)
from syncbot.sandbox.providers import (
    DIALNEXA_API_KEY,
    ORGAPI_API_KEY,
    ORGAPI_ORGANIZATION_ID,
    Fault,
    Provider,
    ProviderOptions,
    Sandbox,
    serve_forever,
)
from tests.procs import LIMIT
from tests.test_locking import eventually

ORGAPI_HEADERS = {"X-API-Key": ORGAPI_API_KEY, "X-Organization-Id": ORGAPI_ORGANIZATION_ID}
DIALNEXA_HEADERS = {"Authorization": f"Bearer {DIALNEXA_API_KEY}"}
ORGAPI_FIELDS = {
    "phone_number_id",
    "phone_number",
    "provider",
    "status",
    "supports_inbound",
    "supports_outbound",
    "assigned_agent_id",
    "created_at",
}
SHAPE_A = {
    "id",
    "phone_number",
    "label",
    "agent_id",
    "status",
    "provider",
    "created_at",
    "nickname",
}
SHAPE_B = {
    "id",
    "phone_number",
    "country_code",
    "type",
    "nickname",
    "inbound_agent_id",
    "created_at",
}
TYPES = {
    "local": {phonenumbers.PhoneNumberType.FIXED_LINE},
    "mobile": {phonenumbers.PhoneNumberType.MOBILE},
    "toll_free": {phonenumbers.PhoneNumberType.TOLL_FREE},
}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(numbers=60) as sb:
        yield sb


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def orgapi_get(
    session: aiohttp.ClientSession,
    sb: Sandbox,
    headers: dict[str, str] = ORGAPI_HEADERS,
    /,
    **params: str | int,
) -> tuple[int, Any]:
    url = f"{sb.orgapi.url}/api/phone-numbers"
    async with session.get(url, params=params, headers=headers) as response:
        return response.status, await response.json()


async def dialnexa_get(
    session: aiohttp.ClientSession,
    sb: Sandbox,
    headers: dict[str, str] = DIALNEXA_HEADERS,
    /,
    **params: str | int,
) -> tuple[int, Any]:
    url = f"{sb.dialnexa.url}/organization-phone-numbers"
    async with session.get(url, params=params, headers=headers) as response:
        return response.status, await response.json()


def listing(sb: Sandbox, source: Provider) -> tuple[str, dict[str, str]]:
    """The listing endpoint of ``source`` and the headers that authorize a request to it."""
    if source is sb.orgapi:
        return f"{source.url}/api/phone-numbers", ORGAPI_HEADERS
    return f"{source.url}/organization-phone-numbers", DIALNEXA_HEADERS


async def get(session: aiohttp.ClientSession, sb: Sandbox, source: Provider) -> tuple[int, Any]:
    url, headers = listing(sb, source)
    async with session.get(url, headers=headers) as response:
        return response.status, await response.json()


def agent_of(record: dict[str, Any]) -> str | None:
    agent = (
        record.get("assigned_agent_id") or record.get("inbound_agent_id") or record.get("agent_id")
    )
    return agent if isinstance(agent, str) else None


# --- data --------------------------------------------------------------------------------------


def test_dataset_is_deterministic_for_a_seed_and_varies_with_it() -> None:
    assert generate_dataset(numbers=50, seed=3) == generate_dataset(numbers=50, seed=3)
    assert generate_dataset(numbers=50, seed=3) != generate_dataset(numbers=50, seed=4)


def test_dataset_gives_orgapi_the_larger_half() -> None:
    dataset = generate_dataset(numbers=21)
    assert (len(dataset.orgapi), len(dataset.dialnexa)) == (11, 10)


def test_hundred_thousand_numbers_generate_with_unique_ids_and_numbers() -> None:
    dataset = generate_dataset(numbers=100_000)
    assert len({r["phone_number_id"] for r in dataset.orgapi}) == 50_000
    assert len({r["id"] for r in dataset.dialnexa}) == 50_000
    digits = {re.sub(r"\D", "", r["phone_number"]) for r in dataset.orgapi + dataset.dialnexa}
    assert len(digits) == 100_000


def test_generated_numbers_are_valid_and_of_the_type_their_record_states() -> None:
    dataset = generate_dataset(numbers=20_000)
    records = [
        r for r in dataset.orgapi + dataset.dialnexa if r["phone_number"] not in INVALID_NUMBERS
    ]
    regions = set()
    for record in random.Random(1).sample(records, 2_000):
        number = phonenumbers.parse(record["phone_number"], record.get("country_code"))
        assert phonenumbers.is_valid_number(number), record
        regions.add(phonenumbers.region_code_for_number(number))
        if "type" in record:
            allowed = TYPES[record["type"]] | {phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
            assert phonenumbers.number_type(number) in allowed, record
            assert record["country_code"] == phonenumbers.region_code_for_number(number)
    assert {"US", "GB", "DE", "IN", "AU", "CA", "FR"} <= regions


def test_records_have_the_documented_fields_and_both_dialnexa_shapes_are_mixed() -> None:
    dataset = generate_dataset(numbers=2_000)
    assert all(set(r) == ORGAPI_FIELDS for r in dataset.orgapi)
    assert all(r["status"] in {"free", "assigned"} for r in dataset.orgapi)
    assert all(r["provider"] in {"twilio", "sip", "vonage", "telnyx"} for r in dataset.orgapi)
    shapes = [frozenset(r) for r in dataset.dialnexa]
    assert set(shapes) == {frozenset(SHAPE_A), frozenset(SHAPE_B)}
    assert 400 < shapes.count(frozenset(SHAPE_A)) < 600
    assert {r["type"] for r in dataset.dialnexa if "type" in r} == set(TYPES)
    assert all(r["assigned_agent_id"] is None for r in dataset.orgapi if r["status"] == "free")
    orphans = [
        r for r in dataset.orgapi if r["status"] == "assigned" and not r["assigned_agent_id"]
    ]
    assert 0 < len(orphans) < 30
    assert any(agent_of(r) is None for r in dataset.dialnexa if "type" in r)
    assert any(agent_of(r) is None for r in dataset.dialnexa if "label" in r)


def test_phone_texts_and_timestamps_come_in_several_real_world_formats() -> None:
    dataset = generate_dataset(numbers=2_000)
    texts = [r["phone_number"] for r in dataset.orgapi + dataset.dialnexa]
    assert any(re.fullmatch(r"\+\d{8,15}", t) for t in texts)
    assert any(re.fullmatch(r"\+44 \d+ \d+ \d+", t) for t in texts)
    assert any(re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", t) for t in texts)
    stamps = [r["created_at"] for r in dataset.orgapi + dataset.dialnexa]
    assert any(s.endswith("Z") for s in stamps)
    assert any(re.search(r"[+-]\d\d:\d\d$", s) for s in stamps)


def test_small_dataset_already_holds_hostile_labels_invalid_numbers_and_shared_agents() -> None:
    dataset = generate_dataset(numbers=20)
    shown = [r.get("nickname") or r.get("label") for r in dataset.dialnexa]
    assert set(HOSTILE_LABELS) <= set(shown)
    assert any(r["nickname"] is None and r["label"] == HOSTILE_LABELS[0] for r in dataset.dialnexa)
    texts = {r["phone_number"] for r in dataset.orgapi + dataset.dialnexa}
    for text in INVALID_NUMBERS:
        assert text in texts
        assert not phonenumbers.is_valid_number(phonenumbers.parse(text))
    eu = [agent_of(r) for r in (*dataset.orgapi, *dataset.dialnexa)].count("agent_sales_eu")
    assert eu >= 3
    assert "agent_sales_eu" in SHARED_AGENTS
    assert any(r["status"] == "assigned" and r["assigned_agent_id"] is None for r in dataset.orgapi)


def test_inserted_records_never_repeat_dataset_ids_or_numbers() -> None:
    dataset = generate_dataset(numbers=2_000)
    for new, key, existing in (
        (inserted_records("orgapi", 50), "phone_number_id", dataset.orgapi),
        (inserted_records("dialnexa", 50), "id", dataset.dialnexa),
    ):
        assert not {r[key] for r in new} & {r[key] for r in existing}
        assert not {r["phone_number"] for r in new} & {r["phone_number"] for r in existing}


# --- orgapi ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong", "X-Organization-Id": ORGAPI_ORGANIZATION_ID},
        {"X-API-Key": ORGAPI_API_KEY, "X-Organization-Id": "org_other"},
    ],
    ids=["missing", "wrong-key", "wrong-organization"],
)
async def test_orgapi_answers_401_with_error_body_without_matching_credentials(
    sandbox: Sandbox, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    status, body = await orgapi_get(session, sandbox, headers)
    assert status == 401
    assert body["success"] is False
    assert body["error"]["code"] == "unauthorized"


async def test_orgapi_cursor_pages_list_every_record_once_in_order(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    ids: list[str] = []
    params: dict[str, str | int] = {"page_size": 25}
    while True:
        status, body = await orgapi_get(session, sandbox, **params)
        assert status == 200
        assert body["success"] is True
        assert body["pagination"]["total_count"] == 30
        ids += [r["phone_number_id"] for r in body["data"]]
        if not body["pagination"]["has_more"]:
            assert body["pagination"]["next_cursor"] is None
            break
        params["cursor"] = body["pagination"]["next_cursor"]
    assert ids == [r["phone_number_id"] for r in sandbox.orgapi.records]


async def test_orgapi_page_size_defaults_to_20_and_is_clamped_to_the_server_cap(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    _, body = await orgapi_get(session, sandbox)
    assert (len(body["data"]), body["pagination"]["page_size"]) == (20, 20)
    sandbox.orgapi.options.max_page_size = 7
    _, body = await orgapi_get(session, sandbox, page_size=1000)
    assert (len(body["data"]), body["pagination"]["page_size"]) == (7, 7)


async def test_orgapi_status_filter_lists_only_that_status(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    free = [r["phone_number_id"] for r in sandbox.orgapi.records if r["status"] == "free"]
    _, body = await orgapi_get(session, sandbox, status="free", page_size=100)
    assert [r["phone_number_id"] for r in body["data"]] == free
    assert body["pagination"]["total_count"] == len(free)


@pytest.mark.parametrize(
    "params",
    [{"cursor": "not-a-cursor!"}, {"cursor": "b2Zmc2V0Oi0x"}, {"status": "busy"}, {"page_size": 0}],
    ids=["garbage-cursor", "negative-offset-cursor", "unknown-status", "zero-page-size"],
)
async def test_orgapi_rejects_invalid_query_with_400(
    sandbox: Sandbox, session: aiohttp.ClientSession, params: dict[str, str | int]
) -> None:
    status, body = await orgapi_get(session, sandbox, **params)
    assert status == 400
    assert body["success"] is False


async def test_orgapi_repeat_cursor_keeps_sending_the_same_cursor_with_has_more(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.orgapi.options.repeat_cursor = True
    _, first = await orgapi_get(session, sandbox, page_size=100)
    cursor = first["pagination"]["next_cursor"]
    assert first["pagination"]["has_more"] is True
    for _ in range(3):
        _, body = await orgapi_get(session, sandbox, cursor=cursor)
        assert body["pagination"] | {"has_more": True, "next_cursor": cursor} == body["pagination"]


async def test_orgapi_null_cursor_has_more_marks_the_last_page_as_not_last(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.orgapi.options.null_cursor_has_more = True
    _, body = await orgapi_get(session, sandbox, page_size=100)
    assert len(body["data"]) == 30
    assert body["pagination"]["has_more"] is True
    assert body["pagination"]["next_cursor"] is None


# --- dialnexa ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": DIALNEXA_API_KEY}],
    ids=["missing", "wrong-key", "not-bearer"],
)
async def test_dialnexa_answers_401_without_the_bearer_key(
    sandbox: Sandbox, session: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    status, body = await dialnexa_get(session, sandbox, headers)
    assert status == 401
    assert body["statusCode"] == 401


async def test_dialnexa_pages_list_every_record_once_with_meta(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    ids: list[str] = []
    for page in (1, 2, 3, 4):
        status, body = await dialnexa_get(session, sandbox, page=page, limit=8)
        assert status == 200
        assert body["meta"] == {"page": page, "limit": 8, "total": 30, "totalPages": 4}
        ids += [r["id"] for r in body["data"]]
    assert ids == [r["id"] for r in sandbox.dialnexa.records]
    _, past_end = await dialnexa_get(session, sandbox, page=5, limit=8)
    assert past_end["data"] == []


async def test_dialnexa_limit_defaults_to_20_and_is_clamped_to_100(
    session: aiohttp.ClientSession,
) -> None:
    async with Sandbox(numbers=300) as sb:
        _, body = await dialnexa_get(session, sb)
        assert (len(body["data"]), body["meta"]["limit"]) == (20, 20)
        _, body = await dialnexa_get(session, sb, limit=500)
        assert (len(body["data"]), body["meta"]["limit"], body["meta"]["totalPages"]) == (
            100,
            100,
            2,
        )


async def test_dialnexa_filters_match_only_records_carrying_that_country_or_type(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    records = sandbox.dialnexa.records
    us = [r["id"] for r in records if r.get("country_code") == "US"]
    local = [r["id"] for r in records if r.get("type") == "local"]
    assert us
    assert local
    _, body = await dialnexa_get(session, sandbox, country_code="US", limit=100)
    assert [r["id"] for r in body["data"]] == us
    assert body["meta"]["total"] == len(us)
    _, body = await dialnexa_get(session, sandbox, type="local", limit=100)
    assert [r["id"] for r in body["data"]] == local


async def test_dialnexa_rejects_a_page_that_is_not_a_positive_integer(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    status, body = await dialnexa_get(session, sandbox, page=0)
    assert status == 400
    assert body["statusCode"] == 400


async def test_dialnexa_meta_can_omit_total_pages_or_both_totals(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.dialnexa.options.omit_total_pages = True
    _, body = await dialnexa_get(session, sandbox)
    assert body["meta"] == {"page": 1, "limit": 20, "total": 30}
    sandbox.dialnexa.options.omit_total = True
    _, body = await dialnexa_get(session, sandbox)
    assert body["meta"] == {"page": 1, "limit": 20}


async def test_dialnexa_empty_page_at_empties_that_page_and_later_ones_despite_total(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.dialnexa.options.empty_page_at = 2
    pages = [await dialnexa_get(session, sandbox, page=page, limit=10) for page in (1, 2, 3)]
    assert [len(body["data"]) for _, body in pages] == [10, 0, 0]
    assert all(body["meta"]["total"] == 30 for _, body in pages)


# --- knobs shared by both providers ------------------------------------------------------------


@pytest.fixture(params=["orgapi", "dialnexa"])
def source(request: pytest.FixtureRequest, sandbox: Sandbox) -> Provider:
    provider: Provider = getattr(sandbox, request.param)
    return provider


async def test_latency_delays_each_answer_and_counts_in_the_recorded_duration(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    source.options.latency_ms = 150
    started = time.monotonic()
    status, _ = await get(session, sandbox, source)
    assert status == 200
    assert time.monotonic() - started >= 0.15
    assert source.requests[-1].duration >= 0.15


async def test_status_fault_hits_only_the_nth_request_with_retry_after_and_provider_body(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    source.options.faults = {2: Fault.status(429, retry_after=0.5)}
    url, headers = listing(sandbox, source)
    answers = []
    bodies = []
    for _ in range(3):
        async with session.get(url, headers=headers) as response:
            answers.append((response.status, response.headers.get("Retry-After")))
            bodies.append(await response.json())
    assert answers == [(200, None), (429, "0.5"), (200, None)]
    body = bodies[1]
    if source is sandbox.orgapi:
        assert (body["success"], body["error"]["code"]) == (False, "too_many_requests")
    else:
        assert (body["statusCode"], body["error"]) == (429, "Too Many Requests")
    assert [r.fault for r in source.requests] == [None, "status:429", None]


async def test_always_fault_answers_every_request_until_cleared(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    source.options.always = Fault.status(503)
    assert [(await get(session, sandbox, source))[0] for _ in range(3)] == [503, 503, 503]
    source.options.always = None
    assert (await get(session, sandbox, source))[0] == 200


async def test_whole_options_object_can_be_replaced_while_running(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    source.options = ProviderOptions(always=Fault.status(403))
    assert (await get(session, sandbox, source))[0] == 403


async def test_timeout_fault_outlasts_a_short_client_timeout_and_answers_normally_later(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    source.options.faults = {1: Fault.timeout(seconds=0.3), 2: Fault.timeout(seconds=0.3)}
    with pytest.raises(asyncio.TimeoutError):
        async with asyncio.timeout(0.1):
            await get(session, sandbox, source)
    status, body = await get(session, sandbox, source)
    assert status == 200
    assert len(body["data"]) == 20
    assert source.requests[-1].fault == "timeout"
    assert source.requests[-1].duration >= 0.3


async def test_bad_json_fault_is_an_html_page_with_status_200(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    source.options.always = Fault.bad_json()
    with pytest.raises(aiohttp.ContentTypeError):
        await get(session, sandbox, source)
    async with session.get(source.url) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        assert "502 Bad Gateway" in await response.text()


async def test_drop_fault_closes_the_connection_without_an_answer(
    sandbox: Sandbox, session: aiohttp.ClientSession, source: Provider
) -> None:
    # aiohttp retries a GET once after a disconnect, so its retry is dropped too.
    source.options.faults = {1: Fault.drop(), 2: Fault.drop()}
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await get(session, sandbox, source)
    assert (await get(session, sandbox, source))[0] == 200
    assert [(r.status, r.fault) for r in source.requests] == [(0, "drop"), (0, "drop"), (200, None)]


async def test_success_false_fault_is_a_failure_inside_http_200(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.orgapi.options.always = Fault.success_false()
    status, body = await orgapi_get(session, sandbox)
    assert status == 200
    assert body["success"] is False
    assert "data" not in body


async def test_drift_inserts_new_records_at_the_head_once_after_the_first_page(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.orgapi.options.drift_after_first_page = 3
    sandbox.dialnexa.options.drift_after_first_page = 3

    _, first = await orgapi_get(session, sandbox, page_size=10)
    _, second = await orgapi_get(session, sandbox, cursor=first["pagination"]["next_cursor"])
    first_ids = [r["phone_number_id"] for r in first["data"]]
    assert [r["phone_number_id"] for r in second["data"][:3]] == first_ids[-3:]
    assert second["pagination"]["total_count"] == 33

    _, page_1 = await dialnexa_get(session, sandbox, page=1, limit=10)
    _, page_2 = await dialnexa_get(session, sandbox, page=2, limit=10)
    assert [r["id"] for r in page_2["data"][:3]] == [r["id"] for r in page_1["data"][-3:]]
    assert (page_1["meta"]["total"], page_2["meta"]["total"]) == (30, 33)

    await orgapi_get(session, sandbox)
    _, again = await dialnexa_get(session, sandbox, page=1)
    assert (len(sandbox.orgapi.records), again["meta"]["total"]) == (33, 33)


async def test_records_changed_between_requests_are_served_as_they_are(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    removed = sandbox.dialnexa.records.pop(0)
    sandbox.dialnexa.records[0] = {"id": 12345, "nickname": "no number"}
    _, body = await dialnexa_get(session, sandbox, limit=100)
    assert removed["id"] not in [r["id"] for r in body["data"]]
    assert body["data"][0] == {"id": 12345, "nickname": "no number"}
    assert body["meta"]["total"] == 29


async def test_a_record_that_cannot_be_serialized_answers_500_and_is_recorded_so(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    sandbox.orgapi.records[0] = {"phone_number_id": object()}
    url = f"{sandbox.orgapi.url}/api/phone-numbers"
    async with session.get(url, headers=ORGAPI_HEADERS) as response:
        assert response.status == 500
    assert sandbox.orgapi.requests[-1].status == 500


def test_a_status_fault_needs_a_standard_http_status() -> None:
    with pytest.raises(ValueError, match="599"):
        Fault.status(599)


async def test_requests_are_recorded_without_header_values_and_counted_by_status(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    await orgapi_get(session, sandbox, status="free", page_size=5)
    await orgapi_get(session, sandbox, {"X-API-Key": "leaked-secret"})
    first, second = sandbox.orgapi.requests
    assert (first.path, first.query, first.status, first.fault) == (
        "/api/phone-numbers",
        {"status": "free", "page_size": "5"},
        200,
        None,
    )
    # Each request is recorded once answered, before the next one starts.
    assert first.started + first.duration <= second.started
    assert "leaked-secret" not in repr(sandbox.orgapi.requests)
    assert (sandbox.orgapi.total, sandbox.orgapi.by_status) == (2, {200: 1, 401: 1})


async def test_reset_forgets_requests_and_numbers_faults_from_one_again(
    sandbox: Sandbox, session: aiohttp.ClientSession
) -> None:
    await dialnexa_get(session, sandbox)
    sandbox.dialnexa.reset()
    sandbox.dialnexa.options.faults = {1: Fault.status(500)}
    assert (await dialnexa_get(session, sandbox))[0] == 500
    assert len(sandbox.dialnexa.requests) == 1


# --- the orchestrator --------------------------------------------------------------------------


async def test_env_points_syncbot_at_both_running_providers(sandbox: Sandbox) -> None:
    env = sandbox.env()
    assert env == {
        "ORGAPI_BASE_URL": sandbox.orgapi.url,
        "ORGAPI_API_KEY": ORGAPI_API_KEY,
        "ORGAPI_ORGANIZATION_ID": ORGAPI_ORGANIZATION_ID,
        "DIALNEXA_BASE_URL": sandbox.dialnexa.url,
        "DIALNEXA_API_KEY": DIALNEXA_API_KEY,
    }
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", env["ORGAPI_BASE_URL"])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", env["DIALNEXA_BASE_URL"])


async def test_sandbox_serves_a_given_dataset_on_the_requested_ports_without_changing_it(
    session: aiohttp.ClientSession,
) -> None:
    dataset = generate_dataset(numbers=10, seed=99)
    with socket.socket() as first, socket.socket() as second:
        first.bind(("127.0.0.1", 0))
        second.bind(("127.0.0.1", 0))
        ports = (first.getsockname()[1], second.getsockname()[1])
    async with Sandbox(dataset=dataset, orgapi_port=ports[0], dialnexa_port=ports[1]) as sb:
        assert sb.orgapi.url == f"http://127.0.0.1:{ports[0]}"
        assert sb.dialnexa.url == f"http://127.0.0.1:{ports[1]}/v1"
        sb.orgapi.records[0]["status"] = "changed"
        _, body = await orgapi_get(session, sb)
    assert [r["phone_number_id"] for r in body["data"]] == [
        r["phone_number_id"] for r in dataset.orgapi
    ]
    assert dataset.orgapi[0]["status"] != "changed"


async def test_leaving_the_sandbox_answers_requests_held_by_timeout_faults_at_once(
    session: aiohttp.ClientSession,
) -> None:
    # Held for an hour unless leaving releases it; LIMIT only keeps a broken release from hanging.
    hour = ProviderOptions(always=Fault.timeout(seconds=3600))
    async with Sandbox(numbers=4, orgapi=hour) as sb:
        pending = asyncio.create_task(orgapi_get(session, sb))
        await eventually(lambda: sb.orgapi.total > 0, "the request")
    assert (await asyncio.wait_for(pending, LIMIT))[0] == 200


async def test_a_hold_keeps_requests_waiting_until_it_is_released(
    session: aiohttp.ClientSession,
) -> None:
    hold = asyncio.Event()
    async with Sandbox(numbers=4, orgapi=ProviderOptions(hold=hold)) as sb:
        pending = asyncio.create_task(orgapi_get(session, sb))
        await eventually(lambda: sb.orgapi.total > 0, "the request")
        await asyncio.sleep(0.05)
        assert not pending.done()
        hold.set()
        assert (await asyncio.wait_for(pending, LIMIT))[0] == 200


async def test_serve_forever_serves_until_cancelled(session: aiohttp.ClientSession) -> None:
    ready: asyncio.Queue[Sandbox] = asyncio.Queue()
    task = asyncio.create_task(serve_forever(numbers=6, latency_ms=0, on_ready=ready.put_nowait))
    sb = await asyncio.wait_for(ready.get(), LIMIT)
    status, body = await dialnexa_get(session, sb)
    assert (status, body["meta"]["total"]) == (200, 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(aiohttp.ClientConnectionError):
        await dialnexa_get(session, sb)
