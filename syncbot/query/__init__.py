"""The query engine shared by ``/numbers`` and ``syncbot query``."""

from __future__ import annotations

from syncbot.query.engine import Answer, answer, counted, warnings_for
from syncbot.query.grammar import USAGE, Query, parse, quoted
from syncbot.query.snapshot import Snapshot, load_snapshot

__all__ = [
    "USAGE",
    "Answer",
    "Query",
    "Snapshot",
    "answer",
    "counted",
    "load_snapshot",
    "parse",
    "quoted",
    "warnings_for",
]
