"""Compact columns for the inventory the query engine keeps: a few bytes a number, no objects.

A column holds one field of every row, in row order. Repeated values (sources, countries,
agents, run times) are kept once and each row holds a code, stored as byte planes: the codes'
low bytes for every row, then their next bytes when there are more than 256 values. Free text
(ids, phone numbers, labels) is one UTF-8 blob with offsets. Rows are selected as bitmaps
(``bitmaps.py``).
"""

from __future__ import annotations

import datetime as dt
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from itertools import accumulate, compress, islice
from typing import Any, Generic, TypeVar

from syncbot.query.bitmaps import matching, to_flags

V = TypeVar("V", bound=Hashable)

# Up to this many values a column keeps each value's bitmap once computed (at most 256 bitmaps
# of one bit per row); beyond, counting falls back to a pass over the rows.
_CACHED_VALUES = 256


class Codes(Generic[V]):
    """A column of repeated values: each distinct value once, a code per row."""

    __slots__ = ("_bits", "_folded", "_planes", "values")

    def __init__(self, values: list[V], planes: list[bytes]) -> None:
        self.values = values
        self._planes = planes
        self._bits: dict[int, int] = {}
        self._folded: dict[str, list[int]] | None = None

    def __getitem__(self, row: int) -> V:
        return self.values[self.code(row)]

    def code(self, row: int) -> int:
        code = 0
        for level, plane in enumerate(self._planes):
            code |= plane[row] << (8 * level)
        return code

    def where(self, test: Callable[[V], bool]) -> int:
        """The rows whose value passes ``test`` (called once per distinct value)."""
        return self.bits([code for code, value in enumerate(self.values) if test(value)])

    def folded(self, wanted: Iterable[str]) -> int:
        """The rows whose value, lower-cased (``None`` as ""), is one of ``wanted`` (lower
        case); thousands of agents are looked up, not tried one by one."""
        if self._folded is None:
            self._folded = {}
            for code, value in enumerate(self.values):
                text = value if isinstance(value, str) else ""
                self._folded.setdefault(text.lower(), []).append(code)
        folded = self._folded
        return self.bits([code for text in wanted for code in folded.get(text, ())])

    def bits(self, codes: Collection[int]) -> int:
        """The rows holding one of ``codes``."""
        if len(codes) == 1 and len(self.values) <= _CACHED_VALUES:
            (code,) = codes
            found = self._bits.get(code)
            if found is None:
                found = self._bits[code] = matching(self._planes[0], codes)
            return found
        return self._codes_bits(set(codes), len(self._planes) - 1, len(self.values))

    def _codes_bits(self, codes: set[int], level: int, existing: int) -> int:
        if not codes:
            return 0
        plane = self._planes[level]
        if level == 0:
            return matching(plane, codes)
        shift = 8 * level
        groups: dict[int, set[int]] = {}
        for code in codes:
            groups.setdefault(code >> shift, set()).add(code & ((1 << shift) - 1))
        # A high byte whose every existing code is wanted needs no look at the lower planes:
        # a range of run times (``idle 30d``) costs a few passes, not one per value.
        whole = {
            top
            for top, rest in groups.items()
            if len(rest) >= min(1 << shift, existing - (top << shift))
        }
        out = matching(plane, whole)
        for top, rest in groups.items():
            if top not in whole:
                out |= matching(plane, (top,)) & self._codes_bits(rest, level - 1, 1 << shift)
        return out

    def counts(self, selected: int, row_count: int) -> dict[V, int]:
        """How many of the ``selected`` rows hold each value (values held by none left out)."""
        if len(self.values) <= _CACHED_VALUES:
            found = (
                (value, (selected & self.bits((code,))).bit_count())
                for code, value in enumerate(self.values)
            )
            return {value: n for value, n in found if n}
        # Hundreds of distinct values: one pass over the selected rows' codes, in C.
        chosen = to_flags(selected, row_count).encode().translate(_FLAG_BYTES)
        codes = Counter(zip(*(compress(plane, chosen) for plane in self._planes), strict=True))
        return {
            self.values[sum(byte << (8 * level) for level, byte in enumerate(key))]: n
            for key, n in codes.items()
        }


_FLAG_BYTES = bytes(range(256)).replace(b"0", b"\0").replace(b"1", b"\1")


class CodesBuilder(Generic[V]):
    """Collects a ``Codes`` column row by row."""

    __slots__ = ("_code", "_rows", "_values")

    def __init__(self) -> None:
        self._values: list[V] = []
        self._code: dict[V, int] = {}
        self._rows = array("I")

    def extend(self, values: Sequence[V]) -> None:
        code = self._code
        for value in set(values).difference(code):
            code[value] = len(self._values)
            self._values.append(value)
        self._rows.extend(map(code.__getitem__, values))

    def done(self, *, order: Callable[[V], Any] | None = None) -> Codes[V]:
        """The column; with ``order``, codes follow that order of the values (for ranges)."""
        values, rows = self._values, self._rows
        if order is not None:
            ranked = sorted(range(len(values)), key=lambda code: order(values[code]))
            renumber = array("I", [0]) * len(values)
            for new, old in enumerate(ranked):
                renumber[old] = new
            values = [values[old] for old in ranked]
            rows = array("I", map(renumber.__getitem__, rows))
        if sys.byteorder == "big":
            rows.byteswap()
        raw = rows.tobytes()
        width = max(1, (max(len(values) - 1, 0).bit_length() + 7) // 8)
        return Codes(values, [raw[level::4] for level in range(width)])


class Texts:
    """A column of distinct strings (``None`` allowed): one UTF-8 blob and the offsets."""

    __slots__ = ("_blob", "_ends", "_null")

    def __init__(self, blob: bytes, ends: array[int], null: bytes) -> None:
        self._blob = blob
        self._ends = ends
        self._null = null

    def __getitem__(self, row: int) -> str | None:
        if self._null[row]:
            return None
        start = self._ends[row - 1] if row else 0
        return self._blob[start : self._ends[row]].decode()


class TextsBuilder:
    __slots__ = ("_blob", "_ends", "_null")

    def __init__(self) -> None:
        self._blob = bytearray()
        self._ends = array("I")
        self._null = bytearray()

    def extend(self, values: Sequence[str | None]) -> None:
        parts = [b"" if value is None else value.encode() for value in values]
        self._ends.extend(islice(accumulate(map(len, parts), initial=len(self._blob)), 1, None))
        self._blob += b"".join(parts)
        self._null.extend(value is None for value in values)

    def done(self) -> Texts:
        return Texts(bytes(self._blob), self._ends, bytes(self._null))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_NO_TIME = -(2**63)


class Instants:
    """A column of distinct moments (``None`` allowed), as microseconds since 1970."""

    __slots__ = ("_micros",)

    def __init__(self) -> None:
        self._micros = array("q")

    def extend(self, values: Iterable[dt.datetime | None]) -> None:
        self._micros.extend(
            _NO_TIME if value is None else (value - _EPOCH) // _MICROSECOND for value in values
        )

    def __getitem__(self, row: int) -> dt.datetime | None:
        micros = self._micros[row]
        return None if micros == _NO_TIME else _EPOCH + dt.timedelta(microseconds=micros)


# Digits of a phone number that the bitmaps index: E.164 allows 15.
