"""One account's records on their way into the store.

Each record is digested first: one unchanged since the last good sync is staged by id and
digest alone. The others are validated and normalized, on the event loop while they are few,
and in a worker process once a run has many (a first sync): libphonenumber costs about 0.1 ms
a number, which on the event loop would hold up the answers that send each cursor chain's
next request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple, cast

from pydantic import SecretStr, ValidationError

from syncbot import __version__
from syncbot.logs import event
from syncbot.models import SourceResult
from syncbot.normalize import PhoneParser
from syncbot.providers._records import MAX_ID
from syncbot.providers.base import Provider
from syncbot.settings import Account, SourceName
from syncbot.stopping import ignore_signals, signals_blocked
from syncbot.store.staging import Staging, listed_values

log = logging.getLogger(__name__)

# Records processed between two turns of the event loop (about 0.5 ms of work).
_RECORDS_PER_TURN = 20
# Pages with the worker at once. When it falls behind the network (a slow dyno), a listing
# waits for it rather than holding every raw page it has fetched: memory stays bounded.
MAX_PENDING_PAGES = 8


class Rejected(NamedTuple):
    """A record that failed validation: its id as best known, and why."""

    record_id: str | None
    reason: str


def _reason(exc: ValidationError) -> str:
    first = exc.errors(include_input=False, include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _normalize(provider: Provider, parse: PhoneParser, raw: dict[str, Any]) -> Any:
    """The staged values of one record (``listed_values``), or why it was rejected."""
    try:
        record = provider.record_model().model_validate(raw)
    except ValidationError as exc:
        return Rejected(provider.record_id(raw), _reason(exc))
    try:
        return listed_values(provider.normalize(record, parse))
    except Exception as exc:  # one odd record must never fail its whole account
        return Rejected(provider.record_id(raw), f"{type(exc).__name__}: {exc}")


def normalize_in_worker(
    source: str, account: str, raws: Sequence[dict[str, Any]]
) -> tuple[list[Any], int]:
    """``_normalize`` for a batch, in a worker process; also returns the phones it parsed."""
    from syncbot.providers import provider_for  # noqa: PLC0415 - the package imports this module

    # Normalizing needs the account's name only: the worker never sees its credentials.
    provider = provider_for(Account(cast("SourceName", source), account, "", SecretStr("")))
    parse = PhoneParser()
    return [_normalize(provider, parse, raw) for raw in raws], parse.parsed


class Workers:
    """The run's worker process, started once enough records needed normalizing."""

    def __init__(self, *, after: int) -> None:
        self.after = after
        self.fresh = 0
        self._pool: ProcessPoolExecutor | None = None
        self._pending = asyncio.Semaphore(MAX_PENDING_PAGES)

    def wanted(self, fresh: int) -> bool:
        self.fresh += fresh
        return fresh > 0 and self.fresh > self.after

    async def submit(self, source: str, account: str, raws: list[dict[str, Any]]) -> Future[Any]:
        """Hand a page to the worker, once fewer than ``MAX_PENDING_PAGES`` are with it; call
        ``finished`` when its outcome is in."""
        await self._pending.acquire()
        if self._pool is None:
            # spawn: a clean process, not a fork of this one and its threads; a child of this
            # process, so its CPU time counts in this one's once it is joined. It ignores
            # SIGINT and SIGTERM (syncbot.stopping): a signal to the whole process group
            # must not break the pool under a listing; this process shuts it down.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=context, initializer=ignore_signals
            )
        # The pool starts its process here, on the first page: signals wait until it has.
        with signals_blocked():
            return self._pool.submit(normalize_in_worker, source, account, raws)

    def finished(self) -> None:
        """A submitted page's outcome is in (or no longer wanted)."""
        self._pending.release()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class Listing:
    """One account's records as they arrive, staged in the order they were listed."""

    def __init__(
        self, provider: Provider, parse: PhoneParser, staging: Staging, workers: Workers | None
    ) -> None:
        self.provider = provider
        self.parse = parse
        self.staging = staging
        self.workers = workers
        self.result = SourceResult(provider.name, provider.account.name)
        # A digest is this account's, and this syncbot version's: a new release normalizes
        # every record again, in case normalization changed.
        self.key = hashlib.blake2b(
            f"{__version__}\0{provider.key}".encode(), digest_size=32
        ).digest()
        self.taken = 0
        self.invalid_ids: set[str] = set()
        # Invalid records' ids staged to hold their numbers' places (``Staging.hold``).
        self.held: set[str] = set()
        # Records without an id: nothing can say which number they were.
        self.skipped = 0
        # The last page still waiting for its worker: later pages are staged after it.
        self._tail: asyncio.Task[None] | None = None

    def _digest(self, raw: dict[str, Any]) -> int:
        # repr() of decoded JSON is deterministic; surrogates are legal in JSON strings.
        text = repr(raw).encode("utf-8", "surrogatepass")
        return int.from_bytes(
            hashlib.blake2b(text, digest_size=8, key=self.key).digest(), "big", signed=True
        )

    def _invalid(self, record_id: str | None, reason: str) -> None:
        if record_id is None:
            self.skipped += 1
        else:
            if record_id in self.invalid_ids:
                return
            self.invalid_ids.add(record_id)
        self.result.invalid += 1
        event(
            log,
            logging.WARNING,
            "invalid record",
            source=self.provider.key,
            id=record_id,
            reason=reason,
        )

    def _keep(self, raw: dict[str, Any], digest: int) -> None:
        number_id = self.provider.record_id(raw)
        assert number_id is not None  # it validated when it was stored
        self.staging.keep(self.result.source, self.result.account, number_id, digest)
        self.taken += 1

    def _stage(self, outcome: Any, digest: int) -> None:
        if isinstance(outcome, Rejected):
            self._invalid(outcome.record_id, outcome.reason)
        else:
            self.staging.add_values(outcome, digest)
            self.taken += 1

    async def take_page(self, records: Sequence[object]) -> None:
        """Stage one page: unchanged records by digest, the others normalized."""
        page: list[tuple[dict[str, Any], int, bool]] = []
        fresh = 0
        for index, raw in enumerate(records, start=1):
            if not isinstance(raw, dict):
                self._invalid(None, f"expected an object, got {type(raw).__name__}")
                continue
            digest = self._digest(raw)
            known = self.staging.known(digest)
            fresh += not known
            page.append((raw, digest, known))
            if index % (_RECORDS_PER_TURN * 10) == 0:
                await asyncio.sleep(0)
        if self.workers is not None and self.workers.wanted(fresh):
            raws = [raw for raw, _, known in page if not known]
            done = await self.workers.submit(self.result.source, self.result.account, raws)
            self._tail = asyncio.create_task(
                self._stage_later(page, done, self._tail, self.workers)
            )
            return
        if self._tail is not None:
            await self._tail
            self._tail = None
        for index, (raw, digest, known) in enumerate(page, start=1):
            if known:
                self._keep(raw, digest)
            else:
                self._stage(_normalize(self.provider, self.parse, raw), digest)
                if index % _RECORDS_PER_TURN == 0:
                    # Let answered requests of other chains send their follow-ups meanwhile.
                    await asyncio.sleep(0)

    async def _stage_later(
        self,
        page: list[tuple[dict[str, Any], int, bool]],
        done: Future[Any],
        previous: asyncio.Task[None] | None,
        workers: Workers,
    ) -> None:
        try:
            outcomes, parsed = await asyncio.wrap_future(done)
        finally:
            workers.finished()
        if previous is not None:
            await previous
        self.parse.parsed += parsed
        normalized = iter(outcomes)
        for raw, digest, known in page:
            if known:
                self._keep(raw, digest)
            else:
                self._stage(next(normalized), digest)

    async def finish(self) -> None:
        """Wait for the pages still with the worker."""
        if self._tail is not None:
            await self._tail
            self._tail = None

    def hold_invalid(self) -> None:
        """Hold the places of the numbers whose records failed validation: listed, so not
        gone; their stored rows stay as they were."""
        # An id too long to store is no id: its record stays skipped.
        for record_id in self.invalid_ids - self.held:
            if len(record_id) <= MAX_ID:
                self.staging.hold(self.result.source, self.result.account, record_id)
                self.held.add(record_id)
            else:
                self.skipped += 1
        self.invalid_ids &= self.held

    def restart(self) -> None:
        """Forget what was staged so far: the account is listed again from the start."""
        self.staging.discard(self.result.source, self.result.account)
        self.invalid_ids.clear()
        self.held.clear()
        self.skipped = self.result.invalid = 0

    def abandon(self) -> None:
        if self._tail is not None:
            self._tail.cancel()
