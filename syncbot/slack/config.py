"""The Slack settings ``serve`` cannot run without, checked before anything binds or connects."""

from __future__ import annotations

from syncbot.errors import ConfigError
from syncbot.settings import Settings


def require_settings(settings: Settings) -> None:
    """What ``serve`` needs, checked before anything binds or connects."""
    if settings.slack_bot_token is None:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set: `syncbot serve` needs the app's Bot User OAuth Token "
            "(xoxb-...), from api.slack.com/apps > your app > OAuth & Permissions (docs/slack.md)"
        )
    if not settings.slack_bot_token.get_secret_value().startswith("xoxb-"):
        raise ConfigError(
            "SLACK_BOT_TOKEN is not a bot token (those start with xoxb-): copy the Bot User "
            "OAuth Token from api.slack.com/apps > your app > OAuth & Permissions"
        )
    app_token = settings.slack_app_token
    if app_token is not None and not app_token.get_secret_value().startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN is not an app-level token (those start with xapp-): create one "
            "with the connections:write scope under Basic Information > App-Level Tokens"
        )
    if settings.slack_signing_secret is None and app_token is None:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is not set: without it no request can be verified. Copy it "
            "from api.slack.com/apps > your app > Basic Information > App Credentials, or set "
            "SLACK_APP_TOKEN to use Socket Mode instead (docs/slack.md)"
        )
