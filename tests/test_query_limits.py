"""What a query may make the grammar read is bounded, so no request can stall the event loop."""

from __future__ import annotations

import pytest

from syncbot.errors import QueryError
from syncbot.query import parse
from syncbot.query.grammar import MAX_QUERY_LENGTH


def test_a_query_longer_than_the_limit_is_refused_saying_so() -> None:
    # 40,000 digits and a letter took the former phone pattern 17 s, on the event loop.
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY_LENGTH}"):
        parse("1" * 40_000 + "a")
