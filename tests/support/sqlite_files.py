"""What another connection sees of a SQLite store's file: what is committed."""

from __future__ import annotations

import sqlite3

from alertwhisperer_adapters.sql import SqlStore


def db_path(store: SqlStore) -> str:
    """The file behind the store's own connection."""
    path: str = store.sqlite_connection.execute("PRAGMA database_list").fetchone()[2]
    return path


def committed_companies_at(path: str) -> set[str]:
    """Company ids a new connection to ``path`` sees."""
    other = sqlite3.connect(path)
    try:
        return {row[0] for row in other.execute("SELECT id FROM companies")}
    finally:
        other.close()


def committed_companies(store: SqlStore) -> set[str]:
    """Company ids another connection to the store's file sees: what is committed."""
    return committed_companies_at(db_path(store))
