"""What a sheet write reads and wants, row by row into its scratch file.

``desired`` walks the inventory once, its rows into the scratch file and its counts into the
Summary's tally; ``Reading`` takes the Inventory's rows a window at a time, each row's key,
managed cells and people's cells into the scratch file, after finding where each managed
column is (retired columns go, missing ones come back). Neither holds more than a window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from syncbot.costs import CostRules
from syncbot.errors import SheetError
from syncbot.followups import FollowUpAction, FollowUpBook
from syncbot.models import Change, ChangeKind, Key
from syncbot.sheets import ops
from syncbot.sheets.client import compact_json
from syncbot.sheets.existing import Tab, Value, display, row_key
from syncbot.sheets.layout import (
    INVENTORY_HEADER,
    KEY_COLUMNS,
    RETIRED_HEADERS,
    followup_texts,
    inventory_rows,
)
from syncbot.sheets.scratch import Scratch, pack
from syncbot.sheets.summary import FollowUpTally, SummaryTally
from syncbot.sheets.summary_costs import CostTally
from syncbot.store.base import InventoryStream, as_batches

_WIDTH = len(INVENTORY_HEADER)
_IN_PLACE = list(range(_WIDTH))
_NO_KEY: Key = ("", "", "")


@dataclass(slots=True)
class Desired:
    """The Inventory a sync wants: how many numbers (their rows are in the scratch file) and
    the Summary's counts."""

    count: int = 0
    summary: SummaryTally = field(default_factory=SummaryTally)
    # What people did on follow-ups since the previous write, for ``Changes``.
    actions: Sequence[FollowUpAction] = ()
    # Managed headers syncbot never wrote to this sheet: a column found there under one of
    # these names is people's, and syncbot inserts its own.
    fresh_columns: frozenset[str] = frozenset()


def desired(
    inventory: InventoryStream,
    costs: CostRules,
    *,
    now: dt.datetime,
    scratch: Scratch,
    followups: FollowUpBook | None = None,
    fresh_columns: frozenset[str] = frozenset(),
) -> Desired:
    """Walk the inventory once (it may be a stream, of records or of the store's batches): its
    rows into ``scratch``, and the Summary's counts (and money, when ``costs`` has rules;
    ``now`` tells which numbers have been idle long; and who is on the unassigned ones, with
    ``followups``)."""
    want = Desired(fresh_columns=fresh_columns)
    if costs.configured:
        want.summary.costs = CostTally(costs.currency, now)
    tally = None
    if followups is not None:
        tally = want.summary.followups = FollowUpTally()
        want.actions = followups.actions
    for batch in as_batches(inventory):
        b = batch.numbers
        prices: list[float | None] = [None] * len(batch)
        if costs.configured:
            prices = list(map(costs.price, b.source, b.account, b.country_code, b.number_type))
        want.summary.add_batch(batch, prices)
        if followups is not None and tally is not None:
            tally.add_batch(batch, prices, followups)
        texts = followup_texts(batch, followups)
        packed = map(pack, inventory_rows(batch, prices, texts))
        scratch.add_wanted(zip(b.source, b.account, b.number_id, packed, strict=True))
    want.count = scratch.wanted
    return want


@dataclass(slots=True)
class Columns:
    """Where each managed column is after retired columns go and missing ones come back."""

    managed: list[int]
    width: int
    requests: list[bytes]
    # What each column was before: its index then, or the header of a column inserted now.
    origin: list[int | str] | None

    def remap(self, row: list[Value]) -> list[Value]:
        if self.origin is None:
            return row
        moved = [row[o] if isinstance(o, int) and o < len(row) else "" for o in self.origin]
        while moved and moved[-1] == "":
            moved.pop()
        return moved


