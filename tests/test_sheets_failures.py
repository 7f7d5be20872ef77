"""How the sheet writer fails: retried when it may help, explained and harmless when not."""

from __future__ import annotations

import json

import pytest
from gspread.exceptions import APIError
from requests import Response

from syncbot.errors import SheetError
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.sheets.auth import mint_key
from syncbot.sandbox.sheets.kit import SheetsSandbox, phone_number, run_result
from syncbot.settings import settings_from
from syncbot.sheets import SheetWriter
from syncbot.sheets.client import RetryPolicy

NUMBERS = [phone_number(i) for i in range(5)]


def writer_for(box: SheetsSandbox, attempts: int = 5) -> SheetWriter:
    return SheetWriter(
        box.settings(), retry_attempts=attempts, retry_wait_initial=0.01, retry_wait_max=0.05
    )


def api_error(status: int, retry_after: str | None = None) -> APIError:
    response = Response()
    response.status_code = status
    response._content = b'{"error": {"code": %d, "message": "x", "status": "X"}}' % status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return APIError(response)


def test_429_and_500_are_retried_until_the_write_goes_through(box: SheetsSandbox) -> None:
    box.fake.fail_next(
        "spreadsheets.batchUpdate", 429, retry_after=0, spreadsheet_id=box.spreadsheet_id
    )
    box.fake.fail_next("spreadsheets.get", 500, spreadsheet_id=box.spreadsheet_id)

    result = writer_for(box).write(inventory=NUMBERS, changes=[], run=run_result())

    assert result.status == "ok"
    statuses = [c.status for c in box.fake.calls(box.spreadsheet_id)]
    assert statuses == [500, 200, 429, 200]
    assert result.calls == 4
    assert len(box.fake.values(box.spreadsheet_id, "Inventory")) == 6


def test_retry_after_sets_the_wait_within_our_ceiling_and_403_404_are_never_retried() -> None:
    policy = RetryPolicy(attempts=5, wait_initial=0.5, wait_max=30.0)

    told = policy.backoff(api_error(429, retry_after="7"))
    capped = policy.backoff(api_error(429, retry_after="3600"))

    assert isinstance(told, float)
    assert 7.0 <= told <= 7.5
    assert isinstance(capped, float)
    assert 30.0 <= capped <= 30.5
    assert policy.backoff(api_error(503)) is True
    assert policy.backoff(api_error(403)) is False
    assert policy.backoff(api_error(404)) is False
    assert policy.backoff(api_error(400)) is False


def test_403_names_the_service_account_to_share_with_and_leaves_the_sheet_as_it_was(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box)
    writer.write(inventory=NUMBERS, changes=[], run=run_result(1))
    before = box.fake.snapshots(box.spreadsheet_id)[-1]
    # Read access only: the reads succeed, the write is refused.
    box.fake.share(box.spreadsheet_id, box.email, role="reader")

    with pytest.raises(SheetError) as caught:
        writer.write(inventory=NUMBERS[:2], changes=[], run=run_result(2))

    message = str(caught.value)
    assert box.email in message
    assert "share the spreadsheet with" in message
    assert "Editor" in message
    calls = box.fake.calls(box.spreadsheet_id)
    assert [c.status for c in calls if c.status == 403] == [403]
    assert box.fake.snapshots(box.spreadsheet_id)[-1].tabs == before.tabs


def test_a_sheet_not_shared_at_all_fails_on_the_first_read_with_the_same_hint(
    box: SheetsSandbox,
) -> None:
    box.fake.unshare(box.spreadsheet_id, box.email)

    with pytest.raises(SheetError, match="share the spreadsheet with") as caught:
        writer_for(box).write(inventory=NUMBERS, changes=[], run=run_result())

    assert box.email in str(caught.value)
    assert [c.route for c in box.fake.calls(box.spreadsheet_id)] == ["spreadsheets.get"]


def test_check_access_returns_the_title_or_the_sharing_hint(box: SheetsSandbox) -> None:
    writer = writer_for(box)

    assert writer.check_access() == "syncbot sandbox"
    assert writer.service_account_email == box.email
    box.fake.unshare(box.spreadsheet_id, box.email)
    with pytest.raises(SheetError, match=box.email):
        writer.check_access()


