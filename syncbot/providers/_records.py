"""Field types shared by the provider record models."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from syncbot.normalize import normalize_created_at

# Longest id, phone text and other text a record may carry. An id or a phone text past its
# limit makes the record invalid (cutting it would make another id, or another number); other
# text is cut, with an ellipsis.
MAX_ID = 255
MAX_PHONE = 100
MAX_TEXT = 1000
# What no store can hold (NUL in PostgreSQL; lone surrogates, which JSON may escape but UTF-8
# cannot encode) and Unicode's non-characters: each becomes U+FFFD, the replacement character.
_UNFIT = re.compile(
    "[\x00\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
    )
    + "]"
)


def clean(text: str) -> str:
    """Provider text as any store, sheet and message can hold it."""
    return _UNFIT.sub("\ufffd", text)


def _id_text(value: Any) -> Any:
    # Ids arrive as strings or integers; anything else (bool, float, object) is not an id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return clean(value) if isinstance(value, str) else value


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = clean(value)
        return value if len(value) <= MAX_TEXT else value[: MAX_TEXT - 1] + "\u2026"
    return value


def _country(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip().upper()
        # Only ISO 3166-1 alpha-2 is trusted; a dialling code like "+1" is left to derivation.
        return value if len(value) == 2 and value.isalpha() else None
    return value


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    try:
        return normalize_created_at(value)
    except OverflowError:
        # 0001-01-01T00:00:00+01:00 is a valid timestamp whose UTC time is before year 1.
        raise ValueError("is outside the range of dates once converted to UTC") from None


def _blank_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _id_length(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_ID:
        raise ValueError(f"is longer than {MAX_ID} characters")
    return value


def _phone_text(value: Any) -> Any:
    return clean(value) if isinstance(value, str) else value


RecordId = Annotated[
    str, BeforeValidator(_id_text), StringConstraints(min_length=1, max_length=MAX_ID)
]
PhoneText = Annotated[
    str,
    BeforeValidator(_phone_text),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_PHONE),
]
Country = Annotated[str | None, BeforeValidator(_country)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_none), BeforeValidator(_text)]
OptionalId = Annotated[
    str | None,
    BeforeValidator(_blank_none),
    BeforeValidator(_id_text),
    AfterValidator(_id_length),
]
Timestamp = Annotated[dt.datetime | None, AfterValidator(_utc)]
