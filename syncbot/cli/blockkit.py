"""A Slack message for a terminal: its Block Kit as readable text, and a Block Kit Builder link
that shows exactly how Slack renders it."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

BUILDER_URL = "https://app.slack.com/block-kit-builder/#"
# <https://x|label>, <https://x>, <@U123>, <!channel>: how mrkdwn writes links and mentions.
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]+))?>")
# *bold* and _italic_ markers; an underscore inside a word (agent_sales_eu) is not one.
_BOLD = re.compile(r"\*([^*\n]+)\*")
_ITALIC = re.compile(r"(?<!\w)_([^_\n]+)_(?!\w)")
# The emoji our messages use, as a terminal shows them.
_EMOJI = {
    ":moneybag:": "💰",
    ":warning:": "⚠️",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":hourglass:": "⏳",
    ":arrows_counterclockwise:": "🔄",
    ":grey_question:": "❔",
    ":no_entry:": "⛔",
    ":raising_hand:": "🙋",
    ":tada:": "🎉",
    ":calendar:": "📅",
    ":information_source:": "ℹ️",  # noqa: RUF001 - the emoji, as Slack shows it
    ":heavy_minus_sign:": "➖",  # noqa: RUF001 - as above
}


def _plain(mrkdwn: str) -> str:
    """mrkdwn as it reads: links as ``label (url)``, no markers, emoji, entities undone."""

    def link(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "!", "#")):
            return label or target
        return f"{label} ({target})" if label else target

    text = _ITALIC.sub(r"\1", _BOLD.sub(r"\1", _LINK.sub(link, mrkdwn)))
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _element(element: Mapping[str, Any]) -> str:
    if element.get("type") == "button":
        return f"[{element['text']['text']}]"
    return _plain(str(element.get("text", "")))


def message_text(message: Mapping[str, Any]) -> str:
    """The message's blocks, one paragraph each, as a person reads them in Slack."""
    out: list[str] = []
    for block in message.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            out.append(block["text"]["text"].upper())
        elif kind == "section":
            # Slack sets each block apart; here a block's later lines are indented instead.
            text = _plain(block["text"]["text"]).replace("\n", "\n  ")
            accessory = block.get("accessory")
            if accessory is not None and accessory.get("type") == "button":
                text += f"  {_element(accessory)}"
            out.append(text)
        elif kind in {"context", "actions"}:
            out.append("  " + " ".join(_element(e) for e in block.get("elements", [])))
    return "\n".join(out)


def builder_link(message: Mapping[str, Any]) -> str:
    """Slack's Block Kit Builder holding the message's blocks, or a Home tab or modal view
    (it reads them from the URL's fragment, so nothing is sent anywhere until someone opens
    it)."""
    surface = {"type": message["type"]} if message.get("type") in {"home", "modal"} else {}
    blocks = json.dumps({**surface, "blocks": message.get("blocks", [])}, separators=(",", ":"))
    return BUILDER_URL + urllib.parse.quote(blocks, safe="")
