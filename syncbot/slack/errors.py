"""Where exceptions become what a Slack user reads: one clear message, never a traceback.

Typed errors (``SyncbotError``) carry a message written for users and are shown as is; a query
the grammar cannot read gets the usage with a "did you mean". Anything else is a bug: it is
logged with a short reference, and the user gets that reference instead of the details.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse

from syncbot.errors import QueryError, SyncbotError
from syncbot.logs import event
from syncbot.slack.blocks import notice, usage_message
from syncbot.slack.followup_views import notice_modal
from syncbot.slack.kit import Message, escape

log = logging.getLogger(__name__)


def user_message(error: BaseException) -> Message:
    """The message a user sees for ``error``; unexpected errors are logged here, once."""
    if isinstance(error, QueryError):
        return usage_message(error.message)
    if isinstance(error, SyncbotError):
        return notice(f":x: {escape(error.message)}")
    reference = secrets.token_hex(4)
    event(
        log,
        logging.ERROR,
        "unexpected error while answering Slack",
        reference=reference,
        error=f"{type(error).__name__}: {error}",
    )
    return notice(
        f":x: Something went wrong on our side (reference `{reference}`). It has been logged; "
        "please try again, and tell the people who run syncbot if it keeps happening."
    )


async def on_error(
    error: Exception, body: dict[str, Any], respond: AsyncRespond | None
) -> BoltResponse:
    """bolt's global error handler: every listener's and middleware's exception ends here."""
    message = user_message(error)
    if body.get("type") == "view_submission":
        # A modal's submission is answered with a view: the modal says what went wrong.
        view = notice_modal("Not saved", message["text"])
        return BoltResponse(status=200, body={"response_action": "update", "view": view})
    if body.get("type") == "block_actions" and respond is not None:
        # Slack ignores the body of a button's acknowledgement: the user would see nothing.
        await respond({**message, "replace_original": False})
        return BoltResponse(status=200, body="")
    return BoltResponse(status=200, body=message)
