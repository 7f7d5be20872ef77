"""Normalization of both providers' records into the one PhoneNumber schema (pure functions)."""

from __future__ import annotations

import datetime as dt

import phonenumbers
from pydantic import SecretStr

from syncbot.normalize import TYPE_NAMES, PhoneParser, parse_phone
from syncbot.providers.dialnexa import DialnexaProvider, DialnexaRecord
from syncbot.providers.orgapi import OrgapiProvider, OrgapiRecord
from syncbot.sandbox.data import generate_dataset
from syncbot.settings import Account

ORGAPI = OrgapiProvider(Account("orgapi", "default", "http://x", SecretStr("k"), "org"))
DIALNEXA = DialnexaProvider(Account("dialnexa", "acme", "http://x/v1", SecretStr("k")))


def test_orgapi_record_becomes_e164_with_derived_country_and_type() -> None:
    record = OrgapiRecord.model_validate(
        {
            "phone_number_id": "pn_1",
            "phone_number": "+44 20 7946 0958",
            "provider": "twilio",
            "status": "assigned",
            "supports_inbound": True,
            "supports_outbound": False,
            "assigned_agent_id": "agent_uk",
            "created_at": "2025-03-01T10:00:00+02:00",
            "unknown_extra": {"ignored": True},
        }
    )
    n = ORGAPI.normalize(record, PhoneParser())
    assert (n.source, n.account, n.number_id) == ("orgapi", "default", "pn_1")
    assert n.phone_number == "+442079460958"
    assert n.valid is True
    assert (n.country_code, n.number_type, n.carrier) == ("GB", "local", "twilio")
    assert (n.status, n.provider_status, n.agent_id) == ("assigned", "assigned", "agent_uk")
    assert (n.inbound, n.outbound, n.label) == (True, False, None)
    assert n.created_at == dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


def test_orgapi_free_status_or_missing_agent_is_unassigned() -> None:
    free = OrgapiRecord.model_validate(
        {
            "phone_number_id": 7,
            "phone_number": "+14155550123",
            "status": "free",
            "assigned_agent_id": "agent_x",
        }
    )
    no_agent = OrgapiRecord.model_validate(
        {"phone_number_id": "8", "phone_number": "+14155550124", "status": "assigned"}
    )
    parse = PhoneParser()
    assert ORGAPI.normalize(free, parse).status == "unassigned"
    assert ORGAPI.normalize(free, parse).number_id == "7"
    assert ORGAPI.normalize(no_agent, parse).status == "unassigned"


def test_dialnexa_shape_a_uses_label_agent_id_and_provider() -> None:
    record = DialnexaRecord.model_validate(
        {
            "id": "dn_1",
            "phone_number": "+61 412 345 678",
            "label": "Sydney",
            "agent_id": "ag_1",
            "status": "active",
            "provider": "telnyx",
            "created_at": "2025-01-02T03:04:05Z",
            "nickname": None,
        }
    )
    n = DIALNEXA.normalize(record, PhoneParser())
    assert n.phone_number == "+61412345678"
    assert (n.country_code, n.number_type) == ("AU", "mobile")
    assert (n.label, n.agent_id, n.status, n.provider_status, n.carrier) == (
        "Sydney",
        "ag_1",
        "assigned",
        "active",
        "telnyx",
    )
    assert (n.inbound, n.outbound) == (None, None)
    assert n.account == "acme"


def test_dialnexa_shape_b_prefers_provider_country_type_nickname_and_inbound_agent() -> None:
    record = DialnexaRecord.model_validate(
        {
            "id": 42,
            "phone_number": "(415) 555-0199",
            "country_code": "us",
            "type": "toll_free",
            "nickname": "Front desk",
            "label": "ignored when nickname is set",
            "inbound_agent_id": "ag_in",
            "agent_id": "ag_other",
            "created_at": "2025-01-02T03:04:05",
        }
    )
    n = DIALNEXA.normalize(record, PhoneParser())
    assert n.phone_number == "+14155550199"  # national format read with the provider's country
    assert (n.country_code, n.number_type) == ("US", "toll_free")
    assert (n.label, n.agent_id, n.status) == ("Front desk", "ag_in", "assigned")
    assert n.created_at == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_dialnexa_without_any_agent_is_unassigned_and_missing_fields_are_null() -> None:
    record = DialnexaRecord.model_validate({"id": "dn_2", "phone_number": "+33 1 23 45 67 89"})
    n = DIALNEXA.normalize(record, PhoneParser())
    assert n.status == "unassigned"
    assert (n.agent_id, n.label, n.carrier, n.provider_status, n.created_at) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert n.country_code == "FR"


def test_unparseable_text_is_kept_unchanged_and_marked_invalid() -> None:
    parsed = parse_phone("call reception", None)
    assert parsed.e164 is None
    assert parsed.valid is False
    record = OrgapiRecord.model_validate({"phone_number_id": "x", "phone_number": "ext. 12"})
    n = ORGAPI.normalize(record, PhoneParser())
    assert (n.phone_number, n.valid, n.country_code) == ("ext. 12", False, None)


def test_a_non_iso_country_code_is_ignored_in_favour_of_the_derived_one() -> None:
    record = DialnexaRecord.model_validate(
        {"id": "d", "phone_number": "+49 30 901820", "country_code": "+49"}
    )
    assert DIALNEXA.normalize(record, PhoneParser()).country_code == "DE"


def test_parse_phone_agrees_with_libphonenumbers_public_api() -> None:
    """The one-lookup reading gives what is_valid_number/number_type/region_code give."""
    data = generate_dataset(numbers=2000)
    texts = [(r["phone_number"], None) for r in data.orgapi]
    texts += [(r["phone_number"], r.get("country_code")) for r in data.dialnexa]
    texts += [("+800 1234 5678", None), ("+1 555 0100", None), ("+44 20 7946 095", None)]
    for text, region in texts:
        ours = parse_phone(text, region)
        number = phonenumbers.parse(text, region)
        valid = phonenumbers.is_valid_number(number)
        assert ours.valid == valid, text
        assert ours.e164 == phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if valid:
            expected = phonenumbers.region_code_for_number(number)
            assert ours.country_code == (None if expected == "001" else expected), text
            assert ours.number_type == TYPE_NAMES.get(phonenumbers.number_type(number)), text
