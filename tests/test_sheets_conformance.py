"""The sandbox Sheets API answers as Google does: every Sheets request gspread's test suite
recorded against Google (tests/data/gspread-cassettes) is replayed against the fake and its
answer compared with Google's (see tests/sheets_replay.py). ``pytest -s`` prints the table
per request kind."""

from __future__ import annotations

import collections

import pytest

from syncbot.sandbox.sheets import FakeSheets
from tests.sheets_replay import Outcome, replay_all, table

# What the sandbox does not carry out; Google's recordings use them, syncbot does not.
NOT_IMPLEMENTED = {
    "batchUpdate.addDimensionGroup",
    "batchUpdate.addNamedRange",
    "batchUpdate.addProtectedRange",
    "batchUpdate.autoResizeDimensions",
    "batchUpdate.mergeCells",
    "batchUpdate.setDataValidation",
    "batchUpdate.updateSpreadsheetProperties",
}


@pytest.fixture(scope="module")
def outcomes() -> list[Outcome]:
    fake = FakeSheets(record_snapshots=False)
    with fake.running():
        replayed = replay_all(fake)
    print("\n" + table(replayed))
    return replayed


def test_every_supported_recorded_request_gets_googles_answer(outcomes: list[Outcome]) -> None:
    different = [o for o in outcomes if o.verdict == "different"]
    assert [f"{o.cassette}#{o.index} {o.kind}: {o.detail}" for o in different] == []
    matched = collections.Counter(o.kind for o in outcomes if o.verdict == "matched")
    # Every kind of request the sandbox carries out is met, and matched, in the recordings.
    assert {
        "spreadsheets.get",
        "values.get",
        "values.batchGet",
        "values.update",
        "values.batchUpdate",
        "values.append",
        "values.clear",
        "values.batchClear",
        "batchUpdate.addSheet",
        "batchUpdate.cutPaste",
        "batchUpdate.setBasicFilter",
        "batchUpdate.updateSheetProperties",
        "batchUpdate.updateCells",
    } <= set(matched)
    assert sum(matched.values()) > 1000


def test_a_request_the_sandbox_lacks_is_refused_as_google_refuses_an_unknown_field(
    outcomes: list[Outcome],
) -> None:
    """Never accepted silently: each is a 400 INVALID_ARGUMENT naming the request, in
    Google's words for a field it does not know."""
    refused = {o.kind for o in outcomes if o.verdict == "unsupported"}
    assert refused == NOT_IMPLEMENTED
    for outcome in outcomes:
        if outcome.verdict == "unsupported":
            name = outcome.kind.removeprefix("batchUpdate.")
            assert f'Unknown name "{name}"' in outcome.detail
