"""The numbers of the latest sync as columns, and records made from them one row at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from syncbot.models import PhoneNumber, SourceState, Status
from syncbot.query.columns import CodesBuilder, Instants, Texts, TextsBuilder
from syncbot.query.digits import DigitIndex, DigitIndexBuilder
from syncbot.store.base import NumberBatch


def _time_order(value: dt.datetime | None) -> tuple[bool, dt.datetime | None]:
    return (value is not None, value)


class Inventory:
    """The numbers, one column per field, in inventory order."""

    def __init__(self, batches: Iterable[NumberBatch], states: Iterable[SourceState]) -> None:
        sources: CodesBuilder[tuple[str, str]] = CodesBuilder()
        number_ids, phones, labels = TextsBuilder(), TextsBuilder(), TextsBuilder()
        digits = DigitIndexBuilder()
        flags: CodesBuilder[tuple[bool, bool | None, bool | None]] = CodesBuilder()
        countries: CodesBuilder[str | None] = CodesBuilder()
        types: CodesBuilder[str | None] = CodesBuilder()
        carriers: CodesBuilder[str | None] = CodesBuilder()
        statuses: CodesBuilder[Status] = CodesBuilder()
        provider_statuses: CodesBuilder[str | None] = CodesBuilder()
        agents: CodesBuilder[str | None] = CodesBuilder()
        first_seen: CodesBuilder[dt.datetime | None] = CodesBuilder()
        since: CodesBuilder[dt.datetime | None] = CodesBuilder()
        self.created_at = Instants()
        count = 0
        for batch in batches:
            sources.extend(list(zip(batch.source, batch.account, strict=True)))
            number_ids.extend(batch.number_id)
            phones.extend(batch.phone_number)
            digits.extend(batch.phone_number)
            flags.extend(list(zip(batch.valid, batch.inbound, batch.outbound, strict=True)))
            countries.extend(batch.country_code)
            types.extend(batch.number_type)
            carriers.extend(batch.carrier)
            statuses.extend(batch.status)
            provider_statuses.extend(batch.provider_status)
            agents.extend(batch.agent_id)
            labels.extend(batch.label)
            self.created_at.extend(batch.created_at)
            first_seen.extend(batch.first_seen_at)
            since.extend(batch.unassigned_since)
            count += len(batch.source)
        self.count = count
        self.sources = sources.done()
        self.number_ids: Texts = number_ids.done()
        self.phones: Texts = phones.done()
        self.labels: Texts = labels.done()
        self.digits: DigitIndex = digits.done()
        self.flags = flags.done()
        self.countries = countries.done()
        self.types = types.done()
        self.carriers = carriers.done()
        self.statuses = statuses.done()
        self.provider_statuses = provider_statuses.done()
        self.agents = agents.done()
        self.first_seen = first_seen.done()
        self.since = since.done(order=_time_order)
        by_key = {(s.source, s.account): s for s in states}
        self.source_states = [by_key.get(key) for key in self.sources.values]

    def number(self, row: int) -> PhoneNumber:
        source, account = self.sources[row]
        valid, inbound, outbound = self.flags[row]
        state = self.source_states[self.sources.code(row)]
        phone = self.phones[row]
        number_id = self.number_ids[row]
        assert phone is not None
        assert number_id is not None
        return PhoneNumber(
            source,
            account,
            number_id,
            phone,
            valid,
            self.countries[row],
            self.types[row],
            self.carriers[row],
            self.statuses[row],
            self.provider_statuses[row],
            self.agents[row],
            self.labels[row],
            inbound,
            outbound,
            self.created_at[row],
            self.first_seen[row],
            state.last_ok_at if state else None,
            self.since[row],
            state.stale if state else False,
        )
