"""After-sync alerts: one ``chat.postMessage`` to ``SLACK_ALERT_CHANNEL`` when a sync changed
something people act on (numbers that became unassigned, were removed or added) or a source
started failing. Assignments alone, and a source that keeps failing run after run, stay quiet.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from syncbot.logs import event
from syncbot.models import Change, ChangeKind, RunResult
from syncbot.settings import Settings
from syncbot.slack.blocks import alert_message, sheet_url
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
        # Failing sources already announced by this process, so an outage is told once.
        self._failing: set[str] = set()

    async def __call__(self, result: RunResult, changes: Iterable[Change]) -> None:
        failed = {
            key: source.error or "failed"
            for key, source in result.sources.items()
            if source.status == "failed"
        }
        newly_failed = failed.keys() - self._failing
        self._failing = set(failed)
        if not newly_failed and not any(result.changes.get(k.value) for k in ALERTING_CHANGES):
            return
        message = alert_message(result, changes, failed_sources=failed, sheet=self._sheet)
        if message is None:
            return
        client = AsyncWebClient(
            token=self._token.get_secret_value(), base_url=self._api_url, timeout=15
        )
        try:
            await client.chat_postMessage(
                channel=self._channel,
                text=message["text"],
                blocks=message["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown"))
            event(
                log,
                logging.ERROR,
                "alert not posted",
                channel=self._channel,
                error=code,
                hint=_HINTS.get(code),
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            event(
                log,
                logging.ERROR,
                "alert not posted: Slack unreachable",
                channel=self._channel,
                error=type(exc).__name__,
            )
        else:
            event(log, logging.INFO, "alert posted", channel=self._channel, run_id=result.run_id)


def alert_hook(settings: Settings) -> AfterRun | None:
    """The after-sync hook posting change alerts; ``None`` without ``SLACK_ALERT_CHANNEL``.

    Pass it as ``run_sync(..., after_run=alert_hook(settings))``; keep one per process, since it
    remembers which failing sources it already announced.
    """
    if settings.slack_alert_channel is None or settings.slack_bot_token is None:
        return None
    return ChangeAlerts(settings, settings.slack_alert_channel)
