"""What each tab shows, as plain rows: pure functions, no Google types and no I/O.

Every provider-derived value is text, written RAW by the writer. Booleans are ``yes``/``no``
(text, so they read the same in the sheet, in CSV and in a filter), missing values are "".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence

from syncbot import query
from syncbot.costs import Cost, round_money
from syncbot.followups import ActionKind, FollowUpAction, FollowUpBook
from syncbot.models import Change, ChangeKind, Key, PhoneNumber, RunResult, iso
from syncbot.store.base import InventoryBatch

INVENTORY = "Inventory"
SUMMARY = "Summary"
CHANGES = "Changes"
SYNC_LOG = "Sync log"
TABS = (INVENTORY, SUMMARY, CHANGES, SYNC_LOG)

INVENTORY_HEADER: tuple[str, ...] = (
    "Phone number",
    "Status",
    "Agent",
    "Label",
    "Source",
    "Account",
    "Number ID",
    "Country",
    "Type",
    "Carrier",
    "Inbound",
    "Outbound",
    "Provider status",
    "Created at",
    "First seen",
    "Unassigned since",
    "Monthly cost",
    "Valid",
    "Stale",
    "Follow-up",
)
FOLLOW_UP = "Follow-up"
# Managed columns that came after people could add columns of their own: a column of theirs
# with the same name that was there before syncbot first wrote its own stays theirs.
LATER_HEADERS = frozenset({FOLLOW_UP})
# Where a number's identity (Source, Account, Number ID) sits in an Inventory row.
KEY_COLUMNS = (4, 5, 6)
INVENTORY_WIDTHS: tuple[int, ...] = (130, 90, 140, 180, 80, 90, 200, 70, 80, 80, 70, 70, 110)
INVENTORY_WIDTHS += (160, 160, 160, 90, 60, 60, 260)
_COST = INVENTORY_HEADER.index("Monthly cost")
# Columns older versions wrote and this one drops from an existing sheet.
RETIRED_HEADERS = frozenset({"Last seen"})

CHANGES_HEADER: tuple[str, ...] = (
    "At",
    "Run",
    "Change",
    "Source",
    "Account",
    "Number ID",
    "Phone number",
    "Agent before",
    "Agent after",
    "Label",
    "Notes kept from Inventory",
)
CHANGES_WIDTHS = (160, 50, 90, 80, 90, 200, 130, 140, 140, 180, 400)

SYNC_LOG_HEADER: tuple[str, ...] = (
    "Run",
    "Started at",
    "Finished at",
    "Status",
    "Numbers",
    "Unassigned numbers",
    "Added",
    "Removed",
    "Newly assigned",
    "Newly unassigned",
    "Reassigned",
    "Sources",
    # After Sources, so that the rows of an older syncbot keep their columns under the header.
    "Unassigned monthly cost",
)
SYNC_LOG_WIDTHS = (50, 160, 160, 70, 70, 90, 60, 60, 90, 90, 80, 600, 110)


# Google's limit on one cell, counted here in UTF-16 code units: its documentation does not say
# whether it counts characters or units (as JavaScript does), and an emoji is one character but
# two units, so this holds either way. Longer provider text is cut and says so.
MAX_CELL_CHARS = 50_000

Cell = str | int | float
Row = list[Cell]


def utf16_len(text: str) -> int:
    """``text``'s length in UTF-16 code units: characters past U+FFFF take two."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int = MAX_CELL_CHARS) -> str:
    """``text`` shortened to ``limit`` UTF-16 units, ending with a marker that says how many
    characters went."""
    # Every character takes one or two units, so only text over half the limit can be over it.
    if len(text) * 2 <= limit or utf16_len(text) <= limit:
        return text
    # The marker's own length depends on the count it shows, so size it for the worst case.
    room = limit - utf16_len(_marker(len(text)))
    # Dropping an incomplete trailing pair keeps the cut from splitting an emoji in two.
    kept = text.encode("utf-16-le")[: room * 2].decode("utf-16-le", "ignore")
    return kept + _marker(len(text) - len(kept))


def _marker(dropped: int) -> str:
    return f" …[cut by syncbot: {dropped} more characters]"


def or_blank(value: str | None) -> str:
    return "" if value is None else value


def when_text(value: dt.datetime | None) -> str:
    return iso(value) or ""


def inventory_rows(
    batch: InventoryBatch,
    prices: Sequence[float | None],
    followups: Sequence[str],
    *,
    cut_long: bool = True,
) -> Iterator[tuple[Cell, ...]]:
    """Each number's Inventory row, in ``INVENTORY_HEADER`` order: ``prices`` are the numbers'
    monthly costs and ``followups`` who is on each (``followup_texts``). With ``cut_long``,
    text over Google's cell limit is cut (a sheet's rows; a CSV keeps it whole)."""
    # Built a column at a time: a call per cell of each row cost more than the rest of a sync's
    # sheet write.
    b = batch.numbers
    texts: list[Sequence[str]] = [
        b.phone_number,
        b.status,
        _blank(b.agent_id),
        _blank(b.label),
        b.source,
        b.account,
        b.number_id,
        _blank(b.country_code),
        _blank(b.number_type),
        _blank(b.carrier),
        _yes_no(b.inbound),
        _yes_no(b.outbound),
        _blank(b.provider_status),
        # Creation times are mostly distinct, the other two mostly a few syncs' starts.
        [when_text(value) for value in b.created_at],
        _times(b.first_seen_at),
        _times(b.unassigned_since),
        _yes_no(b.valid),
        _yes_no(batch.stale),
        followups,
    ]
    if cut_long:
        texts = [_cut_all(column) for column in texts]
    costs: list[Cell] = ["" if price is None else price for price in prices]
    return zip(*texts[:_COST], costs, *texts[_COST:], strict=True)


