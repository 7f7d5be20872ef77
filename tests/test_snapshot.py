"""The query engine's compact snapshot: no record per number, and the same answers as a plain
scan of the records, also where its columns need more than one byte a row."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
import re
from collections import Counter

import phonenumbers

from syncbot.models import Change, ChangeKind, PhoneNumber, SourceState
from syncbot.query import Query, Snapshot, answer, load_snapshot, parse
from syncbot.sandbox.providers import Sandbox
from syncbot.store import SqliteStore
from syncbot.sync import run_sync
from tests.conftest import settings_for

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
COUNTRIES = ("US", "GB", "DE", "IN", None)
_NON_DIGITS = re.compile(r"\D")


def records_alive() -> int:
    gc.collect()
    return sum(isinstance(o, PhoneNumber) for o in gc.get_objects())


async def test_the_snapshot_keeps_no_record_per_number_and_a_page_makes_its_own(
    sandbox: Sandbox, sqlite_store: SqliteStore
) -> None:
    await run_sync(settings_for(sandbox), sqlite_store)
    before = records_alive()
    snapshot = load_snapshot(sqlite_store)
    assert records_alive() == before
    found = answer(parse("source:orgapi source:dialnexa"), snapshot, now=NOW, interval_seconds=900)
    stats = answer(parse("stats"), snapshot, now=NOW, interval_seconds=900)
    assert found.total == sum(stats.stats["by_source"].values()) == 40
    assert records_alive() == before
    page = found.numbers[20:40]
    assert records_alive() == before + len(page) == before + 20


def inventory(seed: int = 5) -> list[PhoneNumber]:
    """1,500 numbers with 400 agents (in mixed case) and 300 dates they became unassigned:
    more distinct values than one byte a row can tell apart. Some phone texts have more
    digits than a phone number, digits of another script, or none."""
    rng = random.Random(seed)
    odd = ("+1 415 555 0100 ext 7788990011", "+٤٤ ٢٠ ٧٩٤٦ ٠٩٥٨", "n/a", "")
    out = []
    for i in range(1500):
        unassigned = rng.random() < 0.4
        phone = (
            odd[i % 4] if i % 97 == 0 else f"+{rng.choice('1479')}{rng.randrange(10**9, 10**11)}"
        )
        agent = None if unassigned else f"Agent_{rng.randrange(400)}"
        out.append(
            PhoneNumber(
                source=rng.choice(("orgapi", "dialnexa")),
                account=rng.choice(("default", "eu")),
                number_id=f"n{i}",
                phone_number=phone,
                valid=rng.random() < 0.9,
                country_code=rng.choice(COUNTRIES),
                number_type=rng.choice(("local", "mobile", "toll_free", None)),
                carrier=rng.choice(("twilio", "Telnyx", None)),
                status="unassigned" if unassigned else "assigned",
                provider_status=rng.choice(("free", "active", None)),
                agent_id=agent,
                label=rng.choice(("Main line", "", None, f"Desk {i}")),
                inbound=rng.choice((True, False, None)),
                outbound=rng.choice((True, None)),
                created_at=NOW - dt.timedelta(seconds=rng.randrange(10**8)),
                first_seen_at=NOW - dt.timedelta(days=rng.randrange(400)),
                last_seen_at=NOW,
                unassigned_since=NOW - dt.timedelta(days=rng.randrange(300))
                if unassigned
                else None,
            )
        )
    return sorted(out, key=lambda n: (n.source, n.account, n.phone_number, n.number_id))


def phone_matches(n: PhoneNumber, text: str, everything: list[PhoneNumber]) -> bool:
    """What a phone word finds, read off the records one by one."""
    digits = _NON_DIGITS.sub("", text)
    own = _NON_DIGITS.sub("", n.phone_number)
    if text.startswith(("+", "00")):
        parsed = phonenumbers.parse(text.replace("00", "+", 1) if text.startswith("00") else text)
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        if any(m.phone_number == e164 for m in everything):
            return n.phone_number == e164
        return bool(digits) and own.startswith(digits[2:] if text.startswith("00") else digits)
    return bool(digits) and digits in own


def expected(numbers: list[PhoneNumber], query: Query) -> list[PhoneNumber]:
    fields = {
        "source": lambda n: n.source,
        "account": lambda n: n.account,
        "country": lambda n: n.country_code,
        "type": lambda n: n.number_type,
        "carrier": lambda n: n.carrier,
    }
    found = []
    for n in numbers:
        if query.phone and not phone_matches(n, query.phone, numbers):
            continue
        if query.status and n.status != query.status:
            continue
        if query.agent and (n.agent_id or "").lower() != query.agent.lower():
            continue
        if query.idle_days is not None and (
            n.unassigned_since is None or NOW - n.unassigned_since < dt.timedelta(query.idle_days)
        ):
            continue
        if any(
            (fields[key](n) or "").lower() not in {w.lower() for w in wanted}
            for key, wanted in query.filters.items()
        ):
            continue
        found.append(n)
    return found


STATES = [
    SourceState(source, account, "ok", NOW, NOW, None)
    for source in ("orgapi", "dialnexa")
    for account in ("default", "eu")
]


def test_answers_equal_a_scan_of_the_records_beyond_one_byte_a_row() -> None:
    numbers = inventory()
    snapshot = Snapshot(numbers=numbers, states=STATES)
    assert list(snapshot.numbers) == numbers
    some = numbers[777]
    texts = [
        "unassigned",
        f"agent {numbers[3].agent_id or 'agent_1'}".upper(),
        "agent agent_17 country:US",
        "idle 1d",
        "idle 120d source:dialnexa",
        "idle 290d",
        "country:gb type:MOBILE",
        "carrier:telnyx account:eu assigned",
        some.phone_number,
        _NON_DIGITS.sub("", some.phone_number)[3:9],
        "7788990011",
        "0101",
        "+1 415 555 0100",
        "00" + _NON_DIGITS.sub("", some.phone_number)[:5],
    ]
    for text in texts:
        query = parse(text)
        found = answer(query, snapshot, now=NOW, interval_seconds=900)
        assert list(found.numbers) == expected(numbers, query), text
        stats = answer(parse(f"stats {text}"), snapshot, now=NOW, interval_seconds=900).stats
        counted = Counter(n.country_code or "(none)" for n in expected(numbers, query))
        assert stats["by_country"] == dict(counted), text


def test_digits_of_another_script_are_found_as_typed() -> None:
    numbers = inventory()
    snapshot = Snapshot(numbers=numbers, states=STATES)
    found = answer(parse("٢٠٧٩٤٦"), snapshot, now=NOW, interval_seconds=900)
    assert [n.phone_number for n in found.numbers] == [
        n.phone_number for n in numbers if "٢٠ ٧٩٤٦" in n.phone_number
    ]
    assert found.total > 0


def test_filtered_changes_follow_their_numbers_and_removals_their_source() -> None:
    numbers = inventory()
    changes = [
        Change(
            ChangeKind.ADDED,
            n.source,
            n.account,
            n.number_id,
            n.phone_number,
            None,
            n.agent_id,
            None,
            NOW,
        )
        for n in numbers[::7]
    ] + [Change(ChangeKind.REMOVED, "orgapi", "eu", "gone", "+15550100", "a", None, None, NOW)]
    snapshot = Snapshot(numbers=numbers, states=STATES, changes=changes)
    by_id = {n.number_id: n for n in numbers}
    for text, wanted in (
        ("changes", lambda c: True),
        (
            "changes country:GB",
            lambda c: c.number_id in by_id and by_id[c.number_id].country_code == "GB",
        ),
        ("changes source:orgapi", lambda c: c.source == "orgapi"),
        ("changes unassigned", lambda c: c.number_id in by_id and by_id[c.number_id].unassigned),
    ):
        found = answer(parse(text), snapshot, now=NOW, interval_seconds=900)
        assert list(found.changes) == [c for c in changes if wanted(c)], text


def test_changes_are_paged_in_recorded_order_through_thousands_of_changes() -> None:
    rng = random.Random(9)
    numbers = sorted(
        (
            PhoneNumber(
                "orgapi",
                "default",
                f"n{i}",
                f"+1415{i:07d}",
                True,
                rng.choice(COUNTRIES),
                "local",
                None,
                "assigned",
                None,
                "a",
                None,
                None,
                None,
                None,
            )
            for i in range(9000)
        ),
        key=lambda n: n.phone_number,
    )
    changes = [
        Change(
            ChangeKind.ADDED, n.source, n.account, n.number_id, n.phone_number, None, "a", None, NOW
        )
        for n in rng.sample(numbers, len(numbers))
    ]
    snapshot = Snapshot(numbers=numbers, changes=changes)
    gb = {n.number_id for n in numbers if n.country_code == "GB"}
    wanted = [c for c in changes if c.number_id in gb]
    found = answer(parse("changes country:GB"), snapshot, now=NOW, interval_seconds=900)
    assert found.total == len(wanted)
    for start in (0, 20, 1000, len(wanted) - 5):
        assert found.changes[start : start + 20] == wanted[start : start + 20]
    assert list(found.changes) == wanted


def test_stats_count_hundreds_of_distinct_countries() -> None:
    numbers = [
        dataclasses.replace(n, country_code=f"X{i % 300}" if i % 11 else None)
        for i, n in enumerate(inventory())
    ]
    snapshot = Snapshot(numbers=numbers, states=STATES)
    for text in ("stats", "stats unassigned"):
        found = answer(parse(text), snapshot, now=NOW, interval_seconds=900)
        wanted = Counter(n.country_code or "(none)" for n in expected(numbers, parse(text)))
        assert found.stats["by_country"] == dict(wanted)
