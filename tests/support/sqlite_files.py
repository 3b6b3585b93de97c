"""What another connection sees of a SQLite store's file: what is committed."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alertwhisperer_adapters.sql import SqlStore, open_sql_store


@asynccontextmanager
async def sqlite_store(directory: Path) -> AsyncIterator[SqlStore]:
    """A store on a new SQLite file ``aw.db`` in ``directory``, closed afterwards."""
    opened = await open_sql_store(f"sqlite:///{directory}/aw.db")
    try:
        yield opened
    finally:
        await opened.close()


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
