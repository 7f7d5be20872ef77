"""NUMBER_COSTS and COST_CURRENCY: first matching rule prices a number; bad rules exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncbot.costs import format_money
from syncbot.errors import ConfigError
from syncbot.models import PhoneNumber
from syncbot.sandbox.providers import Sandbox
from syncbot.settings import settings_from
from tests.procs import clean_env, syncbot


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


COSTS = json.dumps([{"source": "dialnexa", "monthly": 1.5}, {"monthly": 1.15}])


def _price(number: dict[str, object]) -> float:
    return 1.5 if number["source"] == "dialnexa" else 1.15


async def test_query_json_gives_each_number_its_monthly_cost_and_the_lists_total(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env(), NUMBER_COSTS=COSTS)
    await syncbot("sync", env=env, cwd=tmp_path)
    code, out, err = await syncbot("query", "unassigned", "--json", env=env, cwd=tmp_path)
    assert code == 0, err
    data = json.loads(out)
    assert data["numbers"]
    assert all(n["monthly_cost"] == _price(n) for n in data["numbers"])
    total = sum(_price(n) for n in data["numbers"])
    assert data["monthly_cost"] == {
        "amount": round(total, 2),
        "currency": "USD",
        "numbers": len(data["numbers"]),
        "unpriced": 0,
    }
    without = clean_env(tmp_path, **sandbox.env())
    _, out, _ = await syncbot("query", "unassigned", "--json", env=without, cwd=tmp_path)
    assert {n["monthly_cost"] for n in json.loads(out)["numbers"]} == {None}


async def test_idle_and_stats_in_the_terminal_say_what_the_numbers_cost_a_month(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, **sandbox.env(), NUMBER_COSTS=COSTS, COST_CURRENCY="EUR")
    await syncbot("sync", env=env, cwd=tmp_path)
    _, out, _ = await syncbot("query", "unassigned", "--json", env=env, cwd=tmp_path)
    unassigned = json.loads(out)["numbers"]
    cost = sum(_price(n) for n in unassigned)
    code, out, err = await syncbot("query", "idle", "0d", env=env, cwd=tmp_path)
    assert code == 0, err
    count = len(unassigned)
    assert f"{count} numbers unassigned for 0 days or more: {cost:.2f} EUR a month" in out
    code, out, err = await syncbot("query", "stats", env=env, cwd=tmp_path)
    assert f"All 40 numbers: {20 * 1.15 + 20 * 1.5:.2f} EUR a month" in out
    assert f"{count} unassigned: {cost:.2f} EUR a month" in out


@pytest.mark.parametrize(
    "command",
    [
        ["sync"],
        ["query", "unassigned"],
        ["export", "--csv", "-"],
        ["migrate"],
        ["doctor"],
        ["worker"],
        ["serve"],
    ],
)
async def test_a_bad_rule_ends_every_command_with_exit_2_naming_the_rule(
    sandbox: Sandbox, tmp_path: Path, command: list[str]
) -> None:
    bad = '[{"monthly": 1}, {"country": "GB", "monthly": -2}]'
    env = clean_env(tmp_path, **sandbox.env(), NUMBER_COSTS=bad)
    code, out, err = await syncbot(*command, env=env, cwd=tmp_path)
    assert code == 2
    assert "NUMBER_COSTS rule 2: 'monthly' must be zero or more, not -2" in out + err
