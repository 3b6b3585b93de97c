"""Alembic, run programmatically: no ``alembic.ini`` anywhere, the scripts ship as package data.

``upgrade_database`` is what ``alertwhisperer db upgrade`` runs. On PostgreSQL the upgrade holds
a session advisory lock, so several server processes starting at once against an empty
database migrate it once; on SQLite the migration is one ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["current_revision", "head_revision", "migrate", "sync_database_url", "upgrade_database"]

_SCRIPTS = Path(__file__).with_name("migrations")
# An arbitrary constant: the advisory lock id every migrating process agrees on.
_MIGRATION_LOCK = 0x6177_6D69_6772_6174  # "awmigrat"


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise RuntimeError("no migrations found")
    return head


def current_revision(connection: Connection) -> str | None:
    """The database's revision, or None when it was never migrated (an empty database)."""
    return MigrationContext.configure(connection).get_current_revision()


def migrate(connection: Connection, *, only_if_empty: bool = False) -> bool:
    """Upgrade the database behind ``connection`` to head; True if anything ran.

    With ``only_if_empty`` only a never-migrated database is touched.
    """
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        connection.commit()
    try:
        current = current_revision(connection)
        connection.commit()
        if current == head_revision() or (only_if_empty and current is not None):
            return False
        command.upgrade(_config(connection), "head")
        connection.commit()
        return True
    finally:
        if postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            connection.commit()


def sync_database_url(url: str) -> str:
    """The synchronous-driver form of a database URL (stdlib sqlite3, psycopg)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
    elif backend in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    else:
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}")
    return parsed.render_as_string(hide_password=False)


def upgrade_database(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (``alembic upgrade head``)."""
    from ._store import ensure_sqlite_directory, install_sqlite_hooks

    sync_url = sync_database_url(url)
    ensure_sqlite_directory(sync_url)
    engine = create_engine(sync_url)
    if engine.dialect.name == "sqlite":
        install_sqlite_hooks(engine)
    try:
        with engine.connect() as connection:
            migrate(connection)
    finally:
        engine.dispose()
