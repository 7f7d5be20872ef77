"""Compact columns for the inventory the query engine keeps: a few bytes a number, no objects.

A column holds one field of every row, in row order. Repeated values (sources, countries,
agents, run times) are kept once and each row holds a code, stored as byte planes: the codes'
low bytes for every row, then their next bytes when there are more than 256 values. Free text
(ids, phone numbers, labels) is one UTF-8 blob with offsets.

Queries select rows as bitmaps: Python ints whose bit ``i`` stands for row ``i``, combined with
``&`` and ``|`` and counted with ``bit_count()``. ``bytes.translate`` turns a plane into one
``0``/``1`` character per row and ``int(text, 2)`` reads that as a bitmap, so selecting rows
runs in C at a fraction of a millisecond per 100,000 rows, never a Python loop over them.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from itertools import accumulate, compress, islice, repeat
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
V = TypeVar("V", bound=Hashable)

_ZERO, _ONE = ord("0"), ord("1")
# Bytes per step when walking a bitmap: a step with none of the wanted bits is skipped whole.
_STEP = 512
# Up to this many values a column keeps each value's bitmap once computed (at most 256 bitmaps
# of one bit per row); beyond, counting falls back to a pass over the rows.
_CACHED_VALUES = 256


def all_rows(count: int) -> int:
    """The bitmap of rows ``0 .. count - 1``."""
    return (1 << count) - 1


def from_flags(flags: str | bytes | bytearray) -> int:
    """The bitmap of a ``0``/``1`` character per row (row 0 first)."""
    return int(flags[::-1], 2) if flags else 0


def to_flags(bits: int, count: int) -> str:
    """``bits`` as one ``0``/``1`` character per row (row 0 first); ``from_flags`` undone."""
    return format(bits, f"0{count}b")[::-1] if count else ""


def positions(bits: int, start: int = 0) -> Iterator[int]:
    """The rows ``bits`` selects, ascending, from the ``start``-th one."""
    raw = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    for offset in range(0, len(raw), _STEP):
        step = int.from_bytes(raw[offset : offset + _STEP], "little")
        count = step.bit_count()
        if start >= count:
            start -= count
            continue
        for word_offset in range(offset, min(offset + _STEP, len(raw)), 8):
            word = int.from_bytes(raw[word_offset : word_offset + 8], "little")
            count = word.bit_count()
            if start >= count:
                start -= count
                continue
            while word:
                low = word & -word
                if start:
                    start -= 1
                else:
                    yield word_offset * 8 + low.bit_length() - 1
                word ^= low


def _matching(plane: bytes, wanted: Iterable[int]) -> int:
    """The rows whose byte in ``plane`` is one of ``wanted``."""
    table = bytearray([_ZERO]) * 256
    for byte in wanted:
        table[byte] = _ONE
    return from_flags(plane.translate(table))


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
                found = self._bits[code] = _matching(self._planes[0], codes)
            return found
        return self._codes_bits(set(codes), len(self._planes) - 1, len(self.values))

    def _codes_bits(self, codes: set[int], level: int, existing: int) -> int:
        if not codes:
            return 0
        plane = self._planes[level]
        if level == 0:
            return _matching(plane, codes)
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
        out = _matching(plane, whole)
        for top, rest in groups.items():
            if top not in whole:
                out |= _matching(plane, (top,)) & self._codes_bits(rest, level - 1, 1 << shift)
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
_WIDTH = 15
_PAD = "-"
_NON_DIGITS = re.compile(r"\D")


class DigitIndex:
    """Which rows hold which digit at each of the first 15 places of their phone's digits.

    A run of digits is found by and-ing the bitmaps of its digits at consecutive places, for
    every place it may start at: about fifty operations on bitmaps, whatever the inventory's
    size and however many numbers match. Rows with longer or non-ASCII digits, which only text
    that is not a phone number has, are searched one by one.
    """

    __slots__ = ("_bits", "_count", "_odd")

    def __init__(self, bits: list[dict[str, int]], odd: dict[int, str], count: int) -> None:
        self._bits = bits
        self._odd = odd
        self._count = count

    def _at(self, place: int, digits: str) -> int:
        out = all_rows(self._count)
        for offset, digit in enumerate(digits):
            out &= self._bits[place + offset][digit]
        return out

    def _odd_rows(self, test: Callable[[str], bool]) -> int:
        return sum(1 << row for row, digits in self._odd.items() if test(digits))

    def equal(self, digits: str) -> int:
        odd = self._odd_rows(lambda d: d == digits)
        if len(digits) > _WIDTH or not digits.isascii():
            return odd
        found = self._at(0, digits)
        if len(digits) < _WIDTH:
            found &= self._bits[len(digits)][_PAD]
        return found | odd

    def starting(self, digits: str) -> int:
        odd = self._odd_rows(lambda d: d.startswith(digits))
        if len(digits) > _WIDTH or not digits.isascii():
            return odd
        return self._at(0, digits) | odd

    def containing(self, digits: str) -> int:
        odd = self._odd_rows(lambda d: digits in d)
        if len(digits) > _WIDTH or not digits.isascii():
            return odd
        for place in range(_WIDTH - len(digits) + 1):
            odd |= self._at(place, digits)
        return odd


class DigitIndexBuilder:
    __slots__ = ("_count", "_odd", "_places")

    def __init__(self) -> None:
        self._places = [bytearray() for _ in range(_WIDTH)]
        self._odd: dict[int, str] = {}
        self._count = 0

    def extend(self, phones: Sequence[str]) -> None:
        digits = list(map(_NON_DIGITS.sub, repeat(""), phones))
        for offset, found in enumerate(digits):
            if len(found) > _WIDTH or not found.isascii():
                self._odd[self._count + offset] = found
                digits[offset] = ""
        fixed = "".join(map(str.ljust, digits, repeat(_WIDTH), repeat(_PAD))).encode()
        for place, plane in enumerate(self._places):
            plane.extend(fixed[place::_WIDTH])
        self._count += len(digits)

    def done(self) -> DigitIndex:
        bits = [
            {symbol: _matching(bytes(plane), (ord(symbol),)) for symbol in "0123456789" + _PAD}
            for plane in self._places
        ]
        return DigitIndex(bits, self._odd, self._count)


class Rows(Sequence[T]):
    """The rows a bitmap selects, made into objects only when read (a page, not the list)."""

    __slots__ = ("_bits", "_count", "_make")

    def __init__(self, bits: int, make: Callable[[int], T]) -> None:
        self._bits = bits
        self._make = make
        self._count = bits.bit_count()

    def _walk(self, start: int) -> Iterator[int]:
        """The rows, in order, from the ``start``-th one."""
        return positions(self._bits, start)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return [self._make(row) for row in islice(self._walk(start), max(stop - start, 0))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError("row index out of range")
        return self._make(next(self._walk(index)))

    def __iter__(self) -> Iterator[T]:
        return map(self._make, self._walk(0))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to lists, so unhashable as they are

    def __repr__(self) -> str:
        return f"<{self._count:,} rows>"


# Rows of a ``LinkedRows`` walked at once: a page never reads more than two blocks' rows.
LINK_BLOCK = 4096


class LinkedRows(Rows[T]):
    """Rows of one table (changes) selected through the rows of another (numbers) they point
    at, in their own order, plus rows selected directly.

    Mapping a bitmap of numbers onto 500,000 changes would take a Python step per change. The
    changes are grouped in blocks instead, each with the bitmap of the numbers it points at:
    a page counts the selected rows block by block with one ``&`` each and reads the rows of
    the block it starts in, whatever the table's size.
    """

    __slots__ = ("_blocks", "_direct", "_pointed", "_pointers", "_targets")

    def __init__(
        self,
        pointed: int,
        direct: int,
        make: Callable[[int], T],
        *,
        pointers: array[int],
        blocks: list[int],
        targets: int,
    ) -> None:
        """``pointed``: the selected rows of the other table (of ``targets`` rows);
        ``pointers``: each row's row there plus one (0: none); ``blocks``: the rows there that
        each ``LINK_BLOCK`` rows here point at; ``direct``: rows here selected as they are."""
        super().__init__(direct, make)
        self._pointed = pointed
        self._direct = direct
        self._pointers = pointers
        self._blocks = blocks
        self._targets = targets
        self._count = sum((pointed & block).bit_count() for block in blocks) + self._count

    def _walk(self, start: int) -> Iterator[int]:
        pointed = "0" + to_flags(self._pointed, self._targets)
        direct = to_flags(self._direct, len(self._pointers))
        pointers = self._pointers
        for number, block in enumerate(self._blocks):
            first = number * LINK_BLOCK
            last = min(first + LINK_BLOCK, len(pointers))
            here = (self._pointed & block).bit_count() + direct.count("1", first, last)
            if start >= here:
                start -= here
                continue
            for row in range(first, last):
                if pointed[pointers[row]] == "1" or direct[row] == "1":
                    if start:
                        start -= 1
                    else:
                        yield row
