"""The store: one interface, SQLite and PostgreSQL behind it, chosen by ``DATABASE_URL``."""

from __future__ import annotations

from syncbot.store.base import Store
from syncbot.store.sqlite import SqliteStore, sqlite_path


def open_store(url: str) -> Store:
    """Open (never create the schema of) the store ``url`` names."""
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        return SqliteStore(sqlite_path(url))
    if scheme in {"postgres", "postgresql"}:
        from syncbot.store.postgres import PostgresStore  # noqa: PLC0415 - psycopg only when used

        return PostgresStore(url)
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}")


__all__ = ["SqliteStore", "Store", "open_store"]
