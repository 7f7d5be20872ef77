"""After-sync alerts to ``SLACK_ALERT_CHANNEL``: one message when a sync changed numbers people
act on (they became unassigned, were removed or added), and one titled as a health alert when a
source or the sheet started failing or recovered. Assignments alone, and a source or sheet that
keeps failing run after run, stay quiet: health changes come from the states kept in the store,
so a failure is told once whichever process runs each sync.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import aiohttp
from pydantic import SecretStr
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from syncbot.errors import SyncbotError
from syncbot.logs import event
from syncbot.models import Change, ChangeKind, RunResult
from syncbot.settings import Settings
from syncbot.slack.alert_messages import alert_message, health_message, sheet_size_message
from syncbot.slack.blocks import sheet_url
from syncbot.slack.kit import Message
from syncbot.sync import AfterRun

log = logging.getLogger(__name__)

ALERTING_CHANGES = frozenset({ChangeKind.UNASSIGNED, ChangeKind.REMOVED, ChangeKind.ADDED})
_HINTS = {
    "not_in_channel": "invite the app to the channel (/invite @syncbot)",
    "channel_not_found": "check SLACK_ALERT_CHANNEL (a channel ID such as C0123ABCD is safest)",
    "invalid_auth": "check SLACK_BOT_TOKEN (the app's Bot User OAuth Token)",
    "missing_scope": "reinstall the app from slack-manifest.yml (it needs chat:write)",
}


class ChangeAlerts:
    """The hook ``run_sync`` calls after each committed run (see ``alert_hook``)."""

    def __init__(self, settings: Settings, channel: str) -> None:
        assert settings.slack_bot_token is not None
        self._token = settings.slack_bot_token
        self._api_url = settings.slack_api_url
        self._channel = channel
        self._sheet = sheet_url(settings.google_sheet_id)

    async def __call__(self, result: RunResult, changes: Iterable[Change]) -> None:
        health = health_message(result, sheet=self._sheet)
        if health is not None:
            await self._post(health, result)
        if result.sheet.warning_changed:
            await self._post(sheet_size_message(result, sheet=self._sheet), result)
        if any(result.changes.get(kind.value) for kind in ALERTING_CHANGES):
            changed = alert_message(result, changes, sheet=self._sheet)
            if changed is not None:
                await self._post(changed, result)

    async def _post(self, message: Message, result: RunResult) -> None:
        try:
            await post_message(self._token, self._api_url, self._channel, message)
        except PostError as exc:
            event(
                log,
                logging.ERROR,
                "alert not posted" + ("" if exc.code else ": Slack unreachable"),
                channel=self._channel,
                error=exc.code or exc.reason,
                hint=_HINTS.get(exc.code or ""),
            )
        else:
            event(log, logging.INFO, "alert posted", channel=self._channel, run_id=result.run_id)


class PostError(SyncbotError):
    """A message Slack did not take: ``code`` is Slack's error, None when it was unreachable."""

    def __init__(self, channel: str, code: str | None, reason: str) -> None:
        self.code = code
        self.reason = reason
        hint = _HINTS.get(code or "")
        what = f"Slack refused it: {code}" if code else f"Slack could not be reached ({reason})"
        super().__init__(f"nothing was posted to {channel}: {what}" + (f"; {hint}" if hint else ""))


async def post_message(token: SecretStr, api_url: str, channel: str, message: Message) -> None:
    """Post ``message`` to ``channel`` with the bot token; ``PostError`` when it is not."""
    client = AsyncWebClient(token=token.get_secret_value(), base_url=api_url, timeout=15)
    try:
        await client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        raise PostError(channel, str(exc.response.get("error", "unknown")), "") from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise PostError(channel, None, type(exc).__name__) from None


def alert_hook(settings: Settings) -> AfterRun | None:
    """The after-sync hook posting change alerts; ``None`` without ``SLACK_ALERT_CHANNEL``.

    Pass it as ``run_sync(..., after_run=alert_hook(settings))``.
    """
    if settings.slack_alert_channel is None or settings.slack_bot_token is None:
        return None
    return ChangeAlerts(settings, settings.slack_alert_channel)