def columns(header: Sequence[str], tab: Tab, fresh: frozenset[str] = frozenset()) -> Columns:
    found: dict[str, int] = {}
    for position, name in enumerate(header):
        # A column named like a managed one syncbot never wrote here is people's own.
        if name not in fresh:
            found.setdefault(name, position)
    missing_keys = [INVENTORY_HEADER[c] for c in KEY_COLUMNS if INVENTORY_HEADER[c] not in found]
    if missing_keys:
        raise SheetError(
            f"The Inventory tab's row 1 has no {', '.join(missing_keys)} column, so syncbot "
            "cannot tell which row is which number; it left the sheet as it was. Put the "
            "header back (undo, or type it), or rename the tab so that syncbot starts a new one."
        )
    sheet_id = tab.sheet_id
    origin: list[int | str] = list(range(max(tab.cols, len(header))))
    requests = []
    for position in reversed([i for i, n in enumerate(header) if n in RETIRED_HEADERS]):
        requests.append(ops.delete_dimension(sheet_id, "COLUMNS", position, position + 1))
        del origin[position]
    previous: int | str | None = None
    for name in INVENTORY_HEADER:
        if name not in found:
            at = origin.index(previous) + 1 if previous is not None else 0
            last = at == len(origin)
            requests.append(ops.insert_dimension(sheet_id, "COLUMNS", at, 1, inherit_before=last))
            origin.insert(at, name)
        previous = found.get(name, name)
    if not requests:
        return Columns([found[name] for name in INVENTORY_HEADER], len(origin), [], None)
    managed = [origin.index(found.get(name, name)) for name in INVENTORY_HEADER]
    return Columns(managed, len(origin), requests, origin)


def rekeyed(changes: Iterable[Change]) -> dict[Key, Key]:
    """Each re-keyed number's old key and new one (``ChangeKind.REKEYED``)."""
    return {
        (c.source, c.account, c.previous_id): c.key
        for c in changes
        if c.kind is ChangeKind.REKEYED and c.previous_id is not None
    }


