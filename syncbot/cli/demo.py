"""``syncbot demo``: the product without credentials (`syncbot sandbox` keeps its APIs up)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
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
from syncbot.models import RunResult
from syncbot.query import Snapshot, load_snapshot
from syncbot.sandbox._server import serve
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.sheets.charts import on_sheet
from syncbot.sandbox.sheets.kit import SheetsSandbox
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import USER_ID
from syncbot.settings import Settings, settings_from
from syncbot.sheets.layout import INVENTORY, SUMMARY
from syncbot.slack import alert_hook
from syncbot.slack.app import create_web_app
from syncbot.slack.followup_views import read_row
from syncbot.store import Store, open_store
from syncbot.store.sqlite import check_directory
from syncbot.sync import run_sync

# Small pages, so that even the demo's few numbers take several requests of each API.
DEMO_PAGE_SIZE = 25
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
    slack: _InSlack


@dataclass(slots=True)
class _InSlack:
    """A follow-up taken in Slack: the answer redrawn after **I'll take it**, the Home tab,
    and the taken number's row in the sheet after the next sync."""

    taken: dict[str, Any]
    home: dict[str, Any]
    phone: str
    sheet_row: dict[str, str]


async def _in_slack(
    settings: Settings, store: Store, slack: FakeSlack, text: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], str]:
    """As Slack sends them (signed), to the real Slack app: ``/numbers text``, a click on the
    first **I'll take it** of its answer, and the opening of the Home tab. Returns the answer,
    the answer redrawn after the click, the Home view, and the phone number taken."""
    web_app = create_web_app(settings, store)
    async with serve(web_app) as running, aiohttp.ClientSession() as http:

        async def post(body: str, *, event: bool = False) -> Any:
            headers = slack.signed_headers(body, json=event)
            async with http.post(f"{running.url}/slack/events", data=body, headers=headers) as r:
                r.raise_for_status()
                return await r.json() if r.content_length else None

        answer = await post(slack.command_body(text))
        row = next(
            b for b in answer["blocks"] if b["type"] == "actions" and b["block_id"] != "pager"
        )
        take = row["elements"][0]
        await post(
            slack.action_body(
                take["action_id"],
                take["value"],
                block_id=row["block_id"],
                response_url=slack.response_url("take"),
            )
        )
        (taken,) = await slack.wait_for_replies(1)
        await post(slack.event_body(slack.home_opened()), event=True)
        await slack.wait_for(lambda: USER_ID in slack.home)
    phone = read_row(row["block_id"]).phone
    assert phone is not None
    return answer, taken.body, slack.home[USER_ID], phone


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
                answer, taken, home, phone = await _in_slack(settings, store, slack, DEMO_QUESTION)
                # The next sync writes who took it into the sheet's Follow-up column.
                await run_sync(settings, store)
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
    header, *rows = tabs[INVENTORY]
    row = next(r for r in rows if r[0] == phone)
    in_slack = _InSlack(taken, home, phone, dict(zip(header, row, strict=False)))
    return _Seen(result, snapshot, tabs, charts, where, alert, answer, in_slack)


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
        "",
        f"Slack: {USER_ID} pressed I'll take it on {seen.slack.phone} (a signed click to the "
        "real app; the answer is redrawn through its response_url):",
        "",
        *message_text(seen.slack.taken).splitlines()[:4],
        "…",
        "",
        f"Slack: {USER_ID} opened syncbot's Home tab (app_home_opened; published with "
        "views.publish):",
        "",
        message_text(seen.slack.home),
        "",
        "The Home tab in Slack's Block Kit Builder:",
        builder_link(seen.slack.home),
        "",
        f"The sheet after the next sync: {seen.slack.phone}'s row in the {INVENTORY} tab:",
        "",
        table(("COLUMN", "VALUE"), list(seen.slack.sheet_row.items())),
    ]
    return "\n".join(lines)


def _invocation() -> str:
    """How to run syncbot again from here: `syncbot` when that is on PATH, else the path this
    one ran from (`.venv/bin/syncbot` after `make demo`)."""
    ran = Path(sys.argv[0])
    if ran.name == "__main__.py":
        return f"{shlex.quote(os.path.relpath(sys.executable))} -m syncbot"
    found = shutil.which("syncbot")
    if found is not None and Path(found).resolve() == ran.resolve():
        return "syncbot"
    return shlex.quote(os.path.relpath(ran))


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
                    "taken": seen.slack.taken,
                    "home": seen.slack.home,
                    "home_block_kit_builder": builder_link(seen.slack.home),
                },
            }
        )
        return seen.result.exit_code
    print(sync_summary(seen.result, store_label=f"sqlite:///{database}"))
    print(f"\nInventory ({len(seen.snapshot.numbers)} numbers):\n")
    print(numbers_table(seen.snapshot.numbers))
    print("\n" + _sheet_text(seen))
    print("\n" + _slack_text(seen))
    run = _invocation()
    print(
        f"\nThe demo store is {database}; try `DATABASE_URL=sqlite:///{database} "
        f"NUMBER_COSTS='{DEMO_COSTS}' {run} query stats`. Next: `{run} sandbox` runs these "
        f"APIs for you to try `sync`, `serve` and `ask` (see README.md); then put your own keys "
        f"in .env (see .env.example) and run `{run} doctor`, then `{run} sync`."
    )
    return seen.result.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    database = Path(args.database)
    check_directory(str(database), setting="--database")
    _fresh(database)
    return asyncio.run(_demo(args.numbers, database, as_json=args.json))
