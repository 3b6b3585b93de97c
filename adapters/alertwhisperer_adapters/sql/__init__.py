"""SQL persistence: every store port on SQLAlchemy 2 (async) over SQLite or PostgreSQL.

SQLite (aiosqlite, WAL) is the embedded default; PostgreSQL (psycopg 3) is for several
processes sharing one database. Schema changes are Alembic migrations shipped in the package.
See ``docs/persistence.md``.
"""

from ._crypto import SecretStorageError
from ._migrate import upgrade_database
from ._store import (
    SchemaOutOfDate,
    SqlReplayGuard,
    SqlStore,
    normalize_database_url,
    open_sql_store,
)
from ._uow import SqlUnitOfWork

__all__ = [
    "SchemaOutOfDate",
    "SecretStorageError",
    "SqlReplayGuard",
    "SqlStore",
    "SqlUnitOfWork",
    "normalize_database_url",
    "open_sql_store",
    "upgrade_database",
]
