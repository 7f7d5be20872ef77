"""The latest committed sync as the query engine holds it: columns, not an object per number.

500,000 numbers as ``PhoneNumber`` objects take about 700 MB; as columns (``inventory.py``,
``changelog.py``) they take a tenth of that, and a query selects rows as bitmaps in
milliseconds. Records are made only for what an answer shows.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

import phonenumbers

from syncbot.costs import Tally
from syncbot.models import (
    Change,
    ChangeKind,
    Key,
    PhoneNumber,
    RunRecord,
    SheetState,
    SourceState,
)
from syncbot.query.bitmaps import all_rows, positions
from syncbot.query.changelog import ChangeLog
from syncbot.query.inventory import Inventory
from syncbot.query.rows import LinkedRows, Rows
from syncbot.store import Store
from syncbot.store.base import NumberBatch

_NON_DIGITS = re.compile(r"\D")
CountedField = Literal["source_key", "status", "country", "type"]


class Snapshot:
    """The latest committed sync: inventory, run, source and sheet health, the run's changes."""

    __slots__ = ("_changes", "_inventory", "_unassigned", "run", "sheet", "states")

    def __init__(
        self,
        *,
        numbers: Iterable[PhoneNumber] | Iterable[NumberBatch] = (),
        run: RunRecord | None = None,
        states: Iterable[SourceState] = (),
        changes: Iterable[Change] = (),
        sheet: SheetState | None = None,
    ) -> None:
        """``numbers`` in inventory order, as records or as the store's batches."""
        self.run = run
        self.states = list(states)
        self.sheet = sheet
        log = ChangeLog(changes)
        self._inventory = Inventory(log.link(_batches(numbers)), self.states)
        self._changes = log
        self._unassigned: dict[Key, int] | None = None

    def with_outcome(self, run: RunRecord, sheet: SheetState | None) -> Snapshot:
        """The same sync with its run's final record and the sheet's health, as stored once
        the sheet was written: the numbers and changes are shared, not loaded again."""
        outcome = copy.copy(self)
        outcome.run, outcome.sheet = run, sheet
        return outcome

    @property
    def run_id(self) -> int | None:
        return self.run.run_id if self.run else None

    @property
    def numbers(self) -> Rows[PhoneNumber]:
        """Every number, in inventory order; records are made as they are read."""
        return self.numbers_in(all_rows(self._inventory.count))

    @property
    def changes(self) -> Rows[Change]:
        return Rows(all_rows(self._changes.count), self._changes.change)

    def numbers_in(self, selected: int) -> Rows[PhoneNumber]:
        return Rows(selected, self._inventory.number)

    # -- selections: bitmaps of inventory rows ------------------------------------------------

    def everything(self) -> int:
        return all_rows(self._inventory.count)

    def phone_bits(self, text: str) -> int:
        """Numbers matching a phone number in any format, or containing a run of digits."""
        digits = _NON_DIGITS.sub("", text)
        index = self._inventory.digits
        if text.lstrip().startswith(("+", "00")):
            try:
                parsed = phonenumbers.parse(
                    text.replace("00", "+", 1) if text.startswith("00") else text
                )
            except phonenumbers.NumberParseException:
                parsed = None
            if parsed is not None and phonenumbers.is_possible_number(parsed):
                e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                exact = self._exactly(index.equal(e164[1:]), e164)
                if exact:
                    return exact
            if text.startswith("00"):
                digits = digits[2:]
            return index.starting(digits) if digits else 0
        return index.containing(digits) | self._national(text) if digits else 0

    def _national(self, text: str) -> int:
        """The numbers ``text`` names in the national format of one of the inventory's
        countries, trunk prefix included (``0113 210 3762`` in GB is ``+44 113 210 3762``)."""
        found = 0
        for region in sorted(self.filter_values()["country"]):
            try:
                parsed = phonenumbers.parse(text, region.upper())
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_possible_number(parsed):
                e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                found |= self._exactly(self._inventory.digits.equal(e164[1:]), e164)
        return found

    def _exactly(self, candidates: int, phone: str) -> int:
        """The ``candidates`` whose phone text is ``phone`` itself, not only its digits."""
        return sum(
            1 << row for row in Rows(candidates, int) if self._inventory.phones[row] == phone
        )

    def status_bits(self, status: str) -> int:
        return self._inventory.statuses.where(lambda value: value == status)

    def agent_bits(self, agent: str) -> int:
        return self._inventory.agents.folded((agent.lower(),))

    def unassigned_since_bits(self, cutoff: dt.datetime) -> int:
        """Numbers unassigned since ``cutoff`` or earlier."""
        return self._inventory.since.where(lambda value: value is not None and value <= cutoff)

    def field_bits(self, field: str, wanted: Iterable[str]) -> int:
        """Numbers whose ``field`` (a ``FILTER_KEYS`` key) is one of ``wanted``, ignoring case."""
        lowered = {w.lower() for w in wanted}
        inventory = self._inventory
        if field in {"source", "account"}:
            part = 0 if field == "source" else 1
            return inventory.sources.where(lambda value: value[part].lower() in lowered)
        column = {
            "country": inventory.countries,
            "type": inventory.types,
            "carrier": inventory.carriers,
        }[field]
        return column.folded(lowered)

    def filter_values(self) -> dict[str, set[str]]:
        """The values each filter key can match, for hints on a value no number has."""
        inventory = self._inventory
        return {
            "source": {source for source, _ in inventory.sources.values if source},
            "account": {account for _, account in inventory.sources.values if account},
            "country": {value for value in inventory.countries.values if value},
            "type": {value for value in inventory.types.values if value},
            "carrier": {value for value in inventory.carriers.values if value},
        }

    def keys_in(self, selected: int) -> set[Key]:
        """The keys (source, account, number id) of the ``selected`` numbers."""
        inventory = self._inventory
        return {
            (*inventory.sources[row], inventory.number_ids[row] or "")
            for row in positions(selected)
        }

    def key_bits(self, keys: Iterable[Key], *, within: int) -> int:
        """The unassigned rows among ``within`` whose key is one of ``keys`` (follow-ups:
        few, and changing between syncs, so matched per question through ``unassigned_rows``)."""
        if not within:
            return 0
        rows = self.unassigned_rows()
        found = 0
        for key in keys:
            row = rows.get(key)
            if row is not None:
                found |= 1 << row
        return found & within

    def unassigned_rows(self) -> dict[Key, int]:
        """Each unassigned number's row by key, made on first use (the numbers follow-ups
        can name; the Slack app makes it while loading, off the event loop)."""
        if self._unassigned is None:
            inventory = self._inventory
            self._unassigned = {
                (*inventory.sources[row], inventory.number_ids[row] or ""): row
                for row in positions(self.status_bits("unassigned"))
            }
        return self._unassigned

    def earliest_unassigned(self, selected: int) -> dt.datetime | None:
        """The earliest ``unassigned_since`` among the ``selected`` numbers."""
        since = self._inventory.since
        times = [t for row in positions(selected) if (t := since[row]) is not None]
        return min(times, default=None)

    def tallies(self, selected: int, *, idle_since: dt.datetime) -> list[Tally]:
        """The ``selected`` numbers counted by what their price depends on, and whether they
        are unassigned, and unassigned since ``idle_since`` or earlier."""
        inventory = self._inventory
        unassigned = selected & self.status_bits("unassigned")
        idle = unassigned & self.unassigned_since_bits(idle_since)
        out = []
        for code, (source, account) in enumerate(inventory.sources.values):
            of_source = selected & inventory.sources.bits((code,))
            for country_code, country in enumerate(inventory.countries.values):
                of_country = (
                    of_source & inventory.countries.bits((country_code,)) if of_source else 0
                )
                for type_code, kind in enumerate(inventory.types.values):
                    alike = of_country & inventory.types.bits((type_code,)) if of_country else 0
                    if not alike:
                        continue
                    free = (alike & unassigned).bit_count()
                    long_free = (alike & idle).bit_count()
                    for is_free, is_idle, count in (
                        (False, False, alike.bit_count() - free),
                        (True, False, free - long_free),
                        (True, True, long_free),
                    ):
                        if count:
                            out.append(
                                Tally(source, account, country, kind, is_free, is_idle, count)
                            )
        return out

    def counts(self, field: CountedField, selected: int) -> Counter[str]:
        """How many ``selected`` numbers hold each value of ``field``; no value is "(none)",
        as in the sheet's Summary."""
        inventory = self._inventory
        out: Counter[str] = Counter()
        if field == "source_key":
            for (source, account), n in inventory.sources.counts(selected, inventory.count).items():
                out[f"{source}/{account}"] += n
        elif field == "status":
            out.update(inventory.statuses.counts(selected, inventory.count))
        else:
            column = inventory.countries if field == "country" else inventory.types
            for value, n in column.counts(selected, inventory.count).items():
                out[value or "(none)"] += n
        return out

    def changes_of(
        self, selected: int | None, *, removed: Callable[[str, str], bool]
    ) -> Rows[Change]:
        """The changes of the ``selected`` numbers (all with ``None``), and the removals of
        numbers whose source and account pass ``removed``."""
        log = self._changes
        if selected is None:
            return self.changes
        gone = log.kinds.where(lambda kind: kind is ChangeKind.REMOVED) & log.sources.where(
            lambda value: removed(*value)
        )
        return LinkedRows(
            selected,
            gone,
            log.change,
            pointers=log.number_rows,
            blocks=log.blocks,
            targets=self._inventory.count,
        )

    # -- what earlier versions offered, as records ------------------------------------------

    def with_phone(self, text: str) -> Rows[PhoneNumber]:
        return self.numbers_in(self.phone_bits(text))

    def with_status(self, status: str) -> Rows[PhoneNumber]:
        """The numbers with this status, in inventory order."""
        return self.numbers_in(self.status_bits(status))


def _batches(numbers: Iterable[PhoneNumber] | Iterable[NumberBatch]) -> Iterator[NumberBatch]:
    listed: list[PhoneNumber] = []
    for item in numbers:
        if isinstance(item, NumberBatch):
            yield item
        else:
            listed.append(item)
    if listed:
        yield NumberBatch.of(listed)


def load_snapshot(store: Store) -> Snapshot:
    """The latest committed run's snapshot.

    Its parts are read in several transactions; a sync committed meanwhile (the latest run id
    moved) means they may not match, so they are read again.
    """
    for _ in range(3):
        run = store.latest_run()
        snapshot = Snapshot(
            numbers=store.scan_numbers(),
            run=run,
            states=store.source_states(),
            changes=store.iter_changes(run.run_id) if run else (),
            sheet=store.sheet_state(),
        )
        latest = store.latest_run()
        if (latest.run_id if latest else None) == snapshot.run_id:
            break
    return snapshot
