"""A one-line progress display per source while a sync lists numbers in a terminal."""

from __future__ import annotations

import time
from typing import TextIO

from syncbot.models import SourceResult
from syncbot.query import counted


class Progress:
    """Redraws one status line; off when the stream is not a terminal (logs say it there)."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._sources: dict[str, SourceResult] = {}
        self._drawn = 0
        self._last = 0.0

    def update(self, result: SourceResult) -> None:
        if not self._enabled:
            return
        self._sources[result.key] = result
        now = time.monotonic()
        # Redrawing on every page of a fast listing would cost more than the listing.
        if now - self._last < 0.1:
            return
        self._last = now
        line = "  ".join(
            f"{key}: {counted(s.count, 'number')}, {counted(s.pages, 'page')}"
            + (f", {s.retries} retries" if s.retries else "")
            for key, s in self._sources.items()
        )
        self._stream.write("\r" + line.ljust(self._drawn))
        self._stream.flush()
        self._drawn = len(line)

    def done(self) -> None:
        if self._enabled and self._drawn:
            self._stream.write("\r" + " " * self._drawn + "\r")
            self._stream.flush()
            self._drawn = 0
