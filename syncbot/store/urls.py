"""``DATABASE_URL`` fit to print: where the store is, and never its password, in any form.

A password can sit in the URL's user info or in a ``password=`` query parameter, percent-encoded
or not; libpq quotes it back in some errors (an unencoded ``%`` is an "invalid percent-encoded
token"). Everything printed about the store goes through ``store_label`` or ``redact``.
"""

from __future__ import annotations

import urllib.parse

_HIDDEN = "***"


def _passwords(url: str) -> set[str]:
    """Every spelling of the URL's password(s): as written, and decoded."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return set()
    found: set[str] = set()
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        found.add(userinfo.split(":", 1)[1])
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if urllib.parse.unquote(name) == "password":
            found.add(value)
    found |= {urllib.parse.unquote(value) for value in found}
    found |= {urllib.parse.unquote_plus(value) for value in found}
    return {value for value in found if value}


def redact(text: str, url: str) -> str:
    """``text`` with the URL itself and each form of its password hidden."""
    text = text.replace(url, "DATABASE_URL")
    # Longest first, so that a decoded form inside a longer one leaves nothing behind.
    for secret in sorted(_passwords(url), key=len, reverse=True):
        text = text.replace(secret, _HIDDEN)
    return text


def store_label(url: str) -> str:
    """The store's URL without user info or query (``postgresql://host:5432/db``)."""
    if url.startswith("sqlite:"):
        return url
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "the PostgreSQL server in DATABASE_URL"
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{port or 5432}{parts.path}"
