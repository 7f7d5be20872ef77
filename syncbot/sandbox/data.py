"""Realistic, deterministic phone-number records for the sandbox provider APIs.

Benchmarks generate 100,000 numbers, so libphonenumber is consulted once per numbering plan (an
example number and its formatting), never per generated number: a generated number keeps the
example's leading digits and varies only trailing digits that the plan leaves free.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

Source = Literal["orgapi", "dialnexa"]

# Agents that answer numbers on both providers, so `agent X` finds several numbers across sources.
SHARED_AGENTS = (
    "agent_sales_eu",
    "agent_sales_us",
    "agent_support_1",
    "agent_support_2",
    "agent_billing",
)
_TEAMS = ("support", "sales", "onboarding", "retention", "afterhours")
_LABEL_WORDS = ("Main line", "Overflow", "Front desk", "Hotline", "Callback", "Campaign", "Backup")
_NICKNAMES = ("Reception", "Night shift", "VIP", "Outbound dialer", "Spring promo", "Test line")

# (region, number type as the providers name it, share of all numbers, trailing digits that vary,
# leading digits that replace the example's, to spread numbers over several area codes)
_PLAN_SPECS: tuple[tuple[str, str, int, int, tuple[str, ...]], ...] = (
    ("US", "local", 24, 6, ("415", "212", "646", "312", "206", "617", "512")),
    ("US", "toll_free", 4, 6, ("888", "877")),
    ("GB", "local", 8, 6, ("113", "161")),
    ("GB", "mobile", 4, 6, ()),
    ("GB", "toll_free", 2, 6, ()),
    ("DE", "local", 5, 5, ()),
    ("DE", "mobile", 4, 7, ()),
    ("IN", "local", 5, 5, ()),
    ("IN", "mobile", 4, 6, ()),
    ("AU", "local", 3, 6, ("3", "7")),
    ("AU", "mobile", 3, 6, ()),
    ("AU", "toll_free", 1, 5, ()),
    ("CA", "local", 7, 6, ("416", "604", "514")),
    ("FR", "local", 6, 6, ("4",)),
    ("FR", "mobile", 4, 6, ()),
    ("JP", "local", 3, 6, ()),
    ("JP", "mobile", 2, 6, ()),
)
_LIBPHONENUMBER_TYPES = {
    "local": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "toll_free": PhoneNumberType.TOLL_FREE,
}
# Each source and each kind of record draws serial numbers from its own stream, so numbers never
# collide between sources, nor between a dataset and records inserted into it later.
_STREAMS = {
    ("orgapi", False): 0,
    ("dialnexa", False): 1,
    ("orgapi", True): 2,
    ("dialnexa", True): 3,
}
# An affine map with a prime multiplier (coprime with every plan's capacity) is a bijection that
# scatters consecutive serials over the plan, so numbers look random yet never repeat.
_SPREAD = 2_654_435_761

# Texts that must survive escaping downstream (sheet formulas, Slack mrkdwn and mentions).
HOSTILE_LABELS = (
    '=HYPERLINK("http://x","y")',
    "<!channel> ping",
    "A & B <b>",
    "+1 backup line",
)
INVALID_NUMBERS = ("+1 555 0100", "+44 20 7946 095")

_Chunks = tuple[tuple[str, int], ...]


@dataclass(slots=True)
class Dataset:
    """Raw records exactly as each provider's API returns them, in listing order."""

    orgapi: list[dict[str, Any]]
    dialnexa: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Variant:
    prefix: str
    international: _Chunks
    national: _Chunks


