"""``syncbot demo`` and ``syncbot sandbox``: the product without credentials."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from syncbot.cli.blockkit import builder_link, message_text
from syncbot.cli.commands import print_json
from syncbot.cli.progress import Progress
from syncbot.cli.render import numbers_table, sync_summary, table
from syncbot.errors import SyncbotError
from syncbot.models import RunResult
from syncbot.query import Snapshot, load_snapshot
from syncbot.sandbox._server import serve
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox, serve_forever
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.sheets.charts import on_sheet
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.settings import Settings, settings_from
from syncbot.sheets.layout import SUMMARY
from syncbot.slack import alert_hook
from syncbot.slack.app import create_web_app
from syncbot.store import Store, open_store
from syncbot.sync import run_sync

# Small pages, so that even the demo's few numbers take several requests of each API.
DEMO_PAGE_SIZE = 25
SANDBOX_DATABASE_URL = "sqlite:///syncbot-sandbox.db"
# What the demo's numbers cost a month, as a team would set NUMBER_COSTS.
DEMO_COSTS = (
    '[{"type": "toll_free", "monthly": 2.0}, {"country": "GB", "monthly": 1.5}, {"monthly": 1.15}]'
)
DEMO_CHANNEL = "C0NUMBERS"
DEMO_QUESTION = "unassigned"


def _fresh(path: Path) -> None:
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", ".lock"))):
        leftover.unlink(missing_ok=True)


@dataclass(slots=True)
class _Seen:
    """What the demo shows: the run, the store, the sheet, and the Slack app's messages."""

    result: RunResult
    snapshot: Snapshot
    tabs: dict[str, list[list[str]]]
    # Each chart's title and the tab it floats over.
    charts: list[tuple[str, str]]
    sheet_where: str
    alert: dict[str, Any] | None
    answer: dict[str, Any]


async def _ask_slack(settings: Settings, store: Store, slack: FakeSlack, text: str) -> Any:
    """``/numbers text`` as Slack sends it (signed), answered by the real Slack app."""
    web_app = create_web_app(settings, store)
    body = slack.command_body(text)
    async with (
        serve(web_app) as running,
        aiohttp.ClientSession() as http,
        http.post(
            f"{running.url}/slack/events", data=body, headers=slack.signed_headers(body)
        ) as response,
    ):
        response.raise_for_status()
        return await response.json()


async def _whole_loop(
    numbers: int, database: Path, *, progress: Progress, say: Callable[[str], None]
) -> _Seen:
    sheets = FakeSheets(record_snapshots=False)
    options = ProviderOptions(max_page_size=DEMO_PAGE_SIZE)
    with sheets.running():
        sheet = SheetsSandbox.create(sheets)
        async with (
            Sandbox(
                numbers=numbers,
                orgapi=options,
                dialnexa=ProviderOptions(max_page_size=DEMO_PAGE_SIZE),
            ) as sandbox,
            FakeSlack() as slack,
        ):
            settings = settings_from(
                {
                    **sandbox.env(),
                    **sheet.env(),
                    **slack.env(),
                    "SLACK_ALERT_CHANNEL": DEMO_CHANNEL,
                    "NUMBER_COSTS": DEMO_COSTS,
                    "DATABASE_URL": f"sqlite:///{database}",
                }
            )
            say(
                f"Sandbox orgapi at {sandbox.orgapi.url} and DialNexa at {sandbox.dialnexa.url}: "
                f"{numbers} numbers, pages of {DEMO_PAGE_SIZE}. Sandbox Google Sheets API at "
                f"{sheets.url}, sandbox Slack API at {slack.api_url}.\n"
            )
            store = open_store(settings.database_url.get_secret_value())
            try:
                store.migrate()
                try:
                    result = await run_sync(
                        settings, store, progress=progress.update, after_run=alert_hook(settings)
                    )
                finally:
                    progress.done()
                snapshot = load_snapshot(store)
                answer = await _ask_slack(settings, store, slack, DEMO_QUESTION)
            finally:
                store.close()
            posted = slack.calls_to("chat.postMessage")
        workbook = sheets.workbook(sheet.spreadsheet_id)
        tabs = {tab.title: tab.values() for tab in workbook.tabs()}
        titles = {tab.sheet_id: tab.title for tab in workbook.tabs()}
        charts = [
            (chart["spec"]["title"], titles[on])
            for on in titles
            for chart in on_sheet(workbook, on)
        ]
        where = f"{sheets.url}/v4/spreadsheets/{sheet.spreadsheet_id}"
    # The writer names the sheet by its Google address; this one lives in the sandbox.
    result.sheet.url = where
    alert = posted[0].args if posted else None
    return _Seen(result, snapshot, tabs, charts, where, alert, answer)


