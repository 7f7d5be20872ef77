"""What a number costs a month: ``NUMBER_COSTS`` rules, first match wins (CONTRACT section 4).

Costs are derived, never stored: a number's price follows from its source, account, country
and type, so a changed rule applies to every number at the next read or write.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from syncbot.errors import ConfigError

RULE_KEYS = ("source", "account", "country", "type")


class Priced(Protocol):
    """What a rule looks at; ``PhoneNumber`` has these fields."""

    @property
    def source(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def country_code(self) -> str | None: ...
    @property
    def number_type(self) -> str | None: ...


class Counted(Priced, Protocol):
    """What a cost total looks at; ``PhoneNumber`` has these fields too."""

    @property
    def unassigned(self) -> bool: ...
    @property
    def unassigned_since(self) -> dt.datetime | None: ...


@dataclass(frozen=True, slots=True)
class _Fields:
    """What a rule looks at, without the rest of a number."""

    source: str
    account: str
    country_code: str | None
    number_type: str | None


@dataclass(frozen=True, slots=True)
class CostRule:
    """``monthly`` for every number that matches each of the given fields."""

    monthly: float
    source: str | None = None
    account: str | None = None
    country: str | None = None
    type: str | None = None

    def matches(self, number: Priced) -> bool:
        return (
            (self.source is None or self.source == number.source)
            and (self.account is None or self.account == number.account)
            and (self.country is None or self.country == (number.country_code or "").upper())
            and (self.type is None or self.type == number.number_type)
        )


@dataclass(frozen=True, slots=True)
class CostRules:
    """The configured rules and the currency their amounts are in."""

    rules: tuple[CostRule, ...] = ()
    currency: str = "USD"
    # A price depends on four fields with few distinct combinations, so pricing 100,000 numbers
    # (the Inventory, the CSV export) matches rules a few dozen times, not 100,000.
    _prices: dict[tuple[str, str, str | None, str | None], float | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def configured(self) -> bool:
        return bool(self.rules)

    def monthly(self, number: Priced) -> float | None:
        """The first matching rule's amount; ``None`` when no rule matches."""
        return self.price(number.source, number.account, number.country_code, number.number_type)

    def price(
        self, source: str, account: str, country_code: str | None, number_type: str | None
    ) -> float | None:
        """``monthly`` of a number with these fields (for numbers kept as columns)."""
        key = (source, account, country_code, number_type)
        try:
            return self._prices[key]
        except KeyError:
            fields = _Fields(source, account, country_code, number_type)
            price = next((r.monthly for r in self.rules if r.matches(fields)), None)
            self._prices[key] = price
            return price

    def overview_of(self, tallies: Iterable[Tally]) -> CostOverview:
        """What all numbers, the unassigned ones and those idle ``IDLE_DAYS`` or more cost, from
        counts of alike numbers (a store or a snapshot counts them without loading each)."""
        sums: dict[str, tuple[list[float], list[int]]] = {
            part: ([], [0, 0]) for part in ("all", "unassigned", "idle")
        }
        for tally in tallies:
            price = self.monthly(tally)
            parts = ["all"] + ["unassigned"] * tally.unassigned + ["idle"] * tally.idle
            for part in parts:
                amounts, counts = sums[part]
                counts[0] += tally.count
                if price is None:
                    counts[1] += tally.count
                else:
                    amounts.append(price * tally.count)
        every, unassigned, idle = (
            Cost(math.fsum(amounts), self.currency, numbers, unpriced)
            for amounts, (numbers, unpriced) in sums.values()
        )
        return CostOverview(all=every, unassigned=unassigned, idle=idle)


@dataclass(frozen=True, slots=True)
class Tally:
    """``count`` numbers alike in all that their price and the overview depend on."""

    source: str
    account: str
    country_code: str | None
    number_type: str | None
    unassigned: bool
    idle: bool
    count: int


# The idle period the Summary, the stats answer and the sync's totals report costs for.
IDLE_DAYS = 30


def is_idle(number: Counted, *, now: dt.datetime, days: int) -> bool:
    """Whether ``number`` has been unassigned for at least ``days`` days at ``now``."""
    return idle_since(number.unassigned_since, now=now, days=days)


