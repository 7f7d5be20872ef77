"""``syncbot ask WORDS...``: ``/numbers WORDS`` sent to a running ``syncbot serve`` as Slack
sends it (form body, v0 signature), answered as text with its Block Kit Builder link."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import aiohttp

from syncbot.cli.blockkit import builder_link, message_text
from syncbot.cli.commands import print_json
from syncbot.errors import ConfigError, SyncbotError
from syncbot.query import parse
from syncbot.sandbox.slack import FakeSlack
from syncbot.sandbox.slack_requests import TEAM_ID, USER_ID
from syncbot.settings import Settings, load_settings


def _events_url(args: argparse.Namespace, settings: Settings) -> str:
    """--url as given (with or without its path), else `serve` on this machine's PORT."""
    base = (args.url or f"http://127.0.0.1:{settings.port}").rstrip("/")
    return base if base.endswith("/slack/events") else f"{base}/slack/events"


async def _post(url: str, body: str, headers: dict[str, str]) -> dict[str, Any]:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, data=body, headers=headers) as response,
        ):
            text = await response.text()
            status = response.status
    except aiohttp.ClientConnectionError:
        raise SyncbotError(
            f"nothing answers at {url}: start `syncbot serve` in another terminal (it listens "
            "on PORT, 3000 unless set), or give its address with --url"
        ) from None
    if status == 401:
        raise SyncbotError(
            f"{url} refused the request's signature: `syncbot ask` signs with "
            "SLACK_SIGNING_SECRET, which must be the same as the running `syncbot serve`'s"
        )
    if status != 200:
        raise SyncbotError(f"{url} answered HTTP {status}: {text[:200]}")
    if not text.strip():
        return {}
    answer: dict[str, Any] = json.loads(text)
    return answer


async def _ask(args: argparse.Namespace, settings: Settings, secret: str) -> list[dict[str, Any]]:
    words = " ".join(args.words)
    user = args.user or next(iter(settings.slack_admin_user_ids), USER_ID)
    team = next(iter(settings.slack_allowed_team_ids), TEAM_ID)
    # The fake Slack catches what the app posts to the request's response_url later on.
    async with FakeSlack(signing_secret=secret, team_id=team) as slack:
        body = slack.command_body(words, user_id=user)
        url = _events_url(args, settings)
        messages = [await _post(url, body, slack.signed_headers(body))]
        # An admin's `sync` is acknowledged at once; its outcome follows by response_url.
        if parse(words).action == "sync" and user in settings.slack_admin_user_ids:
            slack.wait_seconds = float(settings.sync_deadline_seconds) + 60.0
            messages += [reply.body for reply in await slack.wait_for_replies(1)]
    return messages


def cmd_ask(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.slack_signing_secret is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: `syncbot ask` signs its request with it, as Slack "
            "does, and `syncbot serve` checks it (`syncbot sandbox` prints one to use)"
        )
    secret = settings.slack_signing_secret.get_secret_value()
    messages = asyncio.run(_ask(args, settings, secret))
    if args.json:
        print_json(messages if len(messages) > 1 else messages[0])
        return 0
    for message in messages:
        if message:
            print(message_text(message))
            print(f"\nIn Slack's Block Kit Builder: {builder_link(message)}")
        else:
            print("(acknowledged, with no message)")
    return 0
