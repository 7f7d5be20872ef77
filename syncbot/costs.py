"""What a number costs a month: ``NUMBER_COSTS`` rules, first match wins (CONTRACT section 4).

Costs are derived, never stored: a number's price follows from its source, account, country
and type, so a changed rule applies to every number at the next read or write.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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

    @property
    def configured(self) -> bool:
        return bool(self.rules)

    def monthly(self, number: Priced) -> float | None:
        """The first matching rule's amount; ``None`` when no rule matches."""
        for rule in self.rules:
            if rule.matches(number):
                return rule.monthly
        return None


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


def format_money(amount: float, currency: str) -> str:
    """``54.05 USD``: the amount with its currency's own decimals, and the code people read."""
    from babel.numbers import format_currency  # noqa: PLC0415 - as above

    return format_currency(amount, currency, format="#,##0.00 ¤¤", locale="en_US")
