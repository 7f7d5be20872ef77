"""Settings: the only module that reads the environment (and the optional ``.env`` file).

Every other module receives a ``Settings`` object. Loading never connects anywhere; a bad
value becomes a ``ConfigError`` that names the variable and shows what a valid one looks like.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from syncbot.costs import CostRules, check_currency, parse_rules
from syncbot.errors import ConfigError
from syncbot.logs import event

log = logging.getLogger(__name__)

SourceName = Literal["orgapi", "dialnexa"]
# A variable starting with one of these is meant for syncbot: one that is no setting is a typo.
SETTING_PREFIXES = ("ORGAPI_", "DIALNEXA_", "GOOGLE_", "SLACK_", "SYNC_", "NUMBER_", "COST_")
# ORGAPI_BASE_URL's default (CONTRACT section 4) names no real server: it must be set.
ORGAPI_PLACEHOLDER_URL = "https://api.example.com"

# What a valid value looks like, shown beside any error about the variable.
_EXAMPLES: dict[str, str] = {
    "ORGAPI_BASE_URL": "https://api.example.com",
    "DIALNEXA_BASE_URL": "https://api.dialnexa.com/v1",
    "ORGAPI_ACCOUNTS": '[{"name": "acme", "api_key": "...", "organization_id": "org_123"}]',
    "DIALNEXA_ACCOUNTS": '[{"name": "acme", "api_key": "..."}]',
    "DATABASE_URL": "sqlite:///syncbot.db or postgresql://user:pass@host:5432/db",
    "GOOGLE_SHEET_ID": "the key from https://docs.google.com/spreadsheets/d/<key>/edit",
    "GOOGLE_SERVICE_ACCOUNT_JSON": "the key file's JSON text, or a path such as ./sa.json",
    "GOOGLE_SHEETS_API_URL": "https://sheets.googleapis.com",
    "SLACK_API_URL": "https://slack.com/api/",
    "SLACK_ADMIN_USER_IDS": "U012ABCDEF,U034GHIJKL",
    "SLACK_ALLOWED_TEAM_IDS": "T012ABCDEF",
    "COST_CURRENCY": "USD",
    "SYNC_INTERVAL_SECONDS": "900",
    "SYNC_DEADLINE_SECONDS": "600",
    "SYNC_MAX_REMOVAL_PERCENT": "50",
    "PORT": "3000",
}

# The key in a sheet's path: /spreadsheets/d/<key>, /spreadsheets/u/1/d/<key> (signed into
# several accounts), /a/<domain>/spreadsheets/d/<key>, Drive's /file/d/<key>; or in its query
# (?key=, ?id=). A published copy (/d/e/2PACX...) has an id of its own that the API refuses.
_SHEET_PATH = re.compile(r"/d/([A-Za-z0-9_-]{10,})")
_PUBLISHED = re.compile(r"/d/e/")
_SHEET_KEY = re.compile(r"^[A-Za-z0-9_-]{10,}$")


def _http_url(value: str) -> str:
    value = value.strip()
    if not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value.rstrip("/")


def sheet_key(value: str) -> str:
    """The spreadsheet key in ``value``: a key, or any Google URL that names one."""
    value = value.strip()
    if "/" not in value:
        if not _SHEET_KEY.match(value):
            raise ValueError("is neither a spreadsheet key nor a Google Sheets URL")
        return value
    url = urllib.parse.urlsplit(value if "://" in value else f"https://{value}")
    if _PUBLISHED.search(url.path):
        raise ValueError(
            "is a link to the sheet as published to the web (.../d/e/2PACX.../pubhtml), which "
            "cannot be written: use the editor's URL, the address bar's while you edit the "
            "sheet (https://docs.google.com/spreadsheets/d/<key>/edit)"
        )
    path = _SHEET_PATH.search(url.path)
    query = urllib.parse.parse_qs(url.query)
    found = [path.group(1)] if path else []
    found += [key for key in query.get("key", []) + query.get("id", []) if _SHEET_KEY.match(key)]
    if not found:
        raise ValueError(
            "is a URL that names no spreadsheet: use the editor's URL, the address bar's while "
            "you edit the sheet (https://docs.google.com/spreadsheets/d/<key>/edit)"
        )
    return found[0]


class _Account(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    api_key: SecretStr
    base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value)


class OrgapiAccountIn(_Account):
    organization_id: str = Field(min_length=1)


class DialnexaAccountIn(_Account):
    pass


@dataclass(frozen=True, slots=True)
class Account:
    """One configured account of one source, with everything its client needs."""

    source: SourceName
    name: str
    base_url: str
    api_key: SecretStr
    organization_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.source}/{self.name}"

    def placeholder_problem(self) -> str | None:
        """What is wrong when the account's base URL is still ORGAPI_BASE_URL's placeholder,
        which names no real server: its key must never be sent there."""
        if self.source != "orgapi" or self.base_url != ORGAPI_PLACEHOLDER_URL:
            return None
        where = (
            "ORGAPI_BASE_URL"
            if self.name == "default"
            else (f"ORGAPI_BASE_URL (or base_url of account {self.name!r} in ORGAPI_ACCOUNTS)")
        )
        return (
            f"{where} is still the placeholder {ORGAPI_PLACEHOLDER_URL}, and the orgapi key is "
            "not sent there: set it to your orgapi API's base URL (syncbot lists "
            "GET {ORGAPI_BASE_URL}/api/phone-numbers)"
        )


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Every setting of CONTRACT section 4. Build with ``load_settings()``."""

    # An empty variable (a blank line copied from .env.example, an empty Heroku config var)
    # means "not set", so the default applies instead of a validation error.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    orgapi_base_url: str = ORGAPI_PLACEHOLDER_URL
    orgapi_api_key: SecretStr | None = None
    orgapi_organization_id: str | None = None
    orgapi_accounts: list[OrgapiAccountIn] = Field(default_factory=list)
    dialnexa_base_url: str = "https://api.dialnexa.com/v1"
    dialnexa_api_key: SecretStr | None = None
    dialnexa_accounts: list[DialnexaAccountIn] = Field(default_factory=list)

    database_url: SecretStr = SecretStr("sqlite:///syncbot.db")

    google_sheet_id: str | None = None
    google_service_account_json: SecretStr | None = None
    google_sheets_api_url: str = "https://sheets.googleapis.com"

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_allowed_team_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    slack_alert_channel: str | None = None

    # JSON text, checked rule by rule by syncbot.costs so an error names the rule.
    number_costs: str | None = None
    cost_currency: str = "USD"

    sync_interval_seconds: int = Field(default=900, ge=10, le=7 * 24 * 3600)
    # A listing still running after this is stopped and its source failed, so the run lock is
    # released well before the next scheduled sync.
    sync_deadline_seconds: int = Field(default=600, ge=1, le=24 * 3600)
    # A listing that would remove more than this share of a source's stored numbers fails it.
    sync_max_removal_percent: int = Field(default=50, ge=0, le=100)
    port: int = Field(default=3000, ge=1, le=65535)

    @field_validator("orgapi_base_url", "dialnexa_base_url", "google_sheets_api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _http_url(value)

    @field_validator("slack_api_url")
    @classmethod
    def _check_slack_url(cls, value: str) -> str:
        # slack_sdk joins method names onto this base, so it must end with a slash.
        return _http_url(value) + "/"

    @field_validator("slack_admin_user_ids", "slack_allowed_team_ids", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @field_validator(
        "orgapi_organization_id", "google_sheet_id", "slack_alert_channel", mode="before"
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "orgapi_api_key",
        "dialnexa_api_key",
        "google_service_account_json",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("number_costs")
    @classmethod
    def _check_costs(cls, value: str | None) -> str | None:
        parse_rules(value)  # raises ConfigError naming the bad rule
        return value

    @field_validator("cost_currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        return check_currency(value)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr) -> SecretStr:
        scheme = value.get_secret_value().split(":", 1)[0]
        if scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        return value

    @field_validator("google_sheet_id")
    @classmethod
    def _sheet_key(cls, value: str | None) -> str | None:
        return None if value is None else sheet_key(value)

    def accounts(self) -> list[Account]:
        """Every configured account of both sources, single-account variables first."""
        found: list[Account] = []
        has_key, has_org = self.orgapi_api_key is not None, self.orgapi_organization_id is not None
        if has_key != has_org:
            missing = "ORGAPI_ORGANIZATION_ID" if has_key else "ORGAPI_API_KEY"
            raise ConfigError(
                f"{missing} is not set: the orgapi source needs both ORGAPI_API_KEY and "
                "ORGAPI_ORGANIZATION_ID (or leave both unset to turn orgapi off)"
            )
        if self.orgapi_api_key is not None and self.orgapi_organization_id is not None:
            found.append(
                Account(
                    "orgapi",
                    "default",
                    self.orgapi_base_url,
                    self.orgapi_api_key,
                    self.orgapi_organization_id,
                )
            )
        found += [
            Account(
                "orgapi",
                a.name,
                a.base_url or self.orgapi_base_url,
                a.api_key,
                a.organization_id,
            )
            for a in self.orgapi_accounts
        ]
        if self.dialnexa_api_key is not None:
            found.append(
                Account("dialnexa", "default", self.dialnexa_base_url, self.dialnexa_api_key)
            )
        found += [
            Account("dialnexa", a.name, a.base_url or self.dialnexa_base_url, a.api_key)
            for a in self.dialnexa_accounts
        ]
        seen: set[str] = set()
        for account in found:
            if account.key in seen:
                variable = f"{account.source.upper()}_ACCOUNTS"
                raise ConfigError(
                    f"{variable}: the account name {account.name!r} is used twice for "
                    f"{account.source} (the single-account variables are named 'default'); "
                    "give each account its own name"
                )
            seen.add(account.key)
        return found

    def costs(self) -> CostRules:
        """``NUMBER_COSTS`` and ``COST_CURRENCY`` as rules to price numbers with."""
        return CostRules(parse_rules(self.number_costs), self.cost_currency)

    @property
    def database_scheme(self) -> str:
        return self.database_url.get_secret_value().split(":", 1)[0]

    @property
    def sheet_configured(self) -> bool:
        return self.google_sheet_id is not None

    def service_account_info(self) -> dict[str, Any]:
        """The service-account key as a dict, from JSON text or from the file it names."""
        if self.google_service_account_json is None:
            raise ConfigError(
                "GOOGLE_SERVICE_ACCOUNT_JSON is not set: GOOGLE_SHEET_ID is set, so syncbot "
                "needs a service-account key to write the sheet. "
                f"Expected: {_EXAMPLES['GOOGLE_SERVICE_ACCOUNT_JSON']}"
            )
        raw = self.google_service_account_json.get_secret_value().strip()
        if not raw.startswith("{"):
            path = Path(raw).expanduser()
            try:
                raw = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"GOOGLE_SERVICE_ACCOUNT_JSON names the file {str(path)!r}, which cannot "
                    f"be read ({exc.strerror}). Give the key's JSON text or a readable path."
                ) from None
        try:
            info = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"GOOGLE_SERVICE_ACCOUNT_JSON is not valid JSON (line {exc.lineno}, column "
                f"{exc.colno}). Download the key again from Google Cloud IAM > Service accounts "
                "> Keys, and give its JSON text or its path."
            ) from None
        required = ("type", "client_email", "private_key", "token_uri")
        missing = [name for name in required if not isinstance(info, dict) or name not in info]
        if missing or info.get("type") != "service_account":
            raise ConfigError(
                "GOOGLE_SERVICE_ACCOUNT_JSON is not a service-account key (missing "
                f"{', '.join(missing) or 'type=service_account'}). Create a key for a service "
                "account in Google Cloud IAM and give its JSON."
            )
        return dict(info)


def _variable(loc: tuple[int | str, ...]) -> str:
    head, *rest = loc
    name = str(head).upper()
    for part in rest:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name


def _explain(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        variable = _variable(error["loc"])
        hint = _EXAMPLES.get(variable.split("[", 1)[0].split(".", 1)[0])
        line = f"{variable}: {error['msg']}"
        lines.append(f"{line} (expected e.g. {hint})" if hint else line)
    return "invalid settings:\n  " + "\n  ".join(lines)


@dataclass(frozen=True, slots=True)
class UnknownSetting:
    """A variable named like a setting that is none, with the setting it most resembles."""

    name: str
    where: str
    closest: str | None

    def describe(self) -> str:
        hint = f"did you mean {self.closest}?" if self.closest else "no setting is named like it"
        return f"{self.name} (in {self.where}) is not a syncbot setting, so it is ignored: {hint}"


@dataclass(frozen=True, slots=True)
class SettingSources:
    """Where the settings came from: the .env file looked for, whether it was there, and the
    variables in either place that look meant for syncbot but name no setting."""

    env_file: Path
    env_file_found: bool
    unknown: tuple[UnknownSetting, ...]

    def describe(self) -> str:
        if self.env_file_found:
            return f"from the environment and {self.env_file}"
        return f"from the environment (no .env file at {self.env_file})"


def setting_names() -> tuple[str, ...]:
    """Every setting's variable name."""
    return tuple(name.upper() for name in Settings.model_fields)


def _unknown(names: list[str], where: str) -> list[UnknownSetting]:
    known = setting_names()
    found = []
    for name in names:
        upper = name.upper()
        if upper.startswith(SETTING_PREFIXES) and upper not in known:
            closest = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
            found.append(UnknownSetting(name, where, closest[0] if closest else None))
    return found


def setting_sources(*, env_file: str | Path | None = ".env") -> SettingSources:
    """The .env file that settings are read from (relative to the working directory) and the
    variables of the environment and of that file that name no setting."""
    path = Path(env_file or ".env").absolute()
    found = env_file is not None and path.is_file()
    unknown = _unknown(sorted(os.environ), "the environment")
    if found:
        unknown += _unknown(list(dotenv_values(path)), str(path))
    return SettingSources(path, found, tuple(unknown))


def load_settings(*, env_file: str | Path | None = ".env", warn: bool = True) -> Settings:
    """Read the environment (and ``env_file`` when it exists) into validated settings; with
    ``warn``, each variable that looks meant for syncbot but names no setting is logged."""
    for unknown in setting_sources(env_file=env_file).unknown if warn else ():
        event(log, logging.WARNING, unknown.describe())
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
    except SettingsError as exc:
        # Raised for JSON that does not parse, before field validation; the message names the
        # field in lower case but never echoes the value.
        match = re.search(r'field "([a-z_]+)"', str(exc))
        variable = match.group(1).upper() if match else "a setting"
        hint = _EXAMPLES.get(variable)
        raise ConfigError(
            f"{variable}: is not valid JSON" + (f" (expected e.g. {hint})" if hint else "")
        ) from None


class _ExplicitSettings(Settings):
    """Settings that ignore the environment and ``.env``."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_from(values: Mapping[str, object]) -> Settings:
    """Settings from these values alone (names as in the environment), for the demo and tests."""
    try:
        return _ExplicitSettings.model_validate(
            {name.lower(): value for name, value in values.items()}
        )
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from None
