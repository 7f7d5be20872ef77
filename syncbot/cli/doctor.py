"""``syncbot doctor``: every setting and connection, with what to do about each problem."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
from dataclasses import dataclass

import aiohttp

from syncbot.cli.commands import store_label
from syncbot.errors import ConfigError, NoStoreError, SyncbotError
from syncbot.http import HttpClient, RequestStats, RetryPolicy
from syncbot.logs import terminal
from syncbot.models import SheetState, ago, iso, utc_now
from syncbot.providers import provider_for
from syncbot.runlock import held_lock
from syncbot.settings import ORGAPI_PLACEHOLDER_URL, Account, Settings, load_settings
from syncbot.slack import check_slack
from syncbot.store import open_store
from syncbot.store.schema import MIGRATIONS
from syncbot.store.sqlite import OLDEST, library_problem


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    name: str
    detail: str


async def _probe(account: Account) -> Check:
    if account.source == "orgapi" and account.base_url == ORGAPI_PLACEHOLDER_URL:
        # Probing it would only end in a DNS error that names no setting.
        return Check(
            False,
            account.key,
            f"ORGAPI_BASE_URL is still the placeholder {ORGAPI_PLACEHOLDER_URL}: set it to your "
            "orgapi API's base URL (syncbot lists GET {ORGAPI_BASE_URL}/api/phone-numbers)",
        )
    provider = provider_for(account)
    policy = RetryPolicy(attempts=2, wait_initial=0.2, wait_max=1.0, request_timeout=10.0)
    async with aiohttp.ClientSession() as session:
        http = HttpClient(session, policy=policy)
        try:
            body = await http.get_json(
                provider.url,
                params=provider.probe(),
                headers=provider.headers(),
                what=provider.key,
                auth_hint=provider.auth_hint(),
                stats=RequestStats(),
            )
            page = provider.read_page(body)
        except SyncbotError as exc:
            return Check(False, account.key, exc.message)
    total = f"{page.total:,} numbers" if page.total is not None else "reachable"
    return Check(True, account.key, f"{total} at {account.base_url}; key accepted")


def _sqlite_check(url: str) -> Check | None:
    """The SQLite library's version, when the store is SQLite: older ones lack syntax it uses."""
    if url.split(":", 1)[0] != "sqlite":
        return None
    problem = library_problem()
    oldest = ".".join(map(str, OLDEST))
    detail = problem or f"library version {sqlite3.sqlite_version} ({oldest} or later needed)"
    return Check(problem is None, "SQLite", detail)


def _store_checks(settings: Settings, label: str) -> list[Check]:
    url = settings.database_url.get_secret_value()
    library = _sqlite_check(url)
    if library is not None and not library.ok:
        return [library]
    checks = [] if library is None else [library]
    return checks + _store_state(url, label, settings)


def _store_state(url: str, label: str, settings: Settings) -> list[Check]:
    try:
        store = open_store(url, create=False)
    except NoStoreError:
        return [Check(True, "store", f"{label}: no store yet; the first `syncbot sync` creates it")]
    except SyncbotError as exc:
        return [Check(False, "store", exc.message)]
    try:
        version = store.schema_version()
        latest = store.latest_run() if version else None
        held = held_lock(store.run_lock_since(), deadline_seconds=settings.sync_deadline_seconds)
        sheet = store.sheet_state() if version == len(MIGRATIONS) else None
    except SyncbotError as exc:
        return [Check(False, "store", exc.message)]
    finally:
        store.close()
    if version == 0:
        return [
            Check(
                True,
                "store",
                f"{label}: no schema yet; `syncbot migrate` or a first sync creates it",
            )
        ]
    last = f"latest run {latest.run_id} ({latest.status})" if latest else "no sync yet"
    checks = [Check(True, "store", f"{label}: schema version {version}, {last}")]
    now = utc_now()
    if held is not None:
        checks.append(Check(not held.stuck(now), "run lock", held.describe(now)))
    if sheet is not None and settings.sheet_configured:
        checks.append(_sheet_health(sheet, now))
    return checks


def _sheet_health(state: SheetState, now: dt.datetime) -> Check:
    """How the latest syncs' sheet writes went, as the store recorded them."""
    if state.status == "ok":
        return Check(True, "sheet health", f"written by the latest sync ({iso(state.last_ok_at)})")
    since = f"last written {iso(state.last_ok_at)}" if state.last_ok_at else "never written"
    return Check(
        False,
        "sheet health",
        f"the sync {ago(now - state.last_attempt_at)} ago could not write the sheet: "
        f"{state.error}; it is {since}",
    )


def _sheet_checks(settings: Settings) -> list[Check]:
    if not settings.sheet_configured:
        return [Check(True, "sheet", "GOOGLE_SHEET_ID not set: the inventory stays in the store")]
    try:
        from syncbot.sheets import SheetWriter  # noqa: PLC0415 - gspread only when configured

        writer = SheetWriter(settings)
        email = writer.service_account_email
        title = writer.check_access()
        cells, warning = writer.cell_usage()
    except SyncbotError as exc:
        return [Check(False, "sheet", exc.message)]
    size = f"warning: {warning}" if warning else f"{cells:,} of Google's 10,000,000 cells"
    return [
        Check(True, "sheet", f"can write {title!r} as {email}"),
        Check(True, "sheet size", size),
    ]


def run_checks(settings: Settings, *, store_label: str) -> list[Check]:
    checks: list[Check] = []
    try:
        accounts = settings.accounts()
    except ConfigError as exc:
        return [Check(False, "settings", exc.message)]
    if not accounts:
        checks.append(
            Check(
                False,
                "sources",
                "no source configured: set ORGAPI_API_KEY + ORGAPI_ORGANIZATION_ID and/or "
                "DIALNEXA_API_KEY in the environment or .env (see .env.example)",
            )
        )
    checks += _store_checks(settings, store_label)

    async def probe_all() -> list[Check]:
        return list(await asyncio.gather(*(_probe(a) for a in accounts)))

    checks += asyncio.run(probe_all())
    checks += _sheet_checks(settings)
    checks += [Check(c.ok, c.name, c.detail) for c in asyncio.run(check_slack(settings))]
    return checks


def cmd_doctor(args: argparse.Namespace) -> int:
    del args
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(terminal(f"✗ settings: {exc.message}"))
        return exc.exit_code
    print("✓ settings: loaded")
    checks = run_checks(settings, store_label=store_label(settings))
    for check in checks:
        print(terminal(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}"))
    failed = sum(not c.ok for c in checks)
    print(f"\n{failed} problem(s) found." if failed else "\nAll checks passed.")
    return 1 if failed else 0
