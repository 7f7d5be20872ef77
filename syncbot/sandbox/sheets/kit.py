"""Ready-made pieces for tests and benches: a number factory and a shared spreadsheet setup."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import gspread

from syncbot.models import Change, ChangeKind, PhoneNumber, RunResult, SourceResult
from syncbot.sandbox.sheets.app import FakeSheets
from syncbot.settings import Settings, settings_from
from syncbot.sheets.client import RetryPolicy, SheetsHTTPClient, credentials

_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def phone_number(i: int, **changes: Any) -> PhoneNumber:
    """A plausible orgapi number, distinct for each ``i``; every third one is unassigned."""
    assigned = i % 3 != 0
    fields: dict[str, Any] = {
        "source": "orgapi",
        "account": "default",
        "number_id": f"pn_{i:07d}",
        "phone_number": f"+1415{i:07d}",
        "valid": True,
        "country_code": "US",
        "number_type": "local",
        "carrier": "twilio",
        "status": "assigned" if assigned else "unassigned",
        "provider_status": "assigned" if assigned else "free",
        "agent_id": f"agent_{i % 97:03d}" if assigned else None,
        "label": f"Support line {i}",
        "inbound": True,
        "outbound": i % 2 == 0,
        "created_at": _EPOCH + dt.timedelta(minutes=i),
        "first_seen_at": _EPOCH + dt.timedelta(days=1),
        "last_seen_at": _EPOCH + dt.timedelta(days=2),
        "unassigned_since": None if assigned else _EPOCH + dt.timedelta(days=1),
    }
    fields.update(changes)
    return PhoneNumber(**fields)


def change(kind: ChangeKind, number: PhoneNumber, *, run_id: int | None = None) -> Change:
    """A change of ``number`` as a sync records it; without ``run_id``, as built before its run
    had an id."""
    return Change(
        kind=kind,
        source=number.source,
        account=number.account,
        number_id=number.number_id,
        phone_number=number.phone_number,
        agent_before=None,
        agent_after=number.agent_id,
        label=number.label,
        at=_EPOCH + dt.timedelta(days=4),
        run_id=run_id,
    )


def run_result(run_id: int = 1, *, count: int = 0) -> RunResult:
    at = _EPOCH + dt.timedelta(days=2, minutes=run_id)
    source = SourceResult("orgapi", "default", count=count, pages=max(1, count // 100))
    return RunResult(
        started_at=at, finished_at=at, run_id=run_id, sources={source.key: source}, total=count
    )


@dataclass(frozen=True, slots=True)
class SheetsSandbox:
    """One spreadsheet on a running fake, shared with a fresh service account."""

    fake: FakeSheets
    url: str
    key: dict[str, str]
    spreadsheet_id: str

    @classmethod
    def create(cls, fake: FakeSheets, *, key: dict[str, str] | None = None) -> SheetsSandbox:
        if fake.url is None:
            raise RuntimeError("start the fake (FakeSheets.running) first")
        key = key or fake.service_account()
        spreadsheet_id = fake.create_spreadsheet(writers=[key["client_email"]])
        return cls(fake, fake.url, key, spreadsheet_id)

    @property
    def email(self) -> str:
        return self.key["client_email"]

    def env(self) -> dict[str, str]:
        """The settings that point syncbot's sheet writer at this spreadsheet."""
        return {
            "GOOGLE_SHEET_ID": self.spreadsheet_id,
            "GOOGLE_SERVICE_ACCOUNT_JSON": json.dumps(self.key),
            "GOOGLE_SHEETS_API_URL": self.url,
        }

    def settings(self, **extra: str) -> Settings:
        return settings_from({**self.env(), **extra})

    def spreadsheet(self, key: dict[str, str] | None = None) -> gspread.Spreadsheet:
        """The spreadsheet through plain gspread, as a person's script would open it."""
        creds = credentials(key or self.key, api_url=self.url)
        client = gspread.Client(creds)
        client.http_client = SheetsHTTPClient(creds, api_url=self.url, policy=RetryPolicy(1))
        return client.open_by_key(self.spreadsheet_id)