def _sheet_text(seen: _Seen) -> str:
    rows = [
        (title, f"{max(0, len(values) - 1):,}", f"{seen.sheet_where}/values/{quote(title)}")
        for title, values in seen.tabs.items()
    ]
    summary = seen.tabs.get(SUMMARY, [])
    width = max((len(row) for row in summary), default=1)
    padded = [[*row, *[""] * (width - len(row))] for row in summary] or [[""]]
    return "\n".join(
        [
            "The Google Sheet (sandbox Google Sheets API; the same requests Google gets):",
            "",
            table(("TAB", "ROWS", "WHERE (Sheets API v4 values)"), rows),
            "",
            f"{SUMMARY} tab:",
            "",
            table(padded[0], padded[1:]),
            "",
            *(f"Chart on the {tab} tab: {title}" for title, tab in seen.charts),
        ]
    )


def _slack_text(seen: _Seen) -> str:
    lines = []
    if seen.alert is not None:
        lines += [
            f"Slack: syncbot posted to the alert channel ({DEMO_CHANNEL}):",
            "",
            message_text(seen.alert),
            "",
        ]
    lines += [
        f"Slack: /numbers {DEMO_QUESTION} (a signed request to the real Slack app; only the "
        "asker sees the answer until they press Share in channel):",
        "",
        message_text(seen.answer),
        "",
        "See exactly how Slack shows it, in Slack's Block Kit Builder:",
        builder_link(seen.answer),
    ]
    return "\n".join(lines)


async def _demo(numbers: int, database: Path, *, as_json: bool) -> int:
    progress = Progress(sys.stderr, enabled=sys.stderr.isatty() and not as_json)
    seen = await _whole_loop(
        numbers, database, progress=progress, say=(lambda _: None) if as_json else print
    )
    if as_json:
        print_json(
            {
                "sync": seen.result.to_dict(),
                "sheet": {"tabs": seen.tabs},
                "slack": {
                    "alert": seen.alert,
                    "answer": seen.answer,
                    "block_kit_builder": builder_link(seen.answer),
                },
            }
        )
        return seen.result.exit_code
    print(sync_summary(seen.result, store_label=f"sqlite:///{database}"))
    print(f"\nInventory ({len(seen.snapshot.numbers)} numbers):\n")
    print(numbers_table(seen.snapshot.numbers))
    print("\n" + _sheet_text(seen))
    print("\n" + _slack_text(seen))
    print(
        f"\nThe demo store is {database}; try `DATABASE_URL=sqlite:///{database} "
        "syncbot query stats`. Next: put your own keys in .env (see .env.example) and run "
        "`syncbot doctor`, then `syncbot sync`."
    )
    return seen.result.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    database = Path(args.database)
    _fresh(database)
    return asyncio.run(_demo(args.numbers, database, as_json=args.json))


def cmd_sandbox(args: argparse.Namespace) -> int:
    def ready(sandbox: Sandbox) -> None:
        print("# Sandbox provider APIs are up. Point syncbot at them with:")
        for name, value in sandbox.env().items():
            print(f"export {name}={value}")
        # A store of its own: the sandbox's numbers would otherwise stay in your real store,
        # stale, once you switch to real credentials.
        print(f"export DATABASE_URL={SANDBOX_DATABASE_URL}")
        print("# then run `syncbot sync` in another terminal. Ctrl-C stops the sandbox.")
        sys.stdout.flush()

    # A shell starting it in the background (`syncbot sandbox &` in a script) makes it ignore
    # SIGINT, and Python then raises no KeyboardInterrupt: Ctrl-C and `kill -INT` stop it anyway.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(
                serve_forever(
                    numbers=args.numbers,
                    latency_ms=args.latency_ms,
                    orgapi_port=args.orgapi_port,
                    dialnexa_port=args.dialnexa_port,
                    on_ready=ready,
                )
            )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise SyncbotError(
            f"port {args.orgapi_port} or {args.dialnexa_port} is already in use (is another "
            "`syncbot sandbox` running?): stop it, or pick free ports with --orgapi-port and "
            "--dialnexa-port"
        ) from None
    return 0