class Reading:
    """The Inventory as it is read, window by window, into the scratch file.

    While every row read holds the next wanted number with its wanted cells, in syncbot's
    order (an unchanged sync), rows are only compared and counted: the first row that does
    not (or the end of a read that does not match the inventory whole) copies the rows
    matched so far from the wanted ones, and the rest is kept row by row for the plan's joins.
    """

    def __init__(
        self,
        tab: Tab,
        header_row: Sequence[Value],
        scratch: Scratch,
        *,
        fresh: frozenset[str] = frozenset(),
        renamed: Mapping[Key, Key] | None = None,
    ) -> None:
        self.tab = tab
        # Re-keyed numbers' old keys and new ones: their rows are read as the new key's, so
        # each keeps its place and gets its Number ID cell updated in place.
        self.renamed = renamed or {}
        self.header = [display(v) for v in header_row]
        self.scratch = scratch
        self.rows = 0
        self.filled = 0
        self.longest = 0
        self.columns: Columns | None = None
        self.problem: SheetError | None = None
        try:
            self.columns = columns(self.header, tab, fresh)
        except SheetError as exc:
            # A blank tab has no header either: only a tab with rows is refused.
            self.problem = exc
        self._key_cols: tuple[int, int, int] = (0, 0, 0)
        self._theirs: list[int] = []
        if self.columns is not None:
            managed = self.columns.managed
            self._key_cols = (
                managed[KEY_COLUMNS[0]],
                managed[KEY_COLUMNS[1]],
                managed[KEY_COLUMNS[2]],
            )
            mine = set(managed)
            self._theirs = [c for c in range(self.columns.width) if c not in mine]
        scratch.start_read()
        # Comparing row for row needs the managed columns where syncbot puts them.
        self._matching = self.columns is not None and self.columns.managed == _IN_PLACE
        self._wants = scratch.wanted_digests() if self._matching else None
        self._matched = 0
        # Blank rows read after the last wanted number, and people's cells of matched rows.
        self._blank = 0
        self._theirs_matched: list[tuple[int, Key, str]] = []

    @property
    def blank(self) -> bool:
        return not any(self.header) and not self.filled

    @property
    def identical(self) -> bool:
        """Whether the rows read hold the inventory's numbers in its order, each with its
        wanted cells, and nothing else but blank rows: a plan with nothing to write there."""
        return self._matching and self._matched == self.scratch.wanted

    @property
    def read_key_cols(self) -> tuple[int, ...]:
        """Where the key columns are in the tab as read, before the write moves columns."""
        origin = self.columns.origin if self.columns is not None else None
        if origin is None:
            return self._key_cols
        return tuple(int(origin[c]) for c in self._key_cols)

    def add(self, rows: Sequence[list[Value]]) -> None:
        """The next window's rows, as read (trailing empty rows may be missing)."""
        if self.columns is None:
            self.filled += sum(any(v != "" for v in row) for row in rows)
            self.rows += len(rows)
            return
        if self._matching:
            matched = self._match(rows)
            if matched == len(rows):
                return
            self.settle()
            rows = rows[matched:]
        self._keep(rows)

    def finish(self) -> None:
        """The last window is in: unless the read matched the inventory whole, what it
        matched goes to the scratch file too."""
        if self._wants is not None:
            self._wants.close()
            self._wants = None
        if not self.identical:
            self.settle()

    def settle(self) -> None:
        """Stop matching: the rows matched so far go to the scratch file as their wanted rows
        (the plan's joins need every row read)."""
        if not self._matching:
            return
        self._matching = False
        if self._wants is not None:
            self._wants.close()
            self._wants = None
        self.scratch.add_matched(self._matched)
        self.scratch.add_theirs(self._theirs_matched)
        self._theirs_matched = []
        blank = pack([""] * _WIDTH)
        self.scratch.add_read(
            [(self._matched + k, _NO_KEY, blank, None, False) for k in range(self._blank)]
        )

    def _match(self, rows: Sequence[list[Value]]) -> int:
        """How many of ``rows`` hold the next wanted numbers with their cells, or are blank
        once every wanted number was found; those are counted, not kept."""
        wants, key_cols, renamed, theirs = self._wants, self._key_cols, self.renamed, self._theirs
        assert wants is not None
        for k, row in enumerate(rows):
            n = len(row)
            want = None if self._blank else wants.fetchone()
            if want is None:
                # Past the last wanted number only blank rows still match.
                if any(v != "" for v in row):
                    return k
                self._blank += 1
            else:
                key = row_key(row, key_cols)
                if renamed:
                    key = renamed.get(key, key)
                mine = row[:_WIDTH] if n >= _WIDTH else row + [""] * (_WIDTH - n)
                if want != (*key, hash(tuple(mine))):
                    return k
                if n > _WIDTH:
                    cells = [[c, row[c]] for c in theirs if c < n and row[c] != ""]
                    if cells:
                        people = compact_json(cells).decode()
                        self._theirs_matched.append((self.rows, key, people))
                self._matched += 1
                self.filled += 1
            self.longest = max(self.longest, n)
            self.rows += 1
        return len(rows)

    def _keep(self, rows: Sequence[list[Value]]) -> None:
        """Rows as read, one by one into the scratch file."""
        columns = self.columns
        assert columns is not None
        managed, theirs, key_cols = columns.managed, self._theirs, self._key_cols
        reach = theirs[0] if theirs else _WIDTH
        out = []
        for read in rows:
            row = columns.remap(read)
            n = len(row)
            self.longest = max(self.longest, n)
            filled = any(v != "" for v in row)
            self.filled += filled
            key = row_key(row, key_cols)
            if self.renamed:
                key = self.renamed.get(key, key)
            mine = [row[m] if m < n else "" for m in managed]
            people = None
            if n > reach and any(key):
                cells = [[c, row[c]] for c in theirs if c < n and row[c] != ""]
                if cells:
                    people = compact_json(cells).decode()
            out.append((self.rows, key, pack(mine), people, filled))
            self.rows += 1
        self.scratch.add_read(out)
