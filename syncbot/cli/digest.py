"""``syncbot digest``: the weekly digest, posted to SLACK_ALERT_CHANNEL or printed."""

from __future__ import annotations

import argparse
import asyncio

from syncbot.cli.blockkit import builder_link, message_text
from syncbot.cli.commands import opened
from syncbot.errors import ConfigError
from syncbot.models import utc_now
from syncbot.settings import load_settings


def cmd_digest(args: argparse.Namespace) -> int:
    from syncbot.digest import build_digest  # noqa: PLC0415 - slack_sdk loads only here
    from syncbot.slack.alerts import post_message  # noqa: PLC0415 - as above
    from syncbot.slack.blocks import sheet_url  # noqa: PLC0415 - as above
    from syncbot.slack.digest_blocks import digest_message  # noqa: PLC0415 - as above

    settings = load_settings()
    channel, token = settings.slack_alert_channel, settings.slack_bot_token
    if not args.dry_run:
        missing = [
            name
            for name, value in (("SLACK_ALERT_CHANNEL", channel), ("SLACK_BOT_TOKEN", token))
            if value is None
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} must be set to post the digest (e.g. "
                "SLACK_ALERT_CHANNEL=C0123ABCD); `syncbot digest --dry-run` prints it instead"
            )
    costs = settings.costs()
    with opened(settings, migrate=False) as store:
        digest = build_digest(store, now=utc_now(), costs=costs)
    message = digest_message(
        digest, sheet=sheet_url(settings.google_sheet_id), currency=costs.currency
    )
    if args.dry_run:
        print(message_text(message))
        print(f"\nSee it as Slack shows it: {builder_link(message)}")
        return 0
    assert channel is not None
    assert token is not None
    asyncio.run(post_message(token, settings.slack_api_url, channel, message))
    print(f"Digest posted to {channel}.")
    return 0
