"""Logging as logfmt lines (what Heroku's log tooling reads), and the terminal progress line."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import Any, TextIO

_BARE = re.compile(r"^[A-Za-z0-9_./:@+-]+$")


def _value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        value = f"{value:.3f}"
    text = str(value)
    if _BARE.match(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def logfmt(fields: dict[str, object]) -> str:
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items())


class LogfmtFormatter(logging.Formatter):
    """``at=... level=... msg=... key=value`` with the fields given to ``event``."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "at": dt.datetime.fromtimestamp(record.created, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        return logfmt(fields)


def event(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with structured fields; values must never be secrets."""
    logger.log(level, message, extra={"fields": fields})


def configure(*, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' chatter at INFO (aiohttp access lines, slack_bolt) is not ours to show.
    for noisy in ("aiohttp.access", "slack_bolt", "slack_sdk", "urllib3", "google"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
