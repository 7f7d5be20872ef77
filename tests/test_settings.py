"""Settings: parsing, accounts, and errors that name the setting without echoing secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncbot.errors import ConfigError
from syncbot.settings import load_settings, settings_from


def test_defaults_follow_the_contract() -> None:
    s = settings_from({})
    assert s.orgapi_base_url == "https://api.example.com"
    assert s.dialnexa_base_url == "https://api.dialnexa.com/v1"
    assert s.database_url.get_secret_value() == "sqlite:///syncbot.db"
    assert s.google_sheets_api_url == "https://sheets.googleapis.com"
    assert s.slack_api_url == "https://slack.com/api/"
    assert (s.sync_interval_seconds, s.port) == (900, 3000)
    assert s.accounts() == []


def test_single_account_variables_make_default_accounts() -> None:
    s = settings_from(
        {"ORGAPI_API_KEY": "ok", "ORGAPI_ORGANIZATION_ID": "org_1", "DIALNEXA_API_KEY": "dk"}
    )
    assert [(a.key, a.organization_id) for a in s.accounts()] == [
        ("orgapi/default", "org_1"),
        ("dialnexa/default", None),
    ]


def test_account_lists_add_named_accounts_with_their_own_base_url() -> None:
    s = settings_from(
        {
            "DIALNEXA_API_KEY": "dk",
            "DIALNEXA_ACCOUNTS": [{"name": "eu", "api_key": "k2", "base_url": "https://eu.x/v1/"}],
        }
    )
    accounts = {a.key: a for a in s.accounts()}
    assert accounts["dialnexa/eu"].base_url == "https://eu.x/v1"
    assert accounts["dialnexa/default"].base_url == "https://api.dialnexa.com/v1"


def test_an_account_name_used_twice_is_an_error_naming_the_variable() -> None:
    s = settings_from(
        {"DIALNEXA_API_KEY": "dk", "DIALNEXA_ACCOUNTS": [{"name": "default", "api_key": "x"}]}
    )
    with pytest.raises(ConfigError, match="DIALNEXA_ACCOUNTS: the account name 'default'"):
        s.accounts()


def test_sheet_id_accepts_the_full_url() -> None:
    url = "https://docs.google.com/spreadsheets/d/1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/edit#gid=0"
    s = settings_from({"GOOGLE_SHEET_ID": url})
    assert s.google_sheet_id == "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"


def test_comma_separated_slack_ids_become_lists() -> None:
    s = settings_from({"SLACK_ADMIN_USER_IDS": "U1, U2,,", "SLACK_ALLOWED_TEAM_IDS": "T1"})
    assert s.slack_admin_user_ids == ["U1", "U2"]
    assert s.slack_allowed_team_ids == ["T1"]


def test_blank_values_from_a_copied_env_example_mean_unset() -> None:
    s = settings_from({"ORGAPI_API_KEY": "", "ORGAPI_ORGANIZATION_ID": " ", "GOOGLE_SHEET_ID": ""})
    assert s.accounts() == []
    assert not s.sheet_configured


def test_errors_name_the_variable_and_never_echo_the_value() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from(
            {"ORGAPI_ACCOUNTS": [{"name": "a b", "api_key": "hunter2-secret"}], "PORT": 0}
        )
    message = caught.value.message
    assert "ORGAPI_ACCOUNTS[0].name" in message
    assert "ORGAPI_ACCOUNTS[0].organization_id: Field required" in message
    assert "PORT" in message
    assert "hunter2-secret" not in message


def test_secrets_are_hidden_in_the_settings_repr() -> None:
    s = settings_from({"DIALNEXA_API_KEY": "hunter2-secret", "SLACK_BOT_TOKEN": "xoxb-secret"})
    assert "hunter2-secret" not in repr(s)
    assert "xoxb-secret" not in repr(s)


def test_load_settings_reads_the_environment_and_a_dotenv_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DIALNEXA_API_KEY=from-file\nPORT=4000\n")
    monkeypatch.setenv("PORT", "5000")
    s = load_settings(env_file=env_file)
    assert s.dialnexa_api_key is not None
    assert s.dialnexa_api_key.get_secret_value() == "from-file"
    assert s.port == 5000  # the environment wins over the file


def _key(**overrides: str) -> dict[str, str]:
    return {
        "type": "service_account",
        "client_email": "syncbot@proj.iam.gserviceaccount.com",
        "private_key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n",
        "token_uri": "https://oauth2.googleapis.com/token",
        **overrides,
    }


def test_service_account_key_from_json_text_or_a_path(tmp_path: Path) -> None:
    text = json.dumps(_key())
    assert settings_from({"GOOGLE_SERVICE_ACCOUNT_JSON": text}).service_account_info() == _key()
    path = tmp_path / "sa.json"
    path.write_text(text)
    from_path = settings_from({"GOOGLE_SERVICE_ACCOUNT_JSON": str(path)})
    assert from_path.service_account_info()["client_email"] == _key()["client_email"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("/nowhere/sa.json", "cannot be read"),
        ('{"type": "service_account",', "is not valid JSON"),
        (json.dumps({"type": "authorized_user"}), "is not a service-account key"),
    ],
)
def test_a_bad_service_account_key_says_what_to_do(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        settings_from({"GOOGLE_SERVICE_ACCOUNT_JSON": value}).service_account_info()
    assert "GOOGLE_SERVICE_ACCOUNT_JSON" in caught.value.message


def test_empty_variables_fall_back_to_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORGAPI_BASE_URL", "ORGAPI_ACCOUNTS", "SYNC_INTERVAL_SECONDS", "PORT"):
        monkeypatch.setenv(name, "")
    s = load_settings(env_file=None)
    assert s.orgapi_base_url == "https://api.example.com"
    assert s.orgapi_accounts == []
    assert (s.sync_interval_seconds, s.port) == (900, 3000)