def inventory_row(n: PhoneNumber, monthly: float | None, followup: str = "") -> Row:
    """One Inventory row, text kept whole (``inventory_rows`` of one number)."""
    rows = inventory_rows(InventoryBatch.of([n]), [monthly], [followup], cut_long=False)
    return list(next(rows))


def followup_texts(batch: InventoryBatch, book: FollowUpBook | None) -> list[str]:
    """Each number's Follow-up cell: who is on it, for an unassigned one."""
    texts = [""] * len(batch)
    if book is not None:
        b = batch.numbers
        for i, status in enumerate(b.status):
            if status == "unassigned":
                texts[i], _ = book.of_unassigned((b.source[i], b.account[i], b.number_id[i]))
    return texts


_YES_NO: dict[bool | None, str] = {True: "yes", False: "no", None: ""}


def _blank(values: Sequence[str | None]) -> list[str]:
    return ["" if value is None else value for value in values]


def _yes_no(values: Sequence[bool | None]) -> list[str]:
    return list(map(_YES_NO.__getitem__, values))


def _times(values: Sequence[dt.datetime | None]) -> list[str]:
    """Each time as text, each distinct one formatted once."""
    texts = {value: when_text(value) for value in set(values)}
    return list(map(texts.__getitem__, values))


def _cut_all(texts: Sequence[str]) -> Sequence[str]:
    # A character takes one or two UTF-16 units: only a column whose longest text is over half
    # the limit can hold one to cut.
    if max(map(len, texts), default=0) * 2 <= MAX_CELL_CHARS:
        return texts
    return [cut(text) for text in texts]


def change_row(change: Change, *, run_id: int | None, notes: str = "") -> list[str]:
    """One Changes row; ``notes`` holds what people wrote on a removed number's row. A change
    built before its run had an id takes ``run_id``."""
    run = change.run_id if change.run_id is not None else run_id
    if change.kind is ChangeKind.REKEYED:
        # The Number ID column holds the new id; what it was goes beside what people wrote.
        was = f"Number ID was {change.previous_id}"
        notes = f"{was}; {notes}" if notes else was
    return [
        when_text(change.at),
        "" if run is None else str(run),
        "re-keyed" if change.kind is ChangeKind.REKEYED else change.kind.value,
        change.source,
        change.account,
        change.number_id,
        change.phone_number,
        or_blank(change.agent_before),
        or_blank(change.agent_after),
        or_blank(change.label),
        notes,
    ]


_DONE = {ActionKind.TAKE: "taken", ActionKind.EXPECT: "expected", ActionKind.RELEASE: "let go"}


def followup_row(action: FollowUpAction, *, run_id: int | None) -> list[str]:
    """A Changes row for what someone did on a follow-up (between this run and the one before):
    ``taken by @alice``, ``expected by @bob until 2027-01-05: spring campaign``."""
    source, account, number_id = action.key
    what = f"{_DONE[action.kind]} by {action.who.handle}"
    if action.kind is ActionKind.EXPECT and action.until is not None:
        what += f" until {action.until.isoformat()}"
        if action.reason:
            what += f": {action.reason}"
    run = "" if run_id is None else str(run_id)
    cells = [when_text(action.at), run, what, source, account, number_id, action.phone_number]
    return cells + [""] * (len(CHANGES_HEADER) - len(cells))


def dropped_row(
    at: dt.datetime, run_id: int | None, key: Key, reason: str, notes: str
) -> list[str]:
    """A Changes row for an Inventory row that went without a change saying why (the sheet was
    out of step with the store, or two rows held the same number)."""
    source, account, number_id = key
    run = "" if run_id is None else str(run_id)
    return [when_text(at), run, reason, source, account, number_id, "", "", "", "", notes]


def sync_log_row(run: RunResult) -> Row:
    """One Sync log row: the run's outcome and each source's."""
    changes = run.changes
    return [
        "" if run.run_id is None else run.run_id,
        when_text(run.started_at),
        when_text(run.finished_at),
        run.status,
        run.total,
        run.unassigned,
        changes.get("added", 0),
        changes.get("removed", 0),
        changes.get("assigned", 0),
        changes.get("unassigned", 0),
        changes.get("reassigned", 0),
        # A run without sources (`syncbot forget`) says what it did instead.
        cut(
            "; ".join(_source_outcome(key, run) for key in sorted(run.sources)) or run.message or ""
        ),
        "" if run.monthly_cost is None else money_cell(run.monthly_cost.unassigned),
    ]


def money_cell(cost: Cost) -> float:
    """An amount as a number cell, rounded to its currency's decimals."""
    return round_money(cost.amount, cost.currency)


def _source_outcome(key: str, run: RunResult) -> str:
    source = run.sources[key]
    if source.status == "ok":
        numbers, pages = query.counted(source.count, "number"), query.counted(source.pages, "page")
        return f"{key} ok: {numbers} in {pages}"
    return f"{key} failed: {source.error or 'no reason given'}"


def notes_text(pairs: Iterable[tuple[str, str]]) -> str:
    """People's cells of one row as ``Header: value | Header: value``."""
    return " | ".join(f"{header}: {value}" for header, value in pairs)