@dataclass(frozen=True, slots=True)
class _Plan:
    region: str
    kind: str
    calling_code: int
    free_digits: int
    variants: tuple[_Variant, ...]
    shift: int

    def number(self, serial: int) -> tuple[str, _Variant]:
        """The national significant number for ``serial``; distinct serials give distinct ones."""
        capacity = len(self.variants) * 10**self.free_digits
        if serial >= capacity:
            raise ValueError(f"more {self.region} {self.kind} numbers than the sandbox plan holds")
        spread = (serial * _SPREAD + self.shift) % capacity
        variant = self.variants[spread % len(self.variants)]
        suffix = str(spread // len(self.variants)).zfill(self.free_digits)
        return variant.prefix + suffix, variant


def _chunks(formatted: str, nsn_length: int) -> _Chunks:
    """Split a formatted example into (literal, digit count) runs covering its trailing NSN."""
    digit_positions = [i for i, ch in enumerate(formatted) if ch.isdigit()][-nsn_length:]
    slots = set(digit_positions)
    chunks: list[tuple[str, int]] = []
    literal, run = "", 0
    for i, ch in enumerate(formatted):
        if i in slots:
            run += 1
            continue
        if run:
            chunks.append((literal, run))
            literal, run = "", 0
        literal += ch
    chunks.append((literal, run))
    return tuple(chunks)


def _fill(chunks: _Chunks, nsn: str) -> str:
    parts: list[str] = []
    pos = 0
    for literal, run in chunks:
        parts.append(literal)
        parts.append(nsn[pos : pos + run])
        pos += run
    return "".join(parts)


@functools.cache
def _plans() -> tuple[_Plan, ...]:
    plans = []
    for position, (region, kind, _, free_digits, leads) in enumerate(_PLAN_SPECS):
        example = phonenumbers.example_number_for_type(region, _LIBPHONENUMBER_TYPES[kind])
        assert example is not None, (region, kind)
        assert example.country_code is not None
        nsn = phonenumbers.national_significant_number(example)
        base = nsn[:-free_digits]
        variants = []
        for lead in ("", *leads):
            sample_nsn = lead + nsn[len(lead) :]
            sample = phonenumbers.parse(f"+{example.country_code}{sample_nsn}")
            intl = phonenumbers.format_number(sample, PhoneNumberFormat.INTERNATIONAL)
            national = phonenumbers.format_number(sample, PhoneNumberFormat.NATIONAL)
            variants.append(
                _Variant(
                    prefix=lead + base[len(lead) :],
                    international=_chunks(intl, len(nsn)),
                    national=_chunks(national, len(nsn)),
                )
            )
        shift = _scramble(position + 1, 64)
        plans.append(_Plan(region, kind, example.country_code, free_digits, tuple(variants), shift))
    return tuple(plans)


@functools.cache
def _plan_table() -> tuple[_Plan, ...]:
    """Each plan repeated by its share, so one uniform draw picks a plan."""
    weights = (spec[2] for spec in _PLAN_SPECS)
    return tuple(
        plan for plan, weight in zip(_plans(), weights, strict=True) for _ in range(weight)
    )


def _scramble(value: int, bits: int) -> int:
    """A bijection on ``bits``-bit integers, so ids look random yet never repeat."""
    mask = (1 << bits) - 1
    value = (value * 0x9E3779B97F4A7C15F39CC0605CEDC835) & mask
    value ^= value >> (bits // 2)
    return (value * 0xC2B2AE3D27D4EB4F165667B19E3779F9) & mask


class _Generator:
    """Records of one source, one after another, from one seeded random stream."""

    def __init__(self, source: Source, *, seed: int, inserted: bool, numbers: int) -> None:
        self._rng = random.Random(f"{seed}/{source}/{'inserted' if inserted else 'dataset'}")
        self._stream = _STREAMS[source, inserted]
        # Records inserted while a sync runs are new: created after every dataset record.
        self._epoch = (
            datetime(2025, 7, 1, tzinfo=UTC) if inserted else datetime(2021, 1, 1, tzinfo=UTC)
        )
        self._span = 5 * 86_400 if inserted else 4 * 365 * 86_400
        self._id_base = (seed << 41) | ((1 << 40) if inserted else 0)
        self._serials: dict[tuple[str, str], int] = {}
        # Agents grow with the inventory, so each one answers a realistic handful of numbers.
        self._agent_pool = max(2, numbers // 200)

    def _phone(self) -> tuple[_Plan, str, str, str]:
        """A fresh number: its plan, E.164, international and national text."""
        plan = self._rng.choice(_plan_table())
        key = (plan.region, plan.kind)
        counter = self._serials.get(key, 0)
        self._serials[key] = counter + 1
        nsn, variant = plan.number(counter * len(_STREAMS) + self._stream)
        e164 = f"+{plan.calling_code}{nsn}"
        return plan, e164, _fill(variant.international, nsn), _fill(variant.national, nsn)

    def _agent(self) -> str:
        if self._rng.random() < 0.2:
            return self._rng.choice(SHARED_AGENTS)
        team = self._rng.choice(_TEAMS)
        return f"agent_{team}_{self._rng.randint(3, self._agent_pool + 2)}"

    def _created_at(self, *, offsets: bool) -> str:
        moment = self._epoch + timedelta(seconds=self._rng.randrange(self._span))
        if offsets and self._rng.random() < 0.5:
            zone = timezone(timedelta(hours=self._rng.choice((-7, -5, 1, 2, 5.5, 10))))
            return moment.astimezone(zone).isoformat()
        if self._rng.random() < 0.5:
            millis = self._rng.randrange(1000)
            return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"
        return f"{moment:%Y-%m-%dT%H:%M:%S}Z"

    def _id(self, index: int, bits: int) -> int:
        return _scramble((self._id_base + index) & ((1 << bits) - 1), bits)

    def orgapi(self, index: int) -> dict[str, Any]:
        rng = self._rng
        _, e164, international, _ = self._phone()
        free = rng.random() < 0.3
        agent = None if free or rng.random() < 0.01 else self._agent()
        return {
            "phone_number_id": f"pn_{self._id(index, 56):014x}",
            "phone_number": e164 if rng.random() < 0.8 else international,
            "provider": rng.choices(("twilio", "telnyx", "vonage", "sip"), (50, 20, 15, 15))[0],
            "status": "free" if free else "assigned",
            "supports_inbound": rng.random() < 0.95,
            "supports_outbound": rng.random() < 0.8,
            "assigned_agent_id": agent,
            "created_at": self._created_at(offsets=True),
        }

    def dialnexa(self, index: int, *, shape: str | None = None) -> dict[str, Any]:
        rng = self._rng
        plan, e164, international, national = self._phone()
        shape = shape or rng.choice("AB")
        agent = None if rng.random() < 0.25 else self._agent()
        raw = self._id(index, 128)
        record_id = (
            f"{raw >> 96:08x}-{raw >> 80 & 0xFFFF:04x}-4{raw >> 68 & 0xFFF:03x}-"
            f"{0x8000 | raw >> 52 & 0x3FFF:04x}-{raw & 0xFFFFFFFFFFFF:012x}"
        )
        if shape == "A":
            return {
                "id": record_id,
                "phone_number": e164 if rng.random() < 0.6 else international,
                "label": f"{rng.choice(_TEAMS).title()} {plan.region} {rng.choice(_LABEL_WORDS)}",
                "agent_id": agent,
                "status": rng.choices(("active", "inactive", "porting"), (85, 10, 5))[0],
                "provider": rng.choices(("twilio", "telnyx", "vonage", "sip"), (40, 30, 15, 15))[0],
                "created_at": self._created_at(offsets=False),
                # Half without a nickname, so the label is what people see.
                "nickname": rng.choice(_NICKNAMES) if rng.random() < 0.5 else None,
            }
        # National text only for NANP numbers, where "(415) 555-0123" is what such APIs show.
        texts = (e164, international, national) if plan.calling_code == 1 else (e164, international)
        return {
            "id": record_id,
            "phone_number": rng.choices(texts, (50, 30, 20)[: len(texts)])[0],
            "country_code": plan.region,
            "type": plan.kind,
            "nickname": rng.choice(_NICKNAMES) if rng.random() < 0.8 else None,
            "inbound_agent_id": agent,
            "created_at": self._created_at(offsets=True),
        }


# Fixed records at low indexes, so even a 20-number dataset has every case tests rely on.
_ORGAPI_FIXED: dict[int, dict[str, Any]] = {
    0: {"status": "assigned", "assigned_agent_id": "agent_sales_eu"},
    1: {"status": "free", "assigned_agent_id": None},
    2: {"status": "assigned", "assigned_agent_id": "agent_support_1"},
    3: {"status": "assigned", "assigned_agent_id": None},
    4: {"phone_number": INVALID_NUMBERS[0], "status": "free", "assigned_agent_id": None},
}
_DIALNEXA_SHAPES = "ABABABAB"
_DIALNEXA_FIXED: dict[int, dict[str, Any]] = {
    0: {"label": HOSTILE_LABELS[0], "nickname": None},
    1: {"nickname": HOSTILE_LABELS[1], "inbound_agent_id": "agent_support_1"},
    2: {"nickname": HOSTILE_LABELS[2], "label": "Sales desk"},
    3: {"nickname": HOSTILE_LABELS[3], "inbound_agent_id": None},
    4: {"phone_number": INVALID_NUMBERS[1], "agent_id": None},
    5: {"inbound_agent_id": "agent_sales_eu"},
    6: {"agent_id": "agent_sales_eu", "status": "active"},
    7: {"inbound_agent_id": None, "nickname": None},
}


def generate_dataset(*, numbers: int = 200, seed: int = 7) -> Dataset:
    """``numbers`` records split between the sources (orgapi gets the odd one), same per seed."""
    orgapi_count = (numbers + 1) // 2
    dialnexa_count = numbers - orgapi_count
    orgapi = _Generator("orgapi", seed=seed, inserted=False, numbers=numbers)
    dialnexa = _Generator("dialnexa", seed=seed, inserted=False, numbers=numbers)
    orgapi_records = [orgapi.orgapi(i) for i in range(orgapi_count)]
    dialnexa_records = [
        dialnexa.dialnexa(i, shape=_DIALNEXA_SHAPES[i] if i < len(_DIALNEXA_SHAPES) else None)
        for i in range(dialnexa_count)
    ]
    for fixed, records in ((_ORGAPI_FIXED, orgapi_records), (_DIALNEXA_FIXED, dialnexa_records)):
        for index, fields in fixed.items():
            if index < len(records):
                records[index].update(fields)
    return Dataset(orgapi=orgapi_records, dialnexa=dialnexa_records)


def inserted_records(source: Source, count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """Records that appear at a provider while it is being listed, unlike any dataset record."""
    generator = _Generator(source, seed=seed, inserted=True, numbers=count)
    make = generator.orgapi if source == "orgapi" else generator.dialnexa
    return [make(i) for i in range(count)]
