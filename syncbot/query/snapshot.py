"""The latest committed sync as the query engine holds it: columns, not an object per number.

500,000 numbers as ``PhoneNumber`` objects take about 700 MB; as columns (``columns.py``) they
take a tenth of that, and a query selects rows as bitmaps in milliseconds. Records are made
only for what an answer shows.
"""

from __future__ import annotations

import datetime as dt
import re
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice, repeat
from typing import Literal

import phonenumbers

from syncbot.costs import Tally
from syncbot.models import Change, ChangeKind, Key, PhoneNumber, RunRecord, SourceState, Status
from syncbot.query.columns import (
    LINK_BLOCK,
    CodesBuilder,
    DigitIndex,
    DigitIndexBuilder,
    Instants,
    LinkedRows,
    Rows,
    Texts,
    TextsBuilder,
    all_rows,
    from_flags,
    positions,
)
from syncbot.store import Store
from syncbot.store.base import NumberBatch

_NON_DIGITS = re.compile(r"\D")
_ZERO, _ONE = ord("0"), ord("1")
CountedField = Literal["source_key", "status", "country", "type"]


def _time_order(value: dt.datetime | None) -> tuple[bool, dt.datetime | None]:
    return (value is not None, value)


class _Inventory:
    """The numbers, one column per field, in inventory order."""

    def __init__(self, batches: Iterable[NumberBatch], states: Iterable[SourceState]) -> None:
        sources: CodesBuilder[tuple[str, str]] = CodesBuilder()
        number_ids, phones, labels = TextsBuilder(), TextsBuilder(), TextsBuilder()
        digits = DigitIndexBuilder()
        flags: CodesBuilder[tuple[bool, bool | None, bool | None]] = CodesBuilder()
        countries: CodesBuilder[str | None] = CodesBuilder()
        types: CodesBuilder[str | None] = CodesBuilder()
        carriers: CodesBuilder[str | None] = CodesBuilder()
        statuses: CodesBuilder[Status] = CodesBuilder()
        provider_statuses: CodesBuilder[str | None] = CodesBuilder()
        agents: CodesBuilder[str | None] = CodesBuilder()
        first_seen: CodesBuilder[dt.datetime | None] = CodesBuilder()
        since: CodesBuilder[dt.datetime | None] = CodesBuilder()
        self.created_at = Instants()
        count = 0
        for batch in batches:
            sources.extend(list(zip(batch.source, batch.account, strict=True)))
            number_ids.extend(batch.number_id)
            phones.extend(batch.phone_number)
            digits.extend(batch.phone_number)
            flags.extend(list(zip(batch.valid, batch.inbound, batch.outbound, strict=True)))
            countries.extend(batch.country_code)
            types.extend(batch.number_type)
            carriers.extend(batch.carrier)
            statuses.extend(batch.status)
            provider_statuses.extend(batch.provider_status)
            agents.extend(batch.agent_id)
            labels.extend(batch.label)
            self.created_at.extend(batch.created_at)
            first_seen.extend(batch.first_seen_at)
            since.extend(batch.unassigned_since)
            count += len(batch.source)
        self.count = count
        self.sources = sources.done()
        self.number_ids: Texts = number_ids.done()
        self.phones: Texts = phones.done()
        self.labels: Texts = labels.done()
        self.digits: DigitIndex = digits.done()
        self.flags = flags.done()
        self.countries = countries.done()
        self.types = types.done()
        self.carriers = carriers.done()
        self.statuses = statuses.done()
        self.provider_statuses = provider_statuses.done()
        self.agents = agents.done()
        self.first_seen = first_seen.done()
        self.since = since.done(order=_time_order)
        by_key = {(s.source, s.account): s for s in states}
        self.source_states = [by_key.get(key) for key in self.sources.values]

    def number(self, row: int) -> PhoneNumber:
        source, account = self.sources[row]
        valid, inbound, outbound = self.flags[row]
        state = self.source_states[self.sources.code(row)]
        phone = self.phones[row]
        number_id = self.number_ids[row]
        assert phone is not None
        assert number_id is not None
        return PhoneNumber(
            source,
            account,
            number_id,
            phone,
            valid,
            self.countries[row],
            self.types[row],
            self.carriers[row],
            self.statuses[row],
            self.provider_statuses[row],
            self.agents[row],
            self.labels[row],
            inbound,
            outbound,
            self.created_at[row],
            self.first_seen[row],
            state.last_ok_at if state else None,
            self.since[row],
            state.stale if state else False,
        )


