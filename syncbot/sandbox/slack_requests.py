"""The fake Slack's identity and the requests it sends the app, built and signed as Slack does.

Slack's side of a conversation starts with a request to the app: a slash command, a button
click, a modal submission or an Events API delivery, signed with the documented v0 scheme
independently of the app's own check. ``SlackRequests`` builds them for ``FakeSlack``
(``slack.py``), which serves the Web API the app then calls; apart because building a request
shares little with serving one: the fake's clock, ids, trigger ids and Home tabs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.parse
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any

# Fake credentials that only this fake accepts: public by design, they open nothing else.
BOT_TOKEN = "xoxb-sandbox-bot-token"  # noqa: S105 - a fake token for the fake Slack
APP_TOKEN = "xapp-sandbox-app-token"  # noqa: S105 - as above
SIGNING_SECRET = "sandbox-signing-secret"  # noqa: S105 - as above
TEAM_ID = "T0SANDBOX"
TEAM_NAME = "Sandbox"
BOT_USER_ID = "U0SYNCBOT"
USER_ID = "U0ALICE"
APP_ID = "A0SYNCBOT"
DM_CHANNEL = "D0SYNCBOT"
# Slack's trigger ids open a modal once, within three seconds of the request that carried them.
TRIGGER_SECONDS = 3.0


def signature(secret: str, body: str, timestamp: str) -> str:
    """Slack's v0 request signature of ``body`` sent at ``timestamp``."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def trigger_id() -> str:
    """A new trigger id, as Slack gives every request one: no two requests are the same."""
    return f"13345224609.738474920.{secrets.token_hex(16)}"


class SlackRequests:
    """Requests as Slack sends them, with the fake's credentials, ids and clock."""

    # Set by FakeSlack: the secret requests are signed with, the workspace, the clock, the
    # published Home tabs (an app_home_opened event carries one), the trigger ids handed out
    # and the counter of every id the fake makes up.
    signing_secret: str
    team_id: str
    clock: Callable[[], float]
    home: dict[str, dict[str, Any]]
    _triggers: dict[str, float]
    _ids: Iterator[int]

    @abstractmethod
    def response_url(self, name: str = "reply") -> str:
        """Where the app answers a request (``FakeSlack`` catches what it posts there)."""

    def signed_headers(
        self, body: str, *, timestamp: float | None = None, json: bool = False
    ) -> dict[str, str]:
        """The headers Slack sends with ``body``: form-encoded, or JSON for the Events API."""
        sent = str(int(self.clock() if timestamp is None else timestamp))
        return {
            "Content-Type": "application/json" if json else "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": sent,
            "X-Slack-Signature": signature(self.signing_secret, body, sent),
        }

    def command_payload(
        self,
        text: str,
        *,
        user_id: str = USER_ID,
        team_id: str | None = None,
        response_url: str | None = None,
        command: str = "/numbers",
    ) -> dict[str, str]:
        return {
            "token": "legacy-verification-token",
            "team_id": team_id or self.team_id,
            "team_domain": "sandbox",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "response_url": response_url or self.response_url(),
            "trigger_id": self.new_trigger(),
        }

    def command_body(self, text: str, **fields: Any) -> str:
        """A slash command's form body, as Slack posts it to the app."""
        return urllib.parse.urlencode(self.command_payload(text, **fields))

    def new_trigger(self) -> str:
        """A trigger id as Slack sends with a command or click, good for one ``views.open``."""
        made = trigger_id()
        self._triggers[made] = self.clock()
        return made

    def action_payload(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = USER_ID,
        team_id: str | None = None,
        response_url: str | None = None,
        block_id: str = "pager",
        message: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A click on a button: in an ephemeral answer (the default), in a channel ``message``
        the app posted (as ``posted`` gives it), or in a ``view`` (a Home tab) where Slack sends
        no ``response_url``."""
        team = team_id or self.team_id
        payload: dict[str, Any] = {
            "type": "block_actions",
            "team": {"id": team, "domain": "sandbox"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": team},
            "api_app_id": APP_ID,
            "container": {
                "type": "message",
                "message_ts": "1700000000.000100",
                "channel_id": "C0GENERAL",
                "is_ephemeral": True,
            },
            "channel": {"id": "C0GENERAL", "name": "general"},
            "response_url": response_url or self.response_url(),
            "trigger_id": self.new_trigger(),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "action_ts": "1700000001.000200",
                }
            ],
        }
        if message is not None:
            channel = str(message["channel"])
            payload["container"] = {
                "type": "message",
                "message_ts": message["ts"],
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel, "name": channel.lower()}
            payload["message"] = {"type": "message", "user": BOT_USER_ID, **message}
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["view"] = dict(view)
            del payload["channel"], payload["response_url"]
        return payload

    def action_body(self, action_id: str, value: str, **fields: Any) -> str:
        """A button click's form body (``payload=<json>``)."""
        payload = self.action_payload(action_id, value, **fields)
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    def submission_payload(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Mapping[str, Mapping[str, Any]]],
        *,
        user_id: str = USER_ID,
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """A modal's submission: ``view`` as ``views.open`` returned it, ``values`` by block id
        and action id as Slack fills ``view.state.values`` (``{"type": "datepicker",
        "selected_date": "2027-01-05"}``)."""
        team = team_id or self.team_id
        return {
            "type": "view_submission",
            "team": {"id": team, "domain": "sandbox"},
            "user": {"id": user_id, "username": user_id.lower(), "team_id": team},
            "api_app_id": APP_ID,
            "trigger_id": self.new_trigger(),
            "view": {**view, "state": {"values": {k: dict(v) for k, v in values.items()}}},
            "response_urls": [],
        }

    def submission_body(self, view: Mapping[str, Any], values: Any, **fields: Any) -> str:
        payload = self.submission_payload(view, values, **fields)
        return urllib.parse.urlencode({"payload": json.dumps(payload)})

    def home_opened(self, *, user_id: str = USER_ID, tab: str = "home") -> dict[str, Any]:
        """The ``app_home_opened`` event, with the user's Home view when one was published."""
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": DM_CHANNEL,
            "tab": tab,
            "event_ts": f"{self.clock():.6f}",
        }
        if user_id in self.home:
            event["view"] = self.home[user_id]
        return event

    def event_payload(self, event: Mapping[str, Any], *, team_id: str | None = None) -> Any:
        """An Events API delivery of ``event`` (``event_callback``)."""
        team = team_id or self.team_id
        return {
            "token": "legacy-verification-token",
            "team_id": team,
            "api_app_id": APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}",
            "event_time": int(self.clock()),
            "authorizations": [
                {"team_id": team, "user_id": BOT_USER_ID, "is_bot": True, "enterprise_id": None}
            ],
            "is_ext_shared_channel": False,
        }

    def event_body(self, event: Mapping[str, Any], **fields: Any) -> str:
        """An Events API delivery's JSON body; sign it with ``signed_headers(body, json=True)``."""
        return json.dumps(self.event_payload(event, **fields))
