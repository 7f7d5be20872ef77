"""Block Kit checked as Slack checks it, with slack_sdk's models of blocks and views.

The sandbox Slack refuses a message or view these models refuse (Slack answers
``invalid_blocks`` / ``invalid_arguments``), and the tests check every message, modal and Home
view the app builds with the same functions. A model drops the fields it does not know, so a
block that does not come back from its model unchanged holds a field Slack would not take.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50


def _model_errors(kind: str, raw: Any, build: Any) -> list[str]:
    try:
        parsed = build(raw)
        if parsed is None:
            return [f"{kind}: unknown type {raw.get('type')!r}"]
        dumped = parsed.to_dict()
    except (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError) as exc:
        return [f"{kind}: {exc}"]
    if dumped != raw:
        return [f"{kind}: Slack does not take it as sent: {raw!r} reads as {dumped!r}"]
    return []


def block_errors(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """What is wrong with a message's blocks; empty when Slack would take them."""
    errors = []
    if len(blocks) > MAX_MESSAGE_BLOCKS:
        errors.append(f"{len(blocks)} blocks: a message holds at most {MAX_MESSAGE_BLOCKS}")
    for n, block in enumerate(blocks):
        errors += _model_errors(f"blocks[{n}]", dict(block), Block.parse)
    return errors


def view_errors(view: Mapping[str, Any]) -> list[str]:
    """What is wrong with a modal or Home tab view; empty when Slack would take it."""
    return _model_errors(f"{view.get('type')} view", dict(view), lambda raw: View(**raw))


def message_errors(message: Mapping[str, Any]) -> list[str]:
    """What is wrong with a message (its blocks, and the text notifications show)."""
    errors = block_errors(message.get("blocks") or [])
    if not message.get("text"):
        errors.append("no text: notifications and screen readers would show nothing")
    return errors