class _ChangeLog:
    """The latest run's changes, one column per field, in the order they were recorded."""

    def __init__(self, changes: Iterable[Change]) -> None:
        kinds: CodesBuilder[ChangeKind] = CodesBuilder()
        sources: CodesBuilder[tuple[str, str]] = CodesBuilder()
        number_ids, phones, labels = TextsBuilder(), TextsBuilder(), TextsBuilder()
        agents: CodesBuilder[tuple[str | None, str | None]] = CodesBuilder()
        at: CodesBuilder[tuple[dt.datetime, int | None]] = CodesBuilder()
        self._hashes, self._checks = array("q"), array("q")
        count = 0
        listed = iter(changes)
        while batch := list(islice(listed, 2_000)):
            kinds.extend([c.kind for c in batch])
            sources.extend([(c.source, c.account) for c in batch])
            number_ids.extend([c.number_id for c in batch])
            phones.extend([c.phone_number for c in batch])
            labels.extend([c.label for c in batch])
            agents.extend([(c.agent_before, c.agent_after) for c in batch])
            at.extend([(c.at, c.run_id) for c in batch])
            self._hashes.extend(hash(c.key) for c in batch)
            self._checks.extend(hash(c.key[::-1]) for c in batch)
            count += len(batch)
        self.count = count
        self.kinds = kinds.done()
        self.sources = sources.done()
        self.number_ids = number_ids.done()
        self.phones = phones.done()
        self.labels = labels.done()
        self.agents = agents.done()
        self.at = at.done()
        # Each change's number's row in the inventory plus one (0: none, it was removed), and
        # the rows each block of changes points at; filled in by ``link``.
        self.number_rows = array("I", [0]) * count
        self.blocks: list[int] = []

    def link(self, batches: Iterable[NumberBatch]) -> Iterator[NumberBatch]:
        """``batches``, noting which change each number has."""
        # Sorted hashes of the changes' keys, not a dict of the keys: 500,000 changes (a first
        # sync) would take 100 MB as tuples. Two keys with one hash are told apart by a second
        # hash, of the key reversed.
        order = sorted(range(self.count), key=self._hashes.__getitem__)
        hashes = array("q", map(self._hashes.__getitem__, order))
        checks = array("q", map(self._checks.__getitem__, order))
        changes = array("I", order)
        del order
        self._hashes, self._checks = array("q"), array("q")
        rows = 0
        for batch in batches:
            keys = list(zip(batch.source, batch.account, batch.number_id, strict=True))
            found = list(map(hash, keys))
            spots = list(map(bisect_left, repeat(hashes), found))
            for offset, spot in enumerate(spots):
                if (
                    spot < len(hashes)
                    and hashes[spot] == found[offset]
                    and checks[spot] == hash(keys[offset][::-1])
                ):
                    self.number_rows[changes[spot]] = rows + offset + 1
            rows += len(batch.source)
            yield batch
        for first in range(0, self.count, LINK_BLOCK):
            flags = bytearray([_ZERO]) * rows
            for pointer in self.number_rows[first : first + LINK_BLOCK]:
                if pointer:
                    flags[pointer - 1] = _ONE
            self.blocks.append(from_flags(flags))

    def change(self, row: int) -> Change:
        source, account = self.sources[row]
        before, after = self.agents[row]
        at, run_id = self.at[row]
        number_id, phone = self.number_ids[row], self.phones[row]
        assert number_id is not None
        assert phone is not None
        return Change(
            self.kinds[row],
            source,
            account,
            number_id,
            phone,
            before,
            after,
            self.labels[row],
            at,
            run_id,
        )


class Snapshot:
    """The latest committed sync: inventory, run, source health and the run's changes."""

    __slots__ = ("_changes", "_inventory", "run", "states")

    def __init__(
        self,
        *,
        numbers: Iterable[PhoneNumber] | Iterable[NumberBatch] = (),
        run: RunRecord | None = None,
        states: Iterable[SourceState] = (),
        changes: Iterable[Change] = (),
    ) -> None:
        """``numbers`` in inventory order, as records or as the store's batches."""
        self.run = run
        self.states = list(states)
        log = _ChangeLog(changes)
        self._inventory = _Inventory(log.link(_batches(numbers)), self.states)
        self._changes = log

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
        """How many ``selected`` numbers hold each value of ``field``; no value is "unknown"."""
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
                out[value or "unknown"] += n
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
        yield _batch(listed)


def _batch(numbers: list[PhoneNumber]) -> NumberBatch:
    return NumberBatch(
        source=[n.source for n in numbers],
        account=[n.account for n in numbers],
        number_id=[n.number_id for n in numbers],
        phone_number=[n.phone_number for n in numbers],
        valid=[n.valid for n in numbers],
        country_code=[n.country_code for n in numbers],
        number_type=[n.number_type for n in numbers],
        carrier=[n.carrier for n in numbers],
        status=[n.status for n in numbers],
        provider_status=[n.provider_status for n in numbers],
        agent_id=[n.agent_id for n in numbers],
        label=[n.label for n in numbers],
        inbound=[n.inbound for n in numbers],
        outbound=[n.outbound for n in numbers],
        created_at=[n.created_at for n in numbers],
        first_seen_at=[n.first_seen_at for n in numbers],
        unassigned_since=[n.unassigned_since for n in numbers],
    )


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
        )
        latest = store.latest_run()
        if (latest.run_id if latest else None) == snapshot.run_id:
            break
    return snapshot
