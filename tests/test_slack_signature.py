"""Request signatures, checked against Slack's published example with a fixed clock.

The vector is the one in Slack's "Verifying requests from Slack" walk-through. Its body carries
``token=xyzz0WbapA4vBCDEFasx0q6G``; with any other token the published signature does not match.
"""

from __future__ import annotations

import pytest

from syncbot.sandbox.slack_requests import signature
from syncbot.slack.middleware import MAX_CLOCK_SKEW_SECONDS, signature_is_valid

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlf"
    "mibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def check(
    *,
    secret: str = SECRET,
    body: str = BODY,
    timestamp: str | None = str(TIMESTAMP),
    sig: str | None = SIGNATURE,
    now: float = TIMESTAMP,
) -> bool:
    return signature_is_valid(secret, body.encode(), timestamp, sig, now=now)


def test_signature_check_accepts_slacks_published_example_at_its_timestamp() -> None:
    assert check()


@pytest.mark.parametrize(
    "change",
    [
        {"body": BODY.replace("text=", "text=sync")},
        {"body": BODY + "&user_id=U0ADMIN"},
        {"secret": SECRET[:-1] + "6"},
        {"sig": SIGNATURE[:-1] + "4"},
        {"sig": SIGNATURE.replace("v0=", "v1=")},
        {"timestamp": str(TIMESTAMP + 1)},
    ],
    ids=["text", "appended", "secret", "signature", "version", "timestamp"],
)
def test_signature_check_rejects_the_example_with_anything_changed(
    change: dict[str, str],
) -> None:
    assert not check(**change)  # type: ignore[arg-type]


def test_signature_check_allows_five_minutes_of_clock_skew_and_no_more() -> None:
    window = MAX_CLOCK_SKEW_SECONDS
    assert check(now=TIMESTAMP + window)
    assert check(now=TIMESTAMP - window)
    assert not check(now=TIMESTAMP + window + 1)
    assert not check(now=TIMESTAMP - window - 1)


@pytest.mark.parametrize(
    ("timestamp", "sig"),
    [(None, SIGNATURE), (str(TIMESTAMP), None), ("", SIGNATURE), ("soon", SIGNATURE)],
)
def test_a_missing_or_malformed_header_is_rejected_not_an_error(
    timestamp: str | None, sig: str | None
) -> None:
    assert not check(timestamp=timestamp, sig=sig)


def test_the_sandbox_signs_requests_exactly_as_slacks_example() -> None:
    assert signature(SECRET, BODY, str(TIMESTAMP)) == SIGNATURE
