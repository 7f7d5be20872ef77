"""Block Kit's building blocks: mrkdwn escaped, text cut to Slack's limits, sections, context
blocks and ephemeral messages, as pure functions.

Every message syncbot sends is built from these: the ``/numbers`` answers (``blocks.py``), the
Home tab, alerts, digests and follow-ups. Apart so that each of them can use them without the
answers, and so that the limits they keep (at most ``MAX_BLOCKS`` blocks, ``MAX_TEXT``
characters per text) stand in one place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_TEXT = 3000
_PARTIAL_ENTITY = re.compile(r"&[a-z]*$")


def escape(text: str) -> str:
    """Slack's three control characters, as its mrkdwn reference asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a user typed, from the escaped text Slack sends (``escape`` undone)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(text: str, limit: int) -> str:
    """Provider text on one line, cut to ``limit`` characters (before escaping)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Cut escaped text to ``limit`` without leaving half an entity such as ``&am``."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text)}]}


def ephemeral(blocks: list[Block], fallback: str) -> Message:
    """A message only the asker sees; ``text`` is what notifications and screen readers show."""
    return {"response_type": "ephemeral", "text": clip(fallback), "blocks": blocks}


def packed(lines: Sequence[str], *, max_sections: int) -> list[Block]:
    """Lines grouped into as few sections as the text limit allows."""
    blocks: list[Block] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= MAX_TEXT or not current:
            current = candidate
            continue
        blocks.append(section(current))
        current = line
    if current:
        blocks.append(section(current))
    return blocks[:max_sections]
