"""Alembic migrations: an empty database reaches head on SQLite and PostgreSQL, the migrated
schema is exactly the one the adapter's tables declare, and servers migrate an empty database
by themselves but never silently change a database at another revision."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from alertwhisperer_adapters.sql import SchemaOutOfDate, open_sql_store, upgrade_database
from alertwhisperer_adapters.sql._migrate import _config, head_revision, sync_database_url
from alertwhisperer_adapters.sql._schema import metadata

from .conftest import service_url
from .contract._databases import postgres_schema

TABLES = {t.name for t in metadata.sorted_tables}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL"), migrate=False) as url:
        yield url


def _revision(url: str) -> str | None:
    engine = create_engine(sync_database_url(url))
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _schema_differences(url: str) -> list[object]:
    engine = create_engine(sync_database_url(url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(sync_database_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_takes_an_empty_database_to_head(empty_database: str) -> None:
    upgrade_database(empty_database)
    assert _revision(empty_database) == head_revision()
    assert _tables(empty_database) == TABLES


def test_migrated_schema_is_exactly_the_declared_one(empty_database: str) -> None:
    upgrade_database(empty_database)
    assert _schema_differences(empty_database) == []


def test_upgrading_twice_changes_nothing(empty_database: str) -> None:
    upgrade_database(empty_database)
    upgrade_database(empty_database)
    assert _revision(empty_database) == head_revision()


def test_downgrade_to_base_and_back_round_trips(empty_database: str) -> None:
    upgrade_database(empty_database)
    engine = create_engine(sync_database_url(empty_database))
    try:
        with engine.connect() as conn:
            command.downgrade(_config(conn), "base")
            conn.commit()
        assert _tables(empty_database) == set()
    finally:
        engine.dispose()
    upgrade_database(empty_database)
    assert _schema_differences(empty_database) == []


async def test_opening_an_empty_database_migrates_it(empty_database: str) -> None:
    store = await open_sql_store(empty_database)
    try:
        assert await store.ping()
    finally:
        await store.close()
    assert _revision(empty_database) == head_revision()


async def test_opening_without_upgrade_refuses_an_empty_database(empty_database: str) -> None:
    with pytest.raises(SchemaOutOfDate, match="db upgrade"):
        await open_sql_store(empty_database, upgrade=False)
    assert _tables(empty_database) == set()


async def test_opening_refuses_a_database_at_another_revision(empty_database: str) -> None:
    upgrade_database(empty_database)
    engine = create_engine(sync_database_url(empty_database))
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    finally:
        engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="from-the-future"):
        await open_sql_store(empty_database)


def test_sqlite_database_directory_is_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/nested/aw.db"
    upgrade_database(url)
    assert (tmp_path / "var" / "nested" / "aw.db").is_file()


@pytest.mark.postgres
def test_concurrent_upgrades_of_one_postgres_database_migrate_it_once() -> None:
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL"), migrate=False) as url:
        errors: list[BaseException] = []

        def upgrade() -> None:
            try:
                upgrade_database(url)
            except BaseException as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=upgrade) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert _revision(url) == head_revision()
