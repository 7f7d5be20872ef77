"""The store: one interface, SQLite and PostgreSQL behind it, chosen by ``DATABASE_URL``."""

from __future__ import annotations

from pathlib import Path

from syncbot.errors import NoStoreError
from syncbot.store.base import Store
from syncbot.store.sqlite import MEMORY, SqliteStore, check_directory, sqlite_path


def open_store(url: str, *, create: bool = True) -> Store:
    """Open (never create the schema of) the store ``url`` names.

    With ``create=False`` (the commands that only read) a SQLite file that is not there raises
    ``NoStoreError`` instead of being created empty.
    """
    scheme = url.split(":", 1)[0]
    if scheme == "sqlite":
        path = sqlite_path(url)
        if not create and path != MEMORY and not Path(path).is_file():
            # Where no store can ever be, say that rather than "no sync has run yet".
            check_directory(path)
            raise NoStoreError(
                f"no sync has run yet: there is no store at {path}; run `syncbot sync` first "
                "(or point DATABASE_URL at the store your syncs write to)"
            )
        return SqliteStore(path)
    if scheme in {"postgres", "postgresql"}:
        from syncbot.store.postgres import PostgresStore  # noqa: PLC0415 - psycopg only when used

        return PostgresStore(url)
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}")


__all__ = ["SqliteStore", "Store", "open_store"]
