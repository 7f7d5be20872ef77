"""Field types shared by the provider record models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints

from syncbot.normalize import normalize_created_at


def _id_text(value: Any) -> Any:
    # Ids arrive as strings or integers; anything else (bool, float, object) is not an id.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
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


RecordId = Annotated[str, BeforeValidator(_id_text), StringConstraints(min_length=1)]
PhoneText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Country = Annotated[str | None, BeforeValidator(_country)]
OptionalText = Annotated[str | None, BeforeValidator(_blank_none)]
OptionalId = Annotated[str | None, BeforeValidator(_blank_none), BeforeValidator(_id_text)]
Timestamp = Annotated[dt.datetime | None, AfterValidator(_utc)]
