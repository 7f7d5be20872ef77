"""The latest run's changes as columns, each linked to its number's row in the inventory."""

from __future__ import annotations

import datetime as dt
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import islice, repeat

from syncbot.models import Change, ChangeKind
from syncbot.query.bitmaps import ONE, ZERO, from_flags
from syncbot.query.columns import CodesBuilder, TextsBuilder
from syncbot.query.rows import LINK_BLOCK
from syncbot.store.base import NumberBatch


class ChangeLog:
    """The latest run's changes, one column per field, in the order they were recorded."""

    def __init__(self, changes: Iterable[Change]) -> None:
        kinds: CodesBuilder[ChangeKind] = CodesBuilder()
        sources: CodesBuilder[tuple[str, str]] = CodesBuilder()
        number_ids, phones, labels = TextsBuilder(), TextsBuilder(), TextsBuilder()
        previous_ids = TextsBuilder()
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
            previous_ids.extend([c.previous_id for c in batch])
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
        self.previous_ids = previous_ids.done()
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
            flags = bytearray([ZERO]) * rows
            for pointer in self.number_rows[first : first + LINK_BLOCK]:
                if pointer:
                    flags[pointer - 1] = ONE
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
            self.previous_ids[row],
        )
