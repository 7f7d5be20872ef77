"""The rows of one sheet write, kept on disk for the write's duration instead of in memory.

A full workbook holds 400,000 numbers: their cells as Python objects take gigabytes, as rows
of a SQLite file a few hundred megabytes of disk and a bounded page cache. The write keeps
here what the inventory wants (``want``: each number's key and managed cells, in syncbot's
order), what the Inventory holds (``sheet``: each data row's key, managed cells and people's
cells, as read window by window) and what people wrote beside each number (``people``, from
the first read on: a repair puts it back). The plan is then a few joins, and every pass over
the rows streams.

The file is private to the write: the store's database may be PostgreSQL, and its connection
is not for a thread's scratch work. It goes away with the write.
"""

from __future__ import annotations

import json
import marshal
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Any

from syncbot.models import Key
from syncbot.sheets.existing import Value

# SQLite's page cache, in KiB (negative cache_size): the file may be far larger.
_CACHE_KIB = 32_768

# What became of a row as read (``placed.state``).
KEYLESS = 0  # a row without a key: people's, kept where it is
KEPT = 1  # the first row of a number the inventory still has
GONE = 2  # the row of a number the inventory no longer has
DUPLICATE = 3  # a second row of a number that has one already

_SCHEMA = """
CREATE TABLE want (
    d INTEGER PRIMARY KEY, source TEXT, account TEXT, number_id TEXT, digest INTEGER,
    cells BLOB);
CREATE TABLE sheet (
    i INTEGER PRIMARY KEY, source TEXT, account TEXT, number_id TEXT, digest INTEGER,
    cells BLOB, theirs TEXT, filled INTEGER);
CREATE TABLE people (
    source TEXT, account TEXT, number_id TEXT, theirs TEXT,
    PRIMARY KEY (source, account, number_id)) WITHOUT ROWID;
CREATE TABLE placed (i INTEGER PRIMARY KEY, d INTEGER, state INTEGER);
CREATE TABLE fresh (d INTEGER PRIMARY KEY, anchor INTEGER);
"""


# A row's managed cells as kept: a digest equal when the cells are equal as Python compares
# them (``2 == 2.0``, as in a sheet), and the cells themselves, packed (marshal: exact types,
# a microsecond a row; the file lives only as long as this process).
Packed = tuple[int, bytes]


def pack(cells: Sequence[Value]) -> Packed:
    row = tuple(cells)
    return hash(row), marshal.dumps(row)


def unpack(blob: bytes) -> list[Value]:
    # Only what ``pack`` wrote in this process's own scratch file.
    return list(marshal.loads(blob))  # noqa: S302


def decode(text: str) -> list[Any]:
    value: list[Any] = json.loads(text)
    return value


