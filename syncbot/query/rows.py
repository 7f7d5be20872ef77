"""Sequences of the rows a query selected, made into records only when read."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import TypeVar, overload

from syncbot.query.bitmaps import positions, to_flags

T = TypeVar("T")


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
