"""Alembic environment: run by :mod:`alertwhisperer_adapters.sql._migrate`, never by an ini file.

The caller hands over an open connection in ``config.attributes["connection"]``. Offline mode
(``--sql``) renders the DDL for the URL in ``sqlalchemy.url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from alertwhisperer_adapters.sql._schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite can roll DDL back too: a failed migration leaves the previous schema intact.
        transactional_ddl=True,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through alertwhisperer_adapters.sql.upgrade_database")
    _run(connection)
