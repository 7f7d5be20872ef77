"""``syncbot sandbox``: every API syncbot talks to, on loopback, until Ctrl-C, with the settings
that point syncbot at them: try `sync`, `serve` and `ask` with no credentials at all."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from syncbot.errors import SyncbotError
from syncbot.sandbox.faults import ProviderOptions
from syncbot.sandbox.providers import Sandbox
from syncbot.sandbox.sheets import FakeSheets
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import USER_ID

SANDBOX_DATABASE_URL = "sqlite:///syncbot-sandbox.db"
# Fixed names, so that a .env written once stays right when the sandbox is started again.
SANDBOX_KEY_FILE = "syncbot-sandbox-key.json"
SANDBOX_SHEET_ID = "syncbot_sandbox_sheet"
SANDBOX_SERVICE_ACCOUNT = "syncbot@syncbot-sandbox.iam.gserviceaccount.com"
SANDBOX_CHANNEL = "C0NUMBERS"


def settings_block(settings: Mapping[str, str], *, numbers: int) -> str:
    """What the sandbox prints once everything listens: where each API is, then the settings
    as lines that both a .env file and a shell take."""
    return "\n".join(
        [
            f"# Sandbox APIs on loopback, {numbers:,} numbers, until Ctrl-C:",
            f"#   orgapi        {settings['ORGAPI_BASE_URL']}",
            f"#   DialNexa      {settings['DIALNEXA_BASE_URL']}",
            f"#   Slack         {settings['SLACK_API_URL']} (alerts go to {SANDBOX_CHANNEL})",
            f"#   Google Sheets {settings['GOOGLE_SHEETS_API_URL']} (the key is in "
            f"{SANDBOX_KEY_FILE})",
            "# Save these lines as .env (or paste them into a shell):",
            *(f"export {name}={value}" for name, value in settings.items()),
            "# then, in another terminal: `syncbot sync`, `syncbot serve`, and in a third",
            "# `syncbot ask unassigned` (a /numbers request signed as Slack signs it).",
        ]
    )


async def _serve(args: argparse.Namespace, sheet: Mapping[str, str]) -> NoReturn:
    async with (
        Sandbox(
            numbers=args.numbers,
            orgapi=ProviderOptions(latency_ms=args.latency_ms),
            dialnexa=ProviderOptions(latency_ms=args.latency_ms),
            orgapi_port=args.orgapi_port,
            dialnexa_port=args.dialnexa_port,
        ) as providers,
        FakeSlack(port=args.slack_port) as slack,
    ):
        settings = {
            **providers.env(),
            **slack.env(),
            "SLACK_ALERT_CHANNEL": SANDBOX_CHANNEL,
            # The sandbox's user, whom `syncbot ask` asks as: an admin, so `ask sync` works.
            "SLACK_ADMIN_USER_IDS": USER_ID,
            **sheet,
            # A store of its own: the sandbox's numbers would otherwise stay in your real
            # store, stale, once you switch to real credentials.
            "DATABASE_URL": SANDBOX_DATABASE_URL,
        }
        print(settings_block(settings, numbers=args.numbers))
        sys.stdout.flush()
        # Nothing completes it: the sandbox serves until Ctrl-C (130) or SIGTERM.
        forever: asyncio.Future[NoReturn] = asyncio.get_running_loop().create_future()
        await forever


def cmd_sandbox(args: argparse.Namespace) -> NoReturn:
    # A shell starting it in the background (`syncbot sandbox &` in a script) makes it ignore
    # SIGINT, and Python then raises no KeyboardInterrupt: Ctrl-C and `kill -INT` stop it anyway.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sheets = FakeSheets(record_snapshots=False)
    try:
        with sheets.running(port=args.sheets_port) as sheets_url:
            key = sheets.service_account(SANDBOX_SERVICE_ACCOUNT)
            sheets.create_spreadsheet(
                spreadsheet_id=SANDBOX_SHEET_ID, writers=[SANDBOX_SERVICE_ACCOUNT]
            )
            Path(SANDBOX_KEY_FILE).write_text(json.dumps(key, indent=2), encoding="utf-8")
            sheet = {
                "GOOGLE_SHEET_ID": SANDBOX_SHEET_ID,
                "GOOGLE_SERVICE_ACCOUNT_JSON": SANDBOX_KEY_FILE,
                "GOOGLE_SHEETS_API_URL": sheets_url,
            }
            asyncio.run(_serve(args, sheet))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        asked = (args.orgapi_port, args.dialnexa_port, args.slack_port, args.sheets_port)
        ports = [str(port) for port in asked if port]
        which = f"port {ports[0]} is" if len(ports) == 1 else f"one of ports {', '.join(ports)} is"
        raise SyncbotError(
            f"{which} already in use (is another `syncbot sandbox` running?): stop it, or pick "
            "free ports with --orgapi-port, --dialnexa-port, --slack-port and --sheets-port "
            "(0 picks any free port)"
        ) from None
