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
from syncbot.settings import Account, Settings, SettingSources, load_settings, setting_sources
from syncbot.slack import check_slack
from syncbot.store import open_store
from syncbot.store.schema import MIGRATIONS
from syncbot.store.sqlite import OLDEST, library_problem
from syncbot.sync import check_run_settings


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    name: str
    detail: str


async def _probe(account: Account) -> Check:
    if (problem := account.placeholder_problem()) is not None:
        return Check(False, account.key, problem)
    provider = provider_for(account)
    policy = RetryPolicy(attempts=2, wait_initial=0.2, wait_max=1.0, request_timeout=10.0)
    async with aiohttp.ClientSession() as session:
        http = HttpClient(session, policy=policy)
        try:
            page = await provider.get_page(http, provider.probe(), RequestStats())
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
        email = str(settings.service_account_info()["client_email"])
    except SyncbotError as exc:
        return [Check(False, "sheet", exc.message)]
    try:
        from syncbot.sheets import SheetWriter  # noqa: PLC0415 - gspread only when configured

        # A check answers in seconds: one more try, not a sync's whole retry policy.
        writer = SheetWriter(settings, retry_attempts=2)
        title = writer.check_access()
        cells, warning = writer.cell_usage()
    except SyncbotError as exc:
        # Whatever failed, the sheet is shared with this address in the end.
        share = "" if email in exc.message else f" (share the sheet with {email} as an Editor)"
        return [Check(False, "sheet", exc.message + share)]
    size = f"warning: {warning}" if warning else f"{cells:,} of Google's 10,000,000 cells"
    return [
        Check(True, "sheet", f"can write {title!r} as {email}"),
        Check(True, "sheet size", size),
    ]


_NEEDS = {
    "orgapi": "ORGAPI_API_KEY and ORGAPI_ORGANIZATION_ID (or ORGAPI_ACCOUNTS) are not set",
    "dialnexa": "DIALNEXA_API_KEY (or DIALNEXA_ACCOUNTS) is not set",
}


def _source_checks(accounts: list[Account], sources: SettingSources) -> list[Check]:
    """Which sources are on, and why each other one is off (a typo of its settings, named)."""
    off = []
    for source, needs in _NEEDS.items():
        if any(a.source == source for a in accounts):
            continue
        typos = [
            f"{u.name} in {u.where} looks like a typo of {u.closest}"
            for u in sources.unknown
            if u.closest and u.closest.startswith(f"{source.upper()}_")
        ]
        off.append(f"{source} off: {needs}" + (f" ({'; '.join(typos)})" if typos else ""))
    if not accounts:
        detail = "no source configured: " + "; ".join(off)
        return [Check(False, "sources", f"{detail}. Set them in the environment or .env")]
    on = ", ".join(a.key for a in accounts) + " on"
    return [Check(True, "sources", "; ".join([on, *off]))]


def run_checks(
    settings: Settings, *, store_label: str, sources: SettingSources | None = None
) -> list[Check]:
    sources = sources or setting_sources()
    checks = [Check(True, "settings", sources.describe())]
    checks += [Check(False, "setting names", unknown.describe()) for unknown in sources.unknown]
    try:
        accounts = settings.accounts()
    except ConfigError as exc:
        return [*checks, Check(False, "sources", exc.message)]
    checks += _source_checks(accounts, sources)
    deadline, interval = settings.sync_deadline_seconds, settings.sync_interval_seconds
    if deadline >= interval:
        detail = (
            f"SYNC_DEADLINE_SECONDS ({deadline}) is not shorter than SYNC_INTERVAL_SECONDS "
            f"({interval}): a slow run could still hold the lock when the next one is due, "
            "which would then be skipped. Make the deadline shorter than the interval"
        )
        checks.append(Check(False, "sync timing", detail))
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
        settings = load_settings(warn=False)
    except ConfigError as exc:
        print(terminal(f"✗ settings: {exc.message}"))
        return exc.exit_code
    checks = run_checks(settings, store_label=store_label(settings))
    for check in checks:
        print(terminal(f"{'✓' if check.ok else '✗'} {check.name}: {check.detail}"))
    failed = sum(not c.ok for c in checks)
    print(f"\n{failed} problem(s) found." if failed else "\nAll checks passed.")
    if not failed:
        return 0
    # The same verdict as `sync` on these settings: 2 where it would refuse to start.
    try:
        check_run_settings(settings)
    except ConfigError as exc:
        return exc.exit_code
    return 1
