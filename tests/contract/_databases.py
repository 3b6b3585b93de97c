"""Throwaway SQL databases for tests: a PostgreSQL schema of our own, a migrated SQLite file.

PostgreSQL tests never touch anything but a schema they create (named ``aw_test_<random>``)
and drop afterwards; every connection reaches it through ``search_path``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["mongo_database", "postgres_schema", "truncate_postgres", "url_with_schema"]


def url_with_schema(base_url: str, schema: str) -> str:
    """``base_url`` with ``search_path`` set to ``schema`` on every connection."""
    from sqlalchemy.engine import make_url

    parsed = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


def _plain(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def postgres_schema(base_url: str, *, migrate: bool = True) -> Iterator[str]:
    """A fresh schema (migrated to head unless ``migrate`` is false); yields its URL."""
    import psycopg
    from psycopg import sql

    from alertwhisperer_adapters.sql import upgrade_database

    schema = f"aw_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(base_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = url_with_schema(base_url, schema)
    try:
        if migrate:
            upgrade_database(url)
        yield url
    finally:
        with psycopg.connect(_plain(base_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def truncate_postgres(url: str) -> None:
    """Empty every table of the schema in ``url`` (the audit trigger is lifted for it only)."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    options = parsed.query.get("options", "")
    schema = str(options).split("search_path=", 1)[1]
    with psycopg.connect(_plain(url)) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND tablename <> 'alembic_version'",
                (schema,),
            )
        ]
        # DELETE beats TRUNCATE on tables this small; the trigger is lifted in this transaction.
        audit = sql.Identifier(schema, "audit")
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER audit_append_only").format(audit))
        for table in tables:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, table)))
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER audit_append_only").format(audit))
        conn.commit()


@contextmanager
def mongo_database(url: str) -> Iterator[str]:
    """The name of a MongoDB database of our own (``aw_test_<random>``), dropped afterwards."""
    from pymongo import MongoClient

    name = f"aw_test_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        client: MongoClient[dict[str, object]] = MongoClient(url)
        with client:
            client.drop_database(name)
