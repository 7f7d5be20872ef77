"""Follow-ups in the Google Sheet: the Inventory's `Follow-up` column, the Summary's table and
`Changes`; through real syncs into the fake Sheets API, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncbot.followups import FollowUpBook, FollowUpRef, Person
from syncbot.models import Key, utc_now
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets.kit import SheetsSandbox, phone_number, run_result
from syncbot.settings import settings_from
from syncbot.sheets import INVENTORY_HEADER, SheetWriter
from syncbot.store.sql import SqlStore
from syncbot.sync import SyncOptions, run_sync
from tests import pg
from tests.conftest import FAST

ALICE = Person("U0ALICE", "alice")
BOB = Person("U0BOB", "bob")
FOLLOW_UP = INVENTORY_HEADER.index("Follow-up")
COSTS = '[{"monthly": 2}]'


@pytest.fixture(params=pg.BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with pg.migrated_store(request.param, tmp_path) as opened:
        yield opened


def by_key(box: SheetsSandbox) -> dict[Key, list[str]]:
    rows = box.fake.values(box.spreadsheet_id, "Inventory")[1:]
    return {(r[4], r[5], r[6]): r + [""] * (len(INVENTORY_HEADER) - len(r)) for r in rows}


def padded(box: SheetsSandbox) -> list[list[str]]:
    """The Inventory's values, each row as wide as two columns past syncbot's."""
    width = len(INVENTORY_HEADER) + 2
    rows = box.fake.values(box.spreadsheet_id, "Inventory")
    return [r + [""] * (width - len(r)) for r in rows]


def summary_table(box: SheetsSandbox, title: str) -> dict[str, list[str]]:
    rows = box.fake.values(box.spreadsheet_id, "Summary")
    start = next(i for i, row in enumerate(rows) if row and row[0] == title)
    table = {}
    for row in rows[start + 1 :]:
        if not row or not row[0]:
            break
        table[row[0]] = row[1:]
    return table


async def test_a_follow_up_taken_shows_in_the_next_syncs_sheet_and_goes_when_assigned(
    sandbox: Sandbox, box: SheetsSandbox, store: SqlStore
) -> None:
    settings = settings_from({**sandbox.env(), **box.env(), "NUMBER_COSTS": COSTS})
    options = SyncOptions(policy=FAST)
    first = await run_sync(settings, store, options=options)
    assert first.sheet.status == "ok", first.sheet.error
    assert tuple(box.fake.values(box.spreadsheet_id, "Inventory")[0]) == INVENTORY_HEADER
    free = [n for n in store.load_numbers() if n.unassigned and n.source == "orgapi"]
    taken, expected = free[0], free[1]
    store.take_followup(FollowUpRef(taken.key, taken.unassigned_since), ALICE)
    until = utc_now().date() + dt.timedelta(days=30)
    store.expect_followup(FollowUpRef(expected.key), BOB, until=until, reason="spring campaign")

    second = await run_sync(settings, store, options=options)

    assert second.sheet.status == "ok", second.sheet.error
    rows = by_key(box)
    today = second.started_at.date().isoformat()
    assert rows[taken.key][FOLLOW_UP] == f"@alice since {today}"
    assert rows[expected.key][FOLLOW_UP] == f"expected until {until.isoformat()}: spring campaign"
    numbers = {n.key: n for n in store.load_numbers()}
    others = {rows[k][FOLLOW_UP] for k in rows if k not in {taken.key, expected.key}}
    assert others == {"unowned", ""}
    assert all(rows[k][FOLLOW_UP] == "" for k, n in numbers.items() if not n.unassigned)
    unassigned = sum(n.unassigned for n in numbers.values())
    table = summary_table(box, "Follow-ups")
    assert table["Open"] == [str(unassigned)]
    assert table["Owned"] == ["1"]
    assert table["Expected"] == ["1"]
    assert table["Unowned"] == [str(unassigned - 2), f"{2 * (unassigned - 2):.2f}"]
    oldest = min(
        n.unassigned_since
        for k, n in numbers.items()
        if n.unassigned and k not in {taken.key, expected.key} and n.unassigned_since
    )
    assert table["Oldest unowned since"] == [oldest.isoformat().replace("+00:00", "Z")]
    changes = box.fake.values(box.spreadsheet_id, "Changes")
    acted = [row for row in changes if row[2].startswith(("taken by", "expected by"))]
    assert sorted((row[2], row[1], row[5]) for row in acted) == sorted(
        [
            ("taken by @alice", str(second.run_id), taken.number_id),
            (
                f"expected by @bob until {until.isoformat()}: spring campaign",
                str(second.run_id),
                expected.number_id,
            ),
        ]
    )
    assert store.sheet_columns(box.spreadsheet_id) == {"Follow-up"}

    # The provider routes the taken number: the next sync empties its cell, and the actions
    # already in Changes are not written again.
    for record in sandbox.orgapi.records:
        if record["phone_number_id"] == taken.number_id:
            record.update(status="assigned", assigned_agent_id="agent_routed")
    third = await run_sync(settings, store, options=options)
    assert third.sheet.status == "ok", third.sheet.error
    assert by_key(box)[taken.key][FOLLOW_UP] == ""
    assert by_key(box)[expected.key][FOLLOW_UP].startswith("expected until")
    changes = box.fake.values(box.spreadsheet_id, "Changes")
    assert sum(row[2].startswith(("taken by", "expected by")) for row in changes) == 2
    assert summary_table(box, "Follow-ups")["Owned"] == ["0"]


def _book(number_id: str) -> FollowUpBook:
    from syncbot.followups import FollowUp  # noqa: PLC0415 - local to the helper

    key = ("orgapi", "default", number_id)
    at = dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
    followup = FollowUp(key=key, since=at, owner=ALICE, owned_at=at)
    return FollowUpBook(today=at.date(), followups={key: followup})


def test_a_follow_up_column_people_had_before_stays_theirs_and_syncbots_comes_in_beside_it(
    box: SheetsSandbox,
) -> None:
    writer = SheetWriter(box.settings())
    numbers = [phone_number(i) for i in range(4)]
    writer.write(inventory=numbers, changes=[], run=run_result(1))
    # The sheet as an older syncbot left it, with a column of people's own named Follow-up in
    # the first free column right of Stale.
    worksheet = box.spreadsheet().worksheet("Inventory")
    worksheet.delete_columns(FOLLOW_UP + 1)
    theirs: list[list[Any]] = [["Follow-up"], ["call the carrier"], [""], ["ask Dana"], ["n/a"]]
    worksheet.update(theirs, "T1:T5")
    unassigned = numbers[0]  # every third number is unassigned
    assert unassigned.unassigned

    writer.write(
        inventory=numbers,
        changes=[],
        run=run_result(2),
        followups=_book(unassigned.number_id),
        fresh_columns=frozenset({"Follow-up"}),
    )

    values = padded(box)
    assert values[0][FOLLOW_UP : FOLLOW_UP + 2] == ["Follow-up", "Follow-up"]
    ours = {row[6]: row[FOLLOW_UP] for row in values[1:]}
    people = {row[6]: row[FOLLOW_UP + 1] for row in values[1:]}
    assert ours[unassigned.number_id] == "@alice since 2024-01-03"
    assert people == {
        numbers[0].number_id: "call the carrier",
        numbers[1].number_id: "",
        numbers[2].number_id: "ask Dana",
        numbers[3].number_id: "n/a",
    }

    # Later writes (the store now knows the column is syncbot's) keep both as they are.
    writer.write(inventory=numbers, changes=[], run=run_result(3), followups=_book("none"))
    values = padded(box)
    assert values[0][FOLLOW_UP : FOLLOW_UP + 2] == ["Follow-up", "Follow-up"]
    assert {row[6]: row[FOLLOW_UP] for row in values[1:]}[unassigned.number_id] == "unowned"
    assert {row[6]: row[FOLLOW_UP + 1] for row in values[1:]} == people


def test_the_store_remembers_which_spreadsheets_have_syncbots_columns(store: SqlStore) -> None:
    assert store.sheet_columns("sheet-a") == frozenset()
    store.add_sheet_columns("sheet-a", ["Follow-up"])
    store.add_sheet_columns("sheet-a", ["Follow-up"])
    assert store.sheet_columns("sheet-a") == {"Follow-up"}
    assert store.sheet_columns("sheet-b") == frozenset()
