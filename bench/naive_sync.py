"""The naive baseline, the way most scripts do it: ``requests``, one page after another,
libphonenumber on every number, and gspread ``append_rows`` of each page as it arrives.

Run as a child process by the benchmark, with the same settings as ``syncbot sync`` (only the
configured sources are listed). syncbot's gspread HTTP client is used only to reach the
Sheets API under test instead of Google's, with retries off.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import gspread
import phonenumbers
import requests
from gspread.utils import ValueInputOption

from syncbot.sheets.client import RetryPolicy, SheetsHTTPClient, credentials

PAGE_SIZE = 100
TIMEOUT = 30
HEADER = ["Phone number", "Agent", "Source", "Number ID", "Country", "Type", "Carrier", "Created"]
Record = dict[str, Any]


def _open_worksheet(env: Mapping[str, str]) -> gspread.Worksheet:
    api_url = env["GOOGLE_SHEETS_API_URL"]
    creds = credentials(json.loads(env["GOOGLE_SERVICE_ACCOUNT_JSON"]), api_url=api_url)
    client = gspread.Client(creds)
    client.http_client = SheetsHTTPClient(creds, api_url=api_url, policy=RetryPolicy(1))
    return client.open_by_key(env["GOOGLE_SHEET_ID"]).sheet1


def _row(
    source: str,
    record_id: object,
    text: str,
    region: str | None,
    *,
    agent: str | None,
    carrier: str | None,
    created: str | None,
) -> list[Any]:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        e164, country, kind = text, region, None
    else:
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        country = phonenumbers.region_code_for_number(number)
        kind = phonenumbers.number_type(number)
    values = [e164, agent, source, record_id, country, kind, carrier, created]
    return ["" if v is None else v for v in values]


def _orgapi_pages(session: requests.Session, env: Mapping[str, str]) -> Iterator[list[Record]]:
    headers = {
        "X-API-Key": env["ORGAPI_API_KEY"],
        "X-Organization-Id": env["ORGAPI_ORGANIZATION_ID"],
    }
    params = {"page_size": str(PAGE_SIZE)}
    url = f"{env['ORGAPI_BASE_URL']}/api/phone-numbers"
    while True:
        response = session.get(url, params=params, headers=headers, timeout=TIMEOUT)
        response.raise_for_status()
        body = response.json()
        yield body["data"]
        page = body["pagination"]
        if not page.get("has_more") or not page.get("next_cursor"):
            return
        params["cursor"] = page["next_cursor"]


def _dialnexa_pages(session: requests.Session, env: Mapping[str, str]) -> Iterator[list[Record]]:
    headers = {"Authorization": f"Bearer {env['DIALNEXA_API_KEY']}"}
    url = f"{env['DIALNEXA_BASE_URL']}/organization-phone-numbers"
    number = 1
    while True:
        params = {"page": str(number), "limit": str(PAGE_SIZE)}
        response = session.get(url, params=params, headers=headers, timeout=TIMEOUT)
        response.raise_for_status()
        data = response.json()["data"]
        if not data:
            return
        yield data
        number += 1


def main() -> int:
    env = os.environ
    worksheet = _open_worksheet(env)
    worksheet.clear()
    worksheet.append_rows([HEADER], value_input_option=ValueInputOption.raw)
    session = requests.Session()
    if "ORGAPI_API_KEY" in env:
        for page in _orgapi_pages(session, env):
            rows = [
                _row(
                    "orgapi",
                    r["phone_number_id"],
                    r["phone_number"],
                    None,
                    agent=r.get("assigned_agent_id"),
                    carrier=r.get("provider"),
                    created=r.get("created_at"),
                )
                for r in page
            ]
            worksheet.append_rows(rows, value_input_option=ValueInputOption.raw)
    if "DIALNEXA_API_KEY" in env:
        for page in _dialnexa_pages(session, env):
            rows = [
                _row(
                    "dialnexa",
                    r["id"],
                    r["phone_number"],
                    r.get("country_code"),
                    agent=r.get("inbound_agent_id") or r.get("agent_id"),
                    carrier=r.get("provider"),
                    created=r.get("created_at"),
                )
                for r in page
            ]
            worksheet.append_rows(rows, value_input_option=ValueInputOption.raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
