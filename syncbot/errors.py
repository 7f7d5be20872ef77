"""Typed errors. Each carries a message a user can act on; the edges (CLI, Slack) show only that."""

from __future__ import annotations


class SyncbotError(Exception):
    """Base of every error syncbot reports to a user."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncbotError):
    """A setting is missing or malformed; the message names it and shows a valid value."""

    exit_code = 2


class ProviderError(SyncbotError):
    """A provider API call failed for good (after retries, or at once when retrying cannot help)."""


class AuthError(ProviderError):
    """The provider refused the credentials (401/403): retrying cannot help."""


class PaginationError(ProviderError):
    """The provider's pagination would loop or never end."""


class StoreError(SyncbotError):
    """The store cannot be opened, migrated or written."""


class NoStoreError(StoreError):
    """A reader found no store where ``DATABASE_URL`` points: no sync has written one yet."""


class SheetError(SyncbotError):
    """The Google Sheet cannot be read or written."""


class QueryError(SyncbotError):
    """A query the grammar does not understand: a usage error, as a bad option is."""

    exit_code = 2