def test_an_unknown_spreadsheet_says_to_check_google_sheet_id(
    fake: FakeSheets, key: dict[str, str]
) -> None:
    settings = settings_from(
        {
            "GOOGLE_SHEET_ID": "doesNotExist1234567890",
            "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(key),
            "GOOGLE_SHEETS_API_URL": fake.url,
        }
    )

    with pytest.raises(SheetError, match="GOOGLE_SHEET_ID") as caught:
        SheetWriter(settings, retry_wait_initial=0.01).check_access()

    assert "404" in str(caught.value)


def test_quota_exhausted_after_our_attempts_gives_up_and_leaves_the_sheet_as_it_was(
    box: SheetsSandbox,
) -> None:
    writer = writer_for(box, attempts=3)
    writer.write(inventory=NUMBERS, changes=[], run=run_result(1))
    before = box.fake.values(box.spreadsheet_id, "Inventory")
    box.fake.fail_next(
        "spreadsheets.batchUpdate", 429, times=10, retry_after=0, spreadsheet_id=box.spreadsheet_id
    )

    with pytest.raises(SheetError, match="quota") as caught:
        writer.write(inventory=NUMBERS[:1], changes=[], run=run_result(2))

    assert "3 attempts" in str(caught.value)
    refused = [c for c in box.fake.calls(box.spreadsheet_id) if c.status == 429]
    assert len(refused) == 3
    assert box.fake.values(box.spreadsheet_id, "Inventory") == before


def test_a_key_google_does_not_accept_is_reported_without_the_key(box: SheetsSandbox) -> None:
    # Same account and token endpoint, but a private key the fake never registered.
    stranger, _ = mint_key(email=box.email, token_uri=box.key["token_uri"])
    writer = SheetWriter(
        box.settings(GOOGLE_SERVICE_ACCOUNT_JSON=json.dumps(stranger)),
        retry_wait_initial=0.01,
    )

    with pytest.raises(SheetError, match="could not sign in") as caught:
        writer.write(inventory=NUMBERS, changes=[], run=run_result())

    message = str(caught.value)
    assert "Invalid JWT Signature" in message
    assert "PRIVATE KEY" not in message
    assert stranger["private_key_id"] not in message
    assert box.fake.calls(box.spreadsheet_id) == []


def test_the_10_million_cell_limit_is_checked_before_anything_is_written(
    box: SheetsSandbox,
) -> None:
    # Someone's tab already holds almost all of the spreadsheet's cells.
    box.spreadsheet().sheet1.resize(rows=384_000, cols=26)
    box.fake.reset_records()

    with pytest.raises(SheetError, match="10,000,000 cells") as caught:
        writer_for(box).write(
            inventory=[phone_number(i) for i in range(1_000)], changes=[], run=run_result()
        )

    assert "Delete unused tabs or columns" in str(caught.value)
    # 16,000 cells left by the other tab, less syncbot's other tabs, at 24 cells a number.
    fit = int(str(caught.value).split("about ")[1].split(" numbers")[0].replace(",", ""))
    assert 600 < fit <= 16_000 // 24
    assert [c.route for c in box.fake.calls(box.spreadsheet_id)] == ["spreadsheets.get"]


def test_past_80_percent_of_the_cell_limit_the_summary_and_the_result_say_how_many_numbers_fit(
    box: SheetsSandbox,
) -> None:
    # Someone's tab holds 8,400,000 cells: with the Inventory, past 80% of Google's limit.
    box.spreadsheet().sheet1.resize(rows=336_000, cols=25)
    writer = writer_for(box)
    numbers = [phone_number(i) for i in range(100)]

    result = writer.write(inventory=numbers, changes=[], run=run_result())

    assert result.status == "ok"
    assert result.warning is not None
    # 10,000,000 cells less the 8,400,000 and the rest of the workbook, 24 cells a number.
    fit = int(result.warning.split("about ")[1].split(" numbers")[0].replace(",", ""))
    assert 60_000 < fit < 1_600_000 // 24 + 100
    assert "Delete unused tabs or columns" in result.warning
    summary = box.fake.values(box.spreadsheet_id, "Summary")
    assert summary[4] == ["Sheet size", result.warning]


def test_below_80_percent_of_the_cell_limit_nothing_warns(box: SheetsSandbox) -> None:
    box.spreadsheet().sheet1.resize(rows=300_000, cols=25)

    result = writer_for(box).write(
        inventory=[phone_number(i) for i in range(100)], changes=[], run=run_result()
    )

    assert result.warning is None
    assert box.fake.values(box.spreadsheet_id, "Summary")[4] == []
