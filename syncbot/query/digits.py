"""The phone digits of every row, indexed by place, for ``/numbers`` digit searches."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import repeat

from syncbot.query.bitmaps import all_rows, matching

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
            {symbol: matching(bytes(plane), (ord(symbol),)) for symbol in "0123456789" + _PAD}
            for plane in self._places
        ]
        return DigitIndex(bits, self._odd, self._count)
