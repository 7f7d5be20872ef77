"""The baseline: how most scripts list numbers. One page after another with ``requests``,
libphonenumber on every number, one INSERT per row. Run as a child process by the benchmark."""

from __future__ import annotations

import os
import sqlite3
import sys

import phonenumbers
import requests


def _e164(text: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return text
    phonenumbers.is_valid_number(number)
    phonenumbers.number_type(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def main() -> int:
    env = os.environ
    db = sqlite3.connect(sys.argv[1])
    db.execute("CREATE TABLE IF NOT EXISTS numbers (source TEXT, id TEXT, e164 TEXT, agent TEXT)")
    session = requests.Session()
    headers = {
        "X-API-Key": env["ORGAPI_API_KEY"],
        "X-Organization-Id": env["ORGAPI_ORGANIZATION_ID"],
    }
    params: dict[str, str] = {"page_size": "100"}
    while True:
        body = session.get(
            f"{env['ORGAPI_BASE_URL']}/api/phone-numbers",
            params=params,
            headers=headers,
            timeout=30,
        ).json()
        for r in body["data"]:
            db.execute(
                "INSERT INTO numbers VALUES (?, ?, ?, ?)",
                (
                    "orgapi",
                    r["phone_number_id"],
                    _e164(r["phone_number"], None),
                    r.get("assigned_agent_id"),
                ),
            )
        page = body["pagination"]
        if not page.get("has_more") or not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    headers = {"Authorization": f"Bearer {env['DIALNEXA_API_KEY']}"}
    number = 1
    while True:
        body = session.get(
            f"{env['DIALNEXA_BASE_URL']}/organization-phone-numbers",
            params={"page": str(number), "limit": "100"},
            headers=headers,
            timeout=30,
        ).json()
        if not body["data"]:
            break
        for r in body["data"]:
            db.execute(
                "INSERT INTO numbers VALUES (?, ?, ?, ?)",
                (
                    "dialnexa",
                    str(r["id"]),
                    _e164(r["phone_number"], r.get("country_code")),
                    r.get("inbound_agent_id") or r.get("agent_id"),
                ),
            )
        db.commit()
        number += 1
    db.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
