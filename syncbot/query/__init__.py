"""The query engine shared by ``/numbers`` and ``syncbot query``."""

from __future__ import annotations

from syncbot.query.engine import Answer, Snapshot, answer, counted, load_snapshot, warnings_for
from syncbot.query.grammar import USAGE, Query, parse

__all__ = [
    "USAGE",
    "Answer",
    "Query",
    "Snapshot",
    "answer",
    "counted",
    "load_snapshot",
    "parse",
    "warnings_for",
]