class Scratch:
    """A SQLite file in the temporary directory, deleted on close."""

    def __init__(self) -> None:
        handle, self._path = tempfile.mkstemp(prefix="syncbot-sheet-", suffix=".db")
        os.close(handle)
        self.db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        self.db.execute("PRAGMA temp_store=FILE")
        self.db.executescript(_SCHEMA)
        # One transaction for the file's whole life (it is never kept): a commit per batch
        # would cost five times the inserts themselves.
        self.db.execute("BEGIN")
        self.wanted = 0
        # ``want`` is indexed by key only once a plan joins on it: a sheet read that matches
        # the inventory row for row never does (``Reading``).
        self._want_indexed = False
        self._wants: sqlite3.Cursor | None = None

    def __enter__(self) -> Scratch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()
        os.unlink(self._path)

    # -- what the inventory wants --------------------------------------------------------

    def add_wanted(self, rows: Iterable[tuple[str, str, str, Packed]]) -> None:
        """Numbers' source, account, number id and packed cells, in syncbot's order, after
        those added before."""
        batch = [
            (d, source, account, number_id, digest, cells)
            for d, (source, account, number_id, (digest, cells)) in enumerate(rows, self.wanted)
        ]
        self.db.executemany("INSERT INTO want VALUES (?, ?, ?, ?, ?, ?)", batch)
        self.wanted += len(batch)

    def wanted_digests(self) -> sqlite3.Cursor:
        """Each wanted number's source, account, number id and digest, in syncbot's order.
        One such stream at a time: the next read (``start_read``) ends it."""
        self._close_wants()
        self._wants = self.db.execute(
            "SELECT source, account, number_id, digest FROM want ORDER BY d"
        )
        return self._wants

    def _close_wants(self) -> None:
        # An unfinished statement would keep the next read from dropping its indexes.
        if self._wants is not None:
            self._wants.close()
            self._wants = None

    def wanted_rows(self) -> Iterator[tuple[Key, bytes]]:
        for source, account, number_id, cells in self.db.execute(
            "SELECT source, account, number_id, cells FROM want ORDER BY d"
        ):
            yield (source, account, number_id), cells

    # -- what the Inventory holds ----------------------------------------------------------

    def start_read(self) -> None:
        """Forget the previous read (a repair reads again); people's cells stay."""
        self._close_wants()
        for table in ("sheet", "placed", "fresh"):
            self.db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
        self.db.execute("DROP INDEX IF EXISTS sheet_key")
        self.db.execute("DROP INDEX IF EXISTS placed_d")

    def add_read(self, rows: Sequence[tuple[int, Key, Packed, str | None, bool]]) -> None:
        """Data rows as read: index under the header, key, packed managed cells, people's
        cells as JSON (None: none), whether the row holds any value."""
        self.db.executemany(
            "INSERT INTO sheet VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(i, *key, *cells, theirs, filled) for i, key, cells, theirs, filled in rows],
        )
        self.db.executemany(
            "INSERT OR IGNORE INTO people VALUES (?, ?, ?, ?)",
            [(*key, theirs) for _, key, _, theirs, _ in rows if theirs is not None and any(key)],
        )

    def add_matched(self, count: int) -> None:
        """Rows ``[0, count)`` as read hold the first ``count`` wanted numbers, in order, each
        with its wanted cells (equal digests): copied from ``want`` rather than sent one by one.
        People's cells of these rows come with ``add_theirs``."""
        self.db.execute(
            "INSERT INTO sheet SELECT d, source, account, number_id, digest, cells, NULL, 1 "
            "FROM want WHERE d < ?",
            (count,),
        )

    def add_theirs(self, rows: Sequence[tuple[int, Key, str]]) -> None:
        """People's cells (JSON) of rows added by ``add_matched``: (index, key, cells)."""
        self.db.executemany(
            "UPDATE sheet SET theirs = ? WHERE i = ?", [(theirs, i) for i, _, theirs in rows]
        )
        self.db.executemany(
            "INSERT OR IGNORE INTO people VALUES (?, ?, ?, ?)",
            [(*key, theirs) for _, key, theirs in rows],
        )

    def place(self) -> None:
        """Sort each row read into kept, gone, duplicate or keyless (``placed``)."""
        db = self.db
        if not self._want_indexed:
            db.execute("CREATE INDEX want_key ON want (source, account, number_id)")
            self._want_indexed = True
        db.execute("CREATE INDEX sheet_key ON sheet (source, account, number_id, i)")
        db.execute(
            "INSERT INTO placed (i, d, state) "
            "SELECT s.i, w.d, CASE "
            "  WHEN s.source = '' AND s.account = '' AND s.number_id = '' THEN ? "
            "  WHEN w.d IS NULL THEN ? "
            "  WHEN EXISTS (SELECT 1 FROM sheet o WHERE o.source = s.source "
            "    AND o.account = s.account AND o.number_id = s.number_id AND o.i < s.i) THEN ? "
            "  ELSE ? END "
            "FROM sheet s LEFT JOIN want w ON w.source = s.source AND w.account = s.account "
            "  AND w.number_id = s.number_id",
            (KEYLESS, GONE, DUPLICATE, KEPT),
        )
        db.execute("UPDATE placed SET d = NULL WHERE state != ?", (KEPT,))
        db.execute("CREATE INDEX placed_d ON placed (d)")

    def count(self, *states: int) -> int:
        marks = ",".join("?" * len(states))
        (n,) = self.db.execute(
            f"SELECT COUNT(*) FROM placed WHERE state IN ({marks})",  # noqa: S608 - placeholders
            states,
        ).fetchone()
        return int(n)

    def kept_order(self) -> Iterator[int]:
        """The wanted index of each kept row, top to bottom."""
        for (d,) in self.db.execute("SELECT d FROM placed WHERE state = ? ORDER BY i", (KEPT,)):
            yield int(d)

    def last_filled_survivor(self) -> int:
        """The lowest row that stays and holds a value (-1: none)."""
        (i,) = self.db.execute(
            "SELECT MAX(p.i) FROM placed p JOIN sheet s ON s.i = p.i "
            "WHERE p.state IN (?, ?) AND s.filled",
            (KEYLESS, KEPT),
        ).fetchone()
        return -1 if i is None else int(i)

    def place_fresh(self, *, below: int | None) -> int:
        """Give each new number the row it goes under: ``below`` for all of them, or else the
        row of the number before it in syncbot's order (-1: the top). Returns how many."""
        db = self.db
        if below is not None:
            db.execute(
                "INSERT INTO fresh SELECT w.d, ? FROM want w WHERE NOT EXISTS "
                "(SELECT 1 FROM placed p WHERE p.d = w.d AND p.state = ?)",
                (below, KEPT),
            )
        else:
            anchor, batch = -1, []
            for d, i in db.execute(
                "SELECT w.d, p.i FROM want w LEFT JOIN placed p ON p.d = w.d AND p.state = ? "
                "ORDER BY w.d",
                (KEPT,),
            ):
                if i is None:
                    batch.append((d, anchor))
                else:
                    anchor = i
            db.executemany("INSERT INTO fresh VALUES (?, ?)", batch)
        (n,) = db.execute("SELECT COUNT(*) FROM fresh").fetchone()
        return int(n)

    def layout(self) -> Iterator[tuple[int, int, Key]]:
        """The data rows once the write is done, top to bottom: (row as read or -1 for a new
        one, wanted index or -1, key)."""
        for _, i, d, source, account, number_id in self.db.execute(
            "SELECT at, i, d, source, account, number_id FROM ("
            "  SELECT p.i AS at, 0 AS kind, p.i AS i, COALESCE(p.d, -1) AS d, "
            "    s.source, s.account, s.number_id "
            "  FROM placed p JOIN sheet s ON s.i = p.i WHERE p.state IN (?, ?) "
            "  UNION ALL "
            "  SELECT f.anchor, 1, -1, f.d, w.source, w.account, w.number_id "
            "  FROM fresh f JOIN want w ON w.d = f.d"
            ") ORDER BY at, kind, d",
            (KEYLESS, KEPT),
        ):
            yield i, d, (source, account, number_id)

    def changed(self) -> Iterator[tuple[int, bytes, bytes]]:
        """Each kept row whose managed cells differ from the wanted ones: (row as read, cells
        as read, cells wanted), top to bottom."""
        return self.db.execute(
            "SELECT p.i, s.cells, w.cells FROM placed p JOIN sheet s ON s.i = p.i "
            "JOIN want w ON w.d = p.d WHERE p.state = ? AND s.digest != w.digest "
            "ORDER BY p.i",
            (KEPT,),
        )

    def fresh_rows(self) -> Iterator[tuple[int, bytes, str | None]]:
        """Each new number's wanted index, cells and people's cells (from an earlier read)."""
        return self.db.execute(
            "SELECT f.d, w.cells, pe.theirs FROM fresh f JOIN want w ON w.d = f.d "
            "LEFT JOIN people pe ON pe.source = w.source AND pe.account = w.account "
            "AND pe.number_id = w.number_id ORDER BY f.anchor, f.d"
        )

    def deleted(self) -> Iterator[int]:
        """Rows to delete, bottom up."""
        for (i,) in self.db.execute(
            "SELECT i FROM placed WHERE state IN (?, ?) ORDER BY i DESC", (GONE, DUPLICATE)
        ):
            yield int(i)

    def removed(self) -> Iterator[tuple[Key, str, bool]]:
        """Deleted rows that held people's cells: key, those cells, whether a duplicate."""
        for source, account, number_id, theirs, state in self.db.execute(
            "SELECT s.source, s.account, s.number_id, s.theirs, p.state FROM placed p "
            "JOIN sheet s ON s.i = p.i WHERE p.state IN (?, ?) "
            "AND s.theirs IS NOT NULL ORDER BY p.i",
            (GONE, DUPLICATE),
        ):
            yield (source, account, number_id), theirs, state == DUPLICATE

    def keys_between(self, start: int, end: int) -> dict[int, Key]:
        """The keys read in rows ``[start, end)``."""
        return {
            i: (source, account, number_id)
            for i, source, account, number_id in self.db.execute(
                "SELECT i, source, account, number_id FROM sheet WHERE i >= ? AND i < ?",
                (start, end),
            )
        }
