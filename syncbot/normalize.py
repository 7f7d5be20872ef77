"""Normalization: provider records to ``PhoneNumber``, as pure functions.

libphonenumber costs about 0.1 ms per number; a record unchanged since the last good sync is
not normalized again (the store keeps a digest of each raw record), so only new and changed
records are parsed.
"""

from __future__ import annotations

import datetime as dt
import re

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import (
    _number_type_helper,  # the public number_type() would look the region up a second time
    national_significant_number,
)

from syncbot.models import ParsedPhone, PhoneNumber, Status

NON_GEO_REGION = "001"
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "local",
    # North American numbers cannot be told apart; providers sell them as local numbers.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


def parse_phone(text: str, region: str | None) -> ParsedPhone:
    """Read ``text`` with libphonenumber; ``region`` helps with national formats.

    Equivalent to ``is_valid_number`` + ``number_type`` + ``region_code_for_number``, but
    finds the region once: those three each look it up again, which for +1 numbers means
    matching against some 25 regions, and made up 40% of a first sync's CPU time.
    """
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return ParsedPhone(text, region, None, False, None, None)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    found = phonenumbers.region_code_for_number(number)
    metadata = (
        PhoneMetadata.metadata_for_region_or_calling_code(number.country_code, found)
        if found and number.country_code is not None
        else None
    )
    if metadata is None:
        return ParsedPhone(text, region, e164, False, None, None)
    kind = _number_type_helper(national_significant_number(number), metadata)
    if kind == PhoneNumberType.UNKNOWN:
        return ParsedPhone(text, region, e164, False, None, None)
    # "001" is libphonenumber's region for global numbers (+800, ...): no ISO country.
    country = None if found == NON_GEO_REGION else found
    return ParsedPhone(text, region, e164, True, country, TYPE_NAMES.get(kind))


class PhoneParser:
    """``parse_phone``, counting the texts it read.

    No cache: a run's texts are nearly all distinct, and 500,000 cached readings would cost
    more memory than the parses they could save.
    """

    def __init__(self) -> None:
        self.parsed = 0

    def __call__(self, text: str, region: str | None) -> ParsedPhone:
        self.parsed += 1
        return parse_phone(text, region)


def normalize_created_at(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # Providers that omit the offset mean UTC.
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def build(
    *,
    source: str,
    account: str,
    number_id: str,
    phone_text: str,
    parsed: ParsedPhone,
    country_code: str | None,
    number_type: str | None,
    carrier: str | None,
    status: Status,
    provider_status: str | None,
    agent_id: str | None,
    label: str | None,
    inbound: bool | None,
    outbound: bool | None,
    created_at: dt.datetime | None,
) -> PhoneNumber:
    """Assemble a record: the provider's own country and type win over derived ones."""
    return PhoneNumber(
        source=source,
        account=account,
        number_id=number_id,
        phone_number=parsed.e164 if parsed.e164 is not None else phone_text,
        valid=parsed.valid,
        country_code=(country_code or parsed.country_code or None),
        number_type=number_type or parsed.number_type,
        carrier=carrier,
        status=status,
        provider_status=provider_status,
        agent_id=agent_id,
        label=label,
        inbound=inbound,
        outbound=outbound,
        created_at=normalize_created_at(created_at),
    )


def international(phone: str) -> str:
    """``+12025553004`` as people read it, ``+1 202-555-3004`` (libphonenumber's international
    format); anything but a valid E.164 number stays as the provider wrote it."""
    if not _E164.match(phone):
        return phone
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return phone
    if not phonenumbers.is_valid_number(number):
        return phone
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
