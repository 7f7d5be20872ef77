"""``syncbot doctor``'s Slack checks: the tokens against Slack itself, and the ID settings."""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from syncbot.errors import ConfigError
from syncbot.settings import Settings
from syncbot.slack.config import require_settings

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_TEAM_ID = re.compile(r"^[TE][A-Z0-9]{2,}$")


@dataclass(frozen=True, slots=True)
class SlackCheck:
    ok: bool
    name: str
    detail: str


def _ids(name: str, values: list[str], pattern: re.Pattern[str], how: str) -> SlackCheck | None:
    wrong = [v for v in values if not pattern.match(v)]
    if not wrong:
        return None
    return SlackCheck(False, name.lower(), f"{name} holds {', '.join(map(repr, wrong))}: {how}")


def _refused(code: str, variable: str, how: str) -> str:
    return f"Slack refused {variable} ({code}): {how}"


async def _bot(settings: Settings, client: AsyncWebClient) -> list[SlackCheck]:
    api = settings.slack_api_url
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown"))
        how = "copy the Bot User OAuth Token from api.slack.com/apps > OAuth & Permissions"
        return [SlackCheck(False, "slack bot token", _refused(code, "SLACK_BOT_TOKEN", how))]
    except (aiohttp.ClientError, TimeoutError) as exc:
        detail = f"cannot reach {api} ({type(exc).__name__}); check SLACK_API_URL and the network"
        return [SlackCheck(False, "slack api", detail)]
    team_id = str(auth.get("team_id"))
    checks = [
        SlackCheck(
            True,
            "slack bot token",
            f"bot @{auth.get('user')} in {auth.get('team')} ({team_id}) via {api}",
        )
    ]
    allowed = settings.slack_allowed_team_ids
    if allowed and team_id not in allowed:
        checks.append(
            SlackCheck(
                False,
                "slack allowed teams",
                f"SLACK_ALLOWED_TEAM_IDS does not list {team_id}, the workspace the bot belongs "
                "to: every request from it would be refused",
            )
        )
    return checks


async def _socket_mode(settings: Settings, client: AsyncWebClient) -> SlackCheck:
    assert settings.slack_app_token is not None
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown"))
        how = "create one with connections:write under Basic Information > App-Level Tokens"
        return SlackCheck(False, "slack app token", _refused(code, "SLACK_APP_TOKEN", how))
    except (aiohttp.ClientError, TimeoutError) as exc:
        return SlackCheck(False, "slack app token", f"cannot reach Slack ({type(exc).__name__})")
    return SlackCheck(True, "slack app token", "accepted: `syncbot serve` uses Socket Mode")


async def check_slack(settings: Settings) -> list[SlackCheck]:
    """Every Slack check; calls ``auth.test`` (and ``apps.connections.open`` in Socket Mode)."""
    if settings.slack_bot_token is None and settings.slack_signing_secret is None:
        if settings.slack_alert_channel is not None:
            return [
                SlackCheck(
                    False,
                    "slack alerts",
                    "SLACK_ALERT_CHANNEL is set but SLACK_BOT_TOKEN is not: no alert can be "
                    "posted. Set the bot token (docs/slack.md), or unset the channel",
                )
            ]
        return [
            SlackCheck(
                True,
                "slack",
                "not configured (SLACK_BOT_TOKEN is not set): `syncbot serve` will not start; "
                "docs/slack.md sets it up",
            )
        ]
    try:
        require_settings(settings)
    except ConfigError as exc:
        return [SlackCheck(False, "slack", exc.message)]
    assert settings.slack_bot_token is not None
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=10,
    )
    checks = await _bot(settings, client)
    if settings.slack_app_token is not None:
        checks.append(await _socket_mode(settings, client))
    for found in (
        _ids(
            "SLACK_ADMIN_USER_IDS",
            settings.slack_admin_user_ids,
            _USER_ID,
            "use member IDs such as U012ABCDEF (profile > ⋯ > Copy member ID)",
        ),
        _ids(
            "SLACK_ALLOWED_TEAM_IDS",
            settings.slack_allowed_team_ids,
            _TEAM_ID,
            "use team IDs such as T012ABCDEF (`syncbot doctor` prints the bot's)",
        ),
    ):
        if found is not None:
            checks.append(found)
    # Only well-formed IDs count: a wrong one was just reported and lets nobody in.
    admins = sum(bool(_USER_ID.match(v)) for v in settings.slack_admin_user_ids)
    checks.append(
        SlackCheck(
            True,
            "slack admins",
            f"{admins} user(s) may run /numbers sync"
            if admins
            else "no valid ID in SLACK_ADMIN_USER_IDS: nobody can run /numbers sync (the "
            "worker still syncs on schedule)",
        )
    )
    channel = settings.slack_alert_channel
    checks.append(
        SlackCheck(
            True,
            "slack alerts",
            f"change alerts go to {channel}: invite the app to that channel"
            if channel
            else "SLACK_ALERT_CHANNEL is not set: no change alerts",
        )
    )
    return checks
