"""The Slack app (``syncbot serve``), its after-sync alerts and its ``doctor`` checks.

slack-bolt is imported only by ``serve``: the worker and ``syncbot sync`` use ``alert_hook``,
which needs slack_sdk alone.
"""

from __future__ import annotations

from syncbot.settings import Settings
from syncbot.slack.alerts import alert_hook
from syncbot.slack.check import SlackCheck, check_slack
from syncbot.store import Store


def serve(settings: Settings, store: Store) -> bool:
    """Run the Slack app on ``0.0.0.0:$PORT`` until SIGTERM or SIGINT (blocks); True when
    SIGINT ended it."""
    from syncbot.slack.app import serve as run  # noqa: PLC0415 - slack-bolt only for the web dyno

    return run(settings, store)


__all__ = ["SlackCheck", "alert_hook", "check_slack", "serve"]
