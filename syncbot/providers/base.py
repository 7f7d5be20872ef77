"""What every provider is to the sync loop: a source of pages of raw records.

A provider file says how to address its API (URL, headers), how to read its envelope into a
neutral ``PageInfo``, which ``Paginator`` strategy walks its listing, and how one raw record
becomes a ``PhoneNumber``. The fetch loop (``fetch.py``) drives any of them the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel

from syncbot.http import HttpClient, RequestStats
from syncbot.models import PhoneNumber
from syncbot.normalize import PhoneParser
from syncbot.settings import Account

Params = dict[str, str]


@dataclass(slots=True)
class PageInfo:
    """One response, read into what any paginator may need."""

    records: list[Any]
    next_cursor: str | None = None
    has_more: bool | None = None
    total: int | None = None
    total_pages: int | None = None
    page: int | None = None
    limit: int | None = None

    def page_count(self, limit: int | None = None) -> int | None:
        """How many pages the answer says the listing has: its page count, or its total over
        its limit (``limit`` when it gives none); None when it says neither."""
        if self.total_pages is not None:
            return self.total_pages
        limit = self.limit or limit
        if self.total is not None and limit:
            return -(-self.total // limit)
        return None


class Paginator(ABC):
    """A pagination strategy. The fetch loop never knows which one it holds.

    ``start`` gives the first requests; ``update_state`` takes in one response and returns
    the requests it makes possible: none when that branch of the listing ends, one for a
    cursor chain, many when a page count allows fetching the rest concurrently. The fetch loop
    draws them as it sends them, so a lazy iterable costs nothing for pages never asked for.
    """

    @abstractmethod
    def start(self) -> Iterable[Params]: ...

    @abstractmethod
    def update_state(self, sent: Params, page: PageInfo) -> Iterable[Params]: ...

    def scope(self, sent: Params) -> str | None:
        """The partition of the listing a request lists, or None when it lists the whole:
        whose total its answer gives (``census.Census``)."""
        del sent
        return None


@dataclass(frozen=True, slots=True)
class Relisting:
    """A listing again of a part of an account, or of all of it, when the first one was not
    shown complete. ``union``: what it lists adds to the first listing, and only together are
    they checked; otherwise it is checked on its own."""

    paginator: Paginator
    union: bool


@dataclass(slots=True)
class Provider(ABC):
    """One configured account of one provider API."""

    name: ClassVar[str]
    # Pages of one listing that may be in flight at once.
    concurrency: ClassVar[int] = 1
    # The page size asked for unless told otherwise: the largest the API documents or accepts.
    default_page_size: ClassVar[int] = 100

    account: Account
    page_size: int | None = None
    extra_params: Params = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.account.key

    @property
    def effective_page_size(self) -> int:
        return self.page_size or self.default_page_size

    @property
    @abstractmethod
    def url(self) -> str: ...

    @abstractmethod
    def headers(self) -> dict[str, str]: ...

    @abstractmethod
    def auth_hint(self) -> str:
        """What to check when the API refuses the credentials (never the secret itself)."""

    @abstractmethod
    def paginator(self) -> Paginator: ...

    def relistings(self, grown: Sequence[str]) -> list[Relisting]:
        """What to list again, cheapest first, when a listing was not shown complete;
        ``grown``: the partitions whose total grew while they were listed."""
        del grown
        return [Relisting(self.paginator(), union=False)]

    @abstractmethod
    def probe(self) -> Params:
        """The smallest request that proves access and tells the total (``syncbot doctor``)."""

    @abstractmethod
    def read_page(self, body: object) -> PageInfo:
        """Read the envelope; raise ``ProviderError`` when it is not the documented shape."""

    async def get_page(self, http: HttpClient, params: Params, stats: RequestStats) -> PageInfo:
        """One page of this account's listing: ``params`` sent with its credentials."""
        body = await http.get_json(
            self.url,
            params=params,
            headers=self.headers(),
            what=self.key,
            auth_hint=self.auth_hint(),
            stats=stats,
        )
        return self.read_page(body)

    @abstractmethod
    def record_model(self) -> type[BaseModel]: ...

    @abstractmethod
    def record_id(self, raw: Mapping[str, Any]) -> str | None:
        """The record's id as best known, for messages about a record that failed validation."""

    @abstractmethod
    def normalize(self, record: Any, parse: PhoneParser) -> PhoneNumber: ...
