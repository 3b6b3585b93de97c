"""A lost PostgreSQL connection is a retryable ``DatabaseUnavailable`` (503), nothing else is.

The end-to-end behaviour (503 while PostgreSQL is down, service resuming by itself) is in
``test_faults.py``; this pins the classification and the store's recovery without a server.
"""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors

from alertwhisperer_adapters.sql import open_sql_store
from alertwhisperer_adapters.sql._uow import DatabaseUnavailable, translate
from alertwhisperer_core.ports import TransientConflict

from ..support.private_services import private_postgres


@pytest.mark.parametrize(
    "error",
    [
        psycopg.OperationalError("consuming input failed: server closed the connection"),
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CrashShutdown("terminating connection because of crash of another process"),
        errors.CannotConnectNow("the database system is starting up"),
        errors.ConnectionFailure("connection failure"),
    ],
)
def test_lost_connections_are_database_unavailable(error: Exception) -> None:
    translated = translate(error, "SELECT 1", None)
    assert isinstance(translated, DatabaseUnavailable)
    assert isinstance(translated, TransientConflict)  # the use case retries, HTTP says 503


@pytest.mark.parametrize(
    "error",
    [
        errors.UniqueViolation("duplicate key"),
        errors.QueryCanceled("canceling statement due to statement timeout"),
        errors.UndefinedTable("relation does not exist"),
        sqlite3.OperationalError("database is locked"),
        sqlite3.OperationalError("disk I/O error"),
    ],
)
def test_other_driver_errors_are_not(error: Exception) -> None:
    assert not isinstance(translate(error, "SELECT 1", None), DatabaseUnavailable)


@pytest.mark.postgres
@pytest.mark.slow
async def test_a_store_recovers_by_itself_after_postgres_restarts() -> None:
    with private_postgres() as cluster:
        store = await open_sql_store(cluster.url)
        try:
            async with store() as uow:
                assert await uow.companies.get("nobody") is None
            cluster.stop("immediate")
            for _ in range(3):  # refused while down, and the pooled connection is gone
                with pytest.raises(DatabaseUnavailable):
                    async with store() as uow:
                        await uow.companies.get("nobody")
            cluster.start()
            async with store() as uow:
                assert await uow.companies.get("nobody") is None
        finally:
            await store.close()
