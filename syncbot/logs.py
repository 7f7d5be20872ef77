"""Logging as logfmt lines (what Heroku's log tooling reads), and the terminal progress line."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import Any, TextIO

_BARE = re.compile(r"^[A-Za-z0-9_./:@+-]+$")
# What a terminal or a log reader would act on rather than show: C0 and C1 controls (ESC starts
# a terminal's escape sequences, CR rewrites a line), line separators, and bidi overrides.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``, ``\\u2028``):
    provider text printed anywhere can neither forge a log line nor drive a terminal."""
    return _UNSAFE.sub(_escape, text)


def terminal(text: str) -> str:
    """Output for a terminal: ``printable`` line by line, its own line breaks kept."""
    return "\n".join(printable(line) for line in text.split("\n"))


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
    return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


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
    # urllib3 warns of each retry of Google's calls ("Retrying (Retry(total=2...))"), a dozen
    # lines per outage; syncbot's own message says what failed once retries are spent.
    quiet_urllib3 = logging.DEBUG if level <= logging.DEBUG else logging.ERROR
    logging.getLogger("urllib3").setLevel(quiet_urllib3)
