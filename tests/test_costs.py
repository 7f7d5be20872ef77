"""NUMBER_COSTS and COST_CURRENCY: first matching rule prices a number; bad rules exit 2."""

from __future__ import annotations

import json

import pytest

from syncbot.costs import format_money
from syncbot.errors import ConfigError
from syncbot.models import PhoneNumber
from syncbot.settings import settings_from


def _number(
    source: str = "dialnexa", country: str | None = "GB", kind: str = "local"
) -> PhoneNumber:
    return PhoneNumber(
        source, "default", "n1", "+441132103762", True, country, kind, None,
        "unassigned", None, None, None, None, None, None,
    )  # fmt: skip


RULES = [
    {"source": "dialnexa", "country": "gb", "monthly": 1.5},
    {"type": "toll_free", "monthly": 2},
    {"monthly": 1.15},
]


def test_the_first_matching_rule_prices_a_number() -> None:
    costs = settings_from({"NUMBER_COSTS": json.dumps(RULES)}).costs()
    assert costs.monthly(_number()) == 1.5
    assert costs.monthly(_number(source="orgapi", kind="toll_free")) == 2.0
    assert costs.monthly(_number(source="orgapi")) == 1.15


def test_a_number_no_rule_matches_has_no_cost() -> None:
    costs = settings_from({"NUMBER_COSTS": json.dumps(RULES[:2])}).costs()
    assert costs.monthly(_number(source="orgapi", country=None)) is None
    assert not settings_from({}).costs().configured


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ('{"monthly": 1}', "must be a JSON list"),
        ("[1.5]", "rule 1: must be an object"),
        ('[{"monthly": 1}, {"monthly": -1}]', "rule 2: 'monthly' must be zero or more"),
        ('[{"monthly": "1.5"}]', "rule 1: 'monthly' must be a number"),
        ('[{"monthly": true}]', "rule 1: 'monthly' must be a number"),
        ('[{"monthly": 1, "region": "EU"}]', "rule 1: has the unknown key 'region'"),
        ('[{"country": "GB"}]', "rule 1: has no 'monthly'"),
        ("[{", "NUMBER_COSTS is not valid JSON"),
    ],
)
def test_a_bad_rule_is_a_configuration_error_naming_it(rules: str, message: str) -> None:
    with pytest.raises(ConfigError, match="NUMBER_COSTS") as raised:
        settings_from({"NUMBER_COSTS": rules})
    assert message in raised.value.message
    assert raised.value.exit_code == 2


def test_the_currency_must_be_an_iso_4217_code() -> None:
    assert settings_from({"COST_CURRENCY": "eur"}).costs().currency == "EUR"
    with pytest.raises(ConfigError, match="COST_CURRENCY"):
        settings_from({"COST_CURRENCY": "DOLLARS"})


def test_money_is_formatted_with_the_currency_s_own_decimals() -> None:
    assert format_money(54.05, "USD") == "54.05 USD"
    assert format_money(1234.5, "EUR") == "1,234.50 EUR"
    assert format_money(1234, "JPY") == "1,234 JPY"
