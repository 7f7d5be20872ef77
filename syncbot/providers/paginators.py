"""The two pagination strategies the providers use (in the manner of dlt's paginators)."""

from __future__ import annotations

from collections.abc import Iterator

from syncbot.errors import PaginationError
from syncbot.providers.base import PageInfo, Paginator, Params


class CursorPaginator(Paginator):
    """Follows ``next_cursor`` while ``has_more``, as one chain or as parallel partitions.

    Partitions are disjoint filters of one listing (orgapi's ``status=free`` and
    ``status=assigned``): each is a chain of its own, so they are in flight together and the
    longest chain is shorter. Beside them goes a one-record unfiltered page; if the partitions'
    totals do not add up to its total (a status nobody documented, or a total missing), the
    unfiltered chain is followed to the end as well, so no number is ever missed.
    """

    def __init__(
        self,
        *,
        base: Params,
        partitions: list[Params] | None = None,
        cursor_param: str = "cursor",
        page_size_param: str = "page_size",
        what: str,
        check: bool = True,
    ) -> None:
        self._base = base
        self._page_size_param = page_size_param
        self._partitions = partitions or []
        self._filter_keys = {key for partition in self._partitions for key in partition}
        self._cursor_param = cursor_param
        self._seen: set[tuple[tuple[str, str], ...]] = set()
        self._what = what
        self._totals: dict[tuple[tuple[str, str], ...], int | None] = {}
        self._whole_total: int | None = None
        self._whole_seen = False
        # ``check=False``: the partitions are listed again, on their own.
        self._checked = not self._partitions or not check

    def start(self) -> list[Params]:
        if not self._partitions:
            return [dict(self._base)]
        chains = [{**self._base, **partition} for partition in self._partitions]
        if self._checked:
            return chains
        # The check needs only the unfiltered total: one record is enough.
        return [*chains, {**self._base, self._page_size_param: "1"}]

    def scope(self, sent: Params) -> str | None:
        part = sorted((k, v) for k, v in sent.items() if k in self._filter_keys)
        return "&".join(f"{k}={v}" for k, v in part) or None

    def _following(self, sent: Params, page: PageInfo) -> list[Params]:
        if not page.has_more or not page.next_cursor:
            return []
        # Full pages from here on, also when following on from the one-record check.
        following = {**sent, **self._base, self._cursor_param: page.next_cursor}
        fingerprint = tuple(sorted(following.items()))
        if fingerprint in self._seen or sent.get(self._cursor_param) == page.next_cursor:
            raise PaginationError(
                f"{self._what}: the API returned the cursor {page.next_cursor!r} twice, so the "
                "listing would never end; stopped instead of looping"
            )
        self._seen.add(fingerprint)
        return [following]

    def update_state(self, sent: Params, page: PageInfo) -> list[Params]:
        partition = tuple(sorted((k, v) for k, v in sent.items() if k in self._filter_keys))
        if partition or self._checked:
            if self._cursor_param not in sent and partition:
                self._totals[partition] = page.total
            follow = self._following(sent, page)
        else:
            # The one-record check: the partitions deliver its record, so drop it here.
            self._whole_total = page.total
            self._whole_seen = True
            page.records = []
            follow = []
        if not self._checked and self._whole_seen and len(self._totals) == len(self._partitions):
            self._checked = True
            totals = list(self._totals.values())
            whole = self._whole_total
            if whole is None or None in totals or sum(t or 0 for t in totals) < whole:
                # Something is outside the partitions: list everything in one chain too.
                follow.append(dict(self._base))
        return follow


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
        # The first page that came back empty: the listing ends before it.
        self._end: int | None = None

    def _request(self, number: int) -> Params:
        return {**self._base, self._page_param: str(number)}

    def start(self) -> list[Params]:
        return [self._request(1)]

    def update_state(self, sent: Params, page: PageInfo) -> list[Params] | Iterator[Params]:
        number = int(sent[self._page_param])
        if not page.records:
            self._end = number if self._end is None else min(self._end, number)
            return []
        # The server may clamp the limit; its own figure decides the page count.
        pages = page.page_count(self._limit)
        if pages is None:
            limit = page.limit or self._limit
            return [self._request(number + 1)] if len(page.records) >= limit else []
        if number == 1:
            return self._rest(pages)
        return []

    def _rest(self, pages: int) -> Iterator[Params]:
        """Pages 2 to ``pages``, built as they are sent, none past an empty page."""
        for number in range(2, pages + 1):
            if self._end is not None and number > self._end:
                return
            yield self._request(number)