def idle_since(since: dt.datetime | None, *, now: dt.datetime, days: int) -> bool:
    """Whether a number unassigned ``since`` then has been for at least ``days`` days."""
    return since is not None and now - since >= dt.timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Cost:
    """What ``numbers`` numbers cost a month; ``unpriced`` of them match no rule."""

    amount: float
    currency: str
    numbers: int
    unpriced: int = 0

    def text(self) -> str:
        return format_money(self.amount, self.currency)

    def to_dict(self) -> dict[str, object]:
        return {
            "amount": round_money(self.amount, self.currency),
            "currency": self.currency,
            "numbers": self.numbers,
            "unpriced": self.unpriced,
        }


@dataclass(frozen=True, slots=True)
class CostOverview:
    """The three figures people ask for: all numbers, the unassigned, the long idle."""

    all: Cost
    unassigned: Cost
    idle: Cost

    def to_dict(self) -> dict[str, object]:
        return {
            "currency": self.all.currency,
            "all": self.all.to_dict(),
            "unassigned": self.unassigned.to_dict(),
            f"idle_{IDLE_DAYS}_days": self.idle.to_dict(),
        }


def _bad(index: int, what: str) -> ConfigError:
    return ConfigError(
        f"NUMBER_COSTS rule {index + 1}: {what} "
        '(expected e.g. [{"source": "dialnexa", "country": "GB", "monthly": 1.5}, '
        '{"monthly": 1.15}])'
    )


def _rule(index: int, raw: object) -> CostRule:
    if not isinstance(raw, dict):
        raise _bad(index, f"must be an object, not {json.dumps(raw)}")
    unknown = sorted(set(raw) - {"monthly", *RULE_KEYS})
    if unknown:
        raise _bad(
            index,
            f"has the unknown key {unknown[0]!r}; a rule may have monthly, " + ", ".join(RULE_KEYS),
        )
    if "monthly" not in raw:
        raise _bad(index, "has no 'monthly' amount")
    monthly = raw["monthly"]
    if isinstance(monthly, bool) or not isinstance(monthly, int | float):
        raise _bad(index, f"'monthly' must be a number, not {json.dumps(monthly)}")
    if not math.isfinite(monthly) or monthly < 0:
        raise _bad(index, f"'monthly' must be zero or more, not {monthly}")
    fields: dict[str, str] = {}
    for key in RULE_KEYS:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise _bad(index, f"{key!r} must be a non-empty string")
        fields[key] = value.strip().upper() if key == "country" else value.strip()
    return CostRule(monthly=float(monthly), **fields)


def parse_rules(text: str | None) -> tuple[CostRule, ...]:
    """``NUMBER_COSTS``'s JSON text as rules; a bad rule raises ``ConfigError`` naming it."""
    if text is None or not text.strip():
        return ()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"NUMBER_COSTS is not valid JSON (line {exc.lineno}, column {exc.colno}); "
            'expected e.g. [{"country": "GB", "monthly": 1.5}, {"monthly": 1.15}]'
        ) from None
    if not isinstance(raw, list):
        raise ConfigError(
            f"NUMBER_COSTS must be a JSON list of rules, not a {type(raw).__name__}; "
            'expected e.g. [{"country": "GB", "monthly": 1.5}, {"monthly": 1.15}]'
        )
    return tuple(_rule(i, r) for i, r in enumerate(raw))


def check_currency(code: str) -> str:
    """An ISO 4217 code, upper-cased; anything else raises ``ValueError``."""
    from babel.numbers import list_currencies  # noqa: PLC0415 - babel's data loads on first use

    code = code.strip().upper()
    if code not in list_currencies():
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (e.g. USD, EUR, GBP)")
    return code


def round_money(amount: float, currency: str) -> float:
    """``amount`` rounded to the currency's own decimals (2 for USD, 0 for JPY)."""
    from babel.numbers import get_currency_precision  # noqa: PLC0415 - as above

    return round(amount, get_currency_precision(currency))


def format_money(amount: float, currency: str) -> str:
    """``54.05 USD``: the amount with its currency's own decimals, and the code people read."""
    from babel.numbers import format_currency  # noqa: PLC0415 - as above

    return format_currency(amount, currency, format="#,##0.00 ¤¤", locale="en_US")
