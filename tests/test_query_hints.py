"""Queries that would answer "no numbers" for want of a hint: unknown filter values, and numbers
typed the way people dial them at home."""

from __future__ import annotations

import phonenumbers
import pytest

from syncbot.query import Snapshot, answer, load_snapshot, parse
from syncbot.query.engine import Answer
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from syncbot.sync import run_sync
from tests.conftest import settings_for


@pytest.fixture
async def snapshot(sandbox: Sandbox, sqlite_store: SqliteStore) -> Snapshot:
    await run_sync(settings_for(sandbox), sqlite_store)
    return load_snapshot(sqlite_store)


def ask(snapshot: Snapshot, text: str) -> Answer:
    assert snapshot.run is not None
    return answer(parse(text), snapshot, now=snapshot.run.finished_at, interval_seconds=900)


@pytest.mark.parametrize(
    ("text", "closest"),
    [("country:UK", "GB"), ("type:toll-free", "toll_free"), ("source:orgap", "orgapi")],
)
def test_a_filter_value_no_number_has_says_so_and_lists_the_values_closest_first(
    snapshot: Snapshot, text: str, closest: str
) -> None:
    found = ask(snapshot, text)
    assert found.numbers == []
    (hint,) = found.warnings
    assert hint.startswith(f"`{text}` matches no number of the latest sync; its ")
    assert hint.split(": ", 1)[1].startswith(closest + ", ")


def test_a_filter_value_that_exists_gets_no_hint_in_any_case(snapshot: Snapshot) -> None:
    assert ask(snapshot, "country:gb type:TOLL_FREE").warnings == []


def test_a_number_in_national_format_finds_the_number_it_dials(snapshot: Snapshot) -> None:
    uk = next(n for n in snapshot.numbers if n.country_code == "GB" and n.valid)
    national = phonenumbers.format_number(
        phonenumbers.parse(uk.phone_number), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    assert national.startswith("0")
    assert len(national.split()) > 1
    assert [n.key for n in ask(snapshot, national).numbers] == [uk.key]
    # The same digits without the trunk prefix are still a run of digits to look for.
    digits = national.replace(" ", "")[1:]
    assert uk.key in [n.key for n in ask(snapshot, digits).numbers]
