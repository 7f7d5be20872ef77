"""The two pagination strategies the providers use (in the manner of dlt's paginators)."""

from __future__ import annotations

import math

from syncbot.errors import PaginationError
from syncbot.providers.base import PageInfo, Paginator, Params


class CursorPaginator(Paginator):
    """Follows ``next_cursor`` while ``has_more``; one independent chain per partition.

    Partitions are disjoint filters of the same listing (such as ``status=free`` and
    ``status=assigned``): each chain runs on its own, so they can be in flight together.
    """

    def __init__(
        self,
        *,
        base: Params,
        partitions: list[Params] | None = None,
        cursor_param: str = "cursor",
        what: str,
    ) -> None:
        self._base = base
        self._partitions = partitions or [{}]
        self._cursor_param = cursor_param
        self._seen: set[tuple[tuple[str, str], ...]] = set()
        self._what = what

    def start(self) -> list[Params]:
        return [{**self._base, **partition} for partition in self._partitions]

    def update_state(self, sent: Params, page: PageInfo) -> list[Params]:
        if not page.has_more or not page.next_cursor:
            return []
        following = {**sent, self._cursor_param: page.next_cursor}
        fingerprint = tuple(sorted(following.items()))
        if fingerprint in self._seen or sent.get(self._cursor_param) == page.next_cursor:
            raise PaginationError(
                f"{self._what}: the API returned the cursor {page.next_cursor!r} twice, so the "
                "listing would never end; stopped instead of looping"
            )
        self._seen.add(fingerprint)
        return [following]


class PageNumberPaginator(Paginator):
    """Page-number pages from 1. Once page 1 tells the total, every other page at once.

    Without a total the pages go one after another until a short or empty one.
    """

    def __init__(
        self,
        *,
        base: Params,
        limit: int,
        page_param: str = "page",
        limit_param: str = "limit",
    ) -> None:
        self._base = {**base, limit_param: str(limit)}
        self._limit = limit
        self._page_param = page_param

    def _request(self, number: int) -> Params:
        return {**self._base, self._page_param: str(number)}

    def start(self) -> list[Params]:
        return [self._request(1)]

    def update_state(self, sent: Params, page: PageInfo) -> list[Params]:
        number = int(sent[self._page_param])
        if not page.records:
            return []
        # The server may clamp the limit; its own figure decides the page count.
        limit = page.limit or self._limit
        pages = page.total_pages
        if pages is None and page.total is not None and limit > 0:
            pages = math.ceil(page.total / limit)
        if pages is None:
            return [self._request(number + 1)] if len(page.records) >= limit else []
        if number == 1:
            return [self._request(n) for n in range(2, pages + 1)]
        return []
