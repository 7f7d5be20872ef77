"""Service-account keys and the OAuth token endpoint of the fake.

``mint_key`` makes a real RSA key in Google's JSON key format; the token endpoint checks the
JWT-bearer assertion google-auth signs with it against that key's public half, as Google does.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth addresses every assertion to Google's endpoint, whatever the key's token_uri.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
SHEETS_SCOPES = {
    "https://www.googleapis.com/auth/spreadsheets",
    "https://www.googleapis.com/auth/drive",
    "https://www.googleapis.com/auth/drive.file",
}
TOKEN_LIFETIME = 3600
_CLOCK_SKEW = 300


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    email: str
    key_id: str
    public_key: rsa.RSAPublicKey


def mint_key(
    *, email: str, token_uri: str, project_id: str = "syncbot-sandbox"
) -> tuple[dict[str, str], RegisteredKey]:
    """A service-account key dict as Google's console downloads it, and its public half."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    key_id = secrets.token_hex(20)
    info = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": key_id,
        "private_key": pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    return info, RegisteredKey(email, key_id, private.public_key())


class GrantError(Exception):
    """A refused token request, in OAuth's error shape."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        raise GrantError(
            "invalid_grant", "Invalid JWT: Token must be a short-lived token"
        ) from None


def verify_assertion(
    form: dict[str, str],
    keys: dict[str, RegisteredKey],
    *,
    audiences: set[str],
    now: float | None = None,
) -> tuple[str, set[str]]:
    """The service account's e-mail and scopes, once its signed assertion checks out."""
    if form.get("grant_type") != JWT_BEARER:
        raise GrantError(
            "unsupported_grant_type", "Invalid grant_type: " + str(form.get("grant_type"))
        )
    parts = form.get("assertion", "").split(".")
    if len(parts) != 3:
        raise GrantError("invalid_request", "Invalid JWT: malformed assertion")
    try:
        header: dict[str, Any] = json.loads(_b64(parts[0]))
        claims: dict[str, Any] = json.loads(_b64(parts[1]))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GrantError("invalid_request", "Invalid JWT: malformed assertion") from None
    key = keys.get(str(claims.get("iss")))
    if header.get("alg") != "RS256" or key is None:
        raise GrantError("invalid_grant", "Invalid grant: account not found")
    if header.get("kid") not in (None, key.key_id):
        raise GrantError("invalid_grant", "Invalid JWT Signature.")
    try:
        key.public_key.verify(
            _b64(parts[2]), f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        raise GrantError("invalid_grant", "Invalid JWT Signature.") from None
    now = time.time() if now is None else now
    if claims.get("aud") not in audiences:
        raise GrantError("invalid_grant", "Invalid JWT: audience is not the token endpoint")
    if (
        not float(claims.get("iat", 0)) - _CLOCK_SKEW
        <= now
        < float(claims.get("exp", 0)) + _CLOCK_SKEW
    ):
        raise GrantError(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
            "timeframe.",
        )
    scopes = set(str(claims.get("scope", "")).split())
    if not scopes & SHEETS_SCOPES:
        raise GrantError("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
    return key.email, scopes
