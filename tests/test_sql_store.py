"""What only the SQL store does: URLs, secrets encrypted at rest, the database-level audit
guard, SQLite's connection settings, time zones, and the purge of expired delivery ids."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import exc, select, text

from alertwhisperer_adapters.sql import (
    SecretStorageError,
    SqlStore,
    normalize_database_url,
    open_sql_store,
)
from alertwhisperer_adapters.sql import _store as store_module
from alertwhisperer_adapters.sql._schema import company_secrets, deliveries
from alertwhisperer_core._idempotency import DeliveryRecord

from .conftest import service_url
from .contract._databases import postgres_schema
from .contract.records import T0, alert, audit_entry, company

KEY = "a-secret-key-of-enough-length-0123"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///var/aw.db", "sqlite+aiosqlite:///var/aw.db"),
        ("sqlite+pysqlite:////abs/aw.db", "sqlite+aiosqlite:////abs/aw.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgres://u@h/db?sslmode=require", "postgresql+psycopg://u@h/db?sslmode=require"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls_are_normalized_to_the_async_drivers(url: str, expected: str) -> None:
    assert normalize_database_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "mongodb://h/db", "oracle://h"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        normalize_database_url(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/aw.db"
        return
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL"), migrate=False) as url:
        yield url


@pytest.fixture
async def sql_store(database_url: str) -> AsyncIterator[SqlStore]:
    store = await open_sql_store(database_url, secret_key=KEY)
    try:
        yield store
    finally:
        await store.close()


async def _set_secrets(store: SqlStore, company_id: str, secrets: list[str]) -> None:
    async with store() as uow:
        await uow.companies.add(company(company_id))
        await uow.companies.set_hmac_secrets(company_id, secrets)
        await uow.commit()


async def _ciphertext(store: SqlStore, company_id: str) -> bytes:
    async with store() as uow:
        stmt = select(company_secrets.c.ciphertext).where(
            company_secrets.c.company_id == company_id
        )
        return bytes((await uow.execute(stmt)).scalar_one())


async def test_hmac_secrets_are_stored_encrypted(sql_store: SqlStore) -> None:
    await _set_secrets(sql_store, "acme", ["whsec-plain-text-secret"])
    blob = await _ciphertext(sql_store, "acme")
    assert b"whsec" not in blob
    assert b"plain" not in blob


async def test_storing_hmac_secrets_without_a_secret_key_is_refused(database_url: str) -> None:
    store = await open_sql_store(database_url)
    try:
        async with store() as uow:
            with pytest.raises(SecretStorageError, match="secret_key"):
                await uow.companies.set_hmac_secrets("acme", ["s"])
    finally:
        await store.close()


async def test_reading_hmac_secrets_needs_the_key_they_were_stored_with(
    database_url: str,
) -> None:
    first = await open_sql_store(database_url, secret_key=KEY)
    try:
        await _set_secrets(first, "acme", ["s"])
    finally:
        await first.close()
    for key in (None, "another-key-of-enough-length-999"):
        store = await open_sql_store(database_url, secret_key=key)
        try:
            async with store() as uow:
                with pytest.raises(SecretStorageError):
                    await uow.companies.hmac_secrets("acme")
        finally:
            await store.close()


async def test_a_secret_blob_moved_to_another_company_does_not_open(sql_store: SqlStore) -> None:
    await _set_secrets(sql_store, "acme", ["acme-secret"])
    await _set_secrets(sql_store, "evil", ["evil-secret"])
    stolen = await _ciphertext(sql_store, "acme")
    async with sql_store() as uow:
        await uow.execute(
            company_secrets.update()
            .where(company_secrets.c.company_id == "evil")
            .values(ciphertext=stolen)
        )
        with pytest.raises(SecretStorageError):
            await uow.companies.hmac_secrets("evil")


def test_a_short_secret_key_is_refused() -> None:
    from alertwhisperer_adapters.sql._crypto import SecretBox

    with pytest.raises(ValueError, match="16 bytes"):
        SecretBox("short")


@pytest.mark.parametrize(
    "statement", ["UPDATE audit SET action = 'rewritten'", "DELETE FROM audit"]
)
async def test_the_database_refuses_to_change_audit_entries(
    sql_store: SqlStore, statement: str
) -> None:
    async with sql_store() as uow:
        await uow.audit.append(audit_entry("e-1"))
        await uow.commit()
    async with sql_store() as uow:
        with pytest.raises(exc.DBAPIError, match="append-only"):
            await uow.execute(text(statement))


async def test_instants_come_back_as_the_same_instant_in_utc(sql_store: SqlStore) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 11, 26, 14, 0, 0, 500, tzinfo=paris)
    async with sql_store() as uow:
        await uow.alerts.add(alert("a-1", event_time=local), None)
        await uow.commit()
    async with sql_store() as uow:
        stored = await uow.alerts.get("a-1")
    assert stored is not None
    assert stored[0].event_time == local
    assert stored[0].event_time.tzinfo is UTC


async def test_naive_datetimes_are_refused(sql_store: SqlStore) -> None:
    async with sql_store() as uow:
        await uow.alerts.add(alert("a-1", event_time=datetime(2026, 1, 1)), None)
        with pytest.raises((ValueError, exc.StatementError), match="naive"):
            await uow.commit()


async def test_sqlite_connections_use_wal_foreign_keys_and_durable_commits(tmp_path: Path) -> None:
    store = await open_sql_store(f"sqlite:///{tmp_path}/aw.db")
    try:
        async with store() as uow:
            mode = (await uow.execute(text("PRAGMA journal_mode"))).scalar_one()
            keys = (await uow.execute(text("PRAGMA foreign_keys"))).scalar_one()
            synchronous = (await uow.execute(text("PRAGMA synchronous"))).scalar_one()
        durable_by_the_store = store.wal is not None
    finally:
        await store.close()
    # synchronous 1 is NORMAL: COMMIT does not sync; the store syncs the WAL itself and a
    # commit returns once that sync is done (see test_sql_durability.py).
    assert (mode, keys, synchronous, durable_by_the_store) == ("wal", 1, 1, True)


async def test_sqlite_synchronous_normal_leaves_commits_unsynced(tmp_path: Path) -> None:
    store = await open_sql_store(f"sqlite:///{tmp_path}/aw.db", sqlite_synchronous="NORMAL")
    try:
        async with store() as uow:
            synchronous = (await uow.execute(text("PRAGMA synchronous"))).scalar_one()
        assert (synchronous, store.wal) == (1, None)
    finally:
        await store.close()


async def _write_while_another_process_holds_the_lock(
    store: SqlStore, db: Path, hold_seconds: float
) -> tuple[int, BaseException | None]:
    """Ticks of the event loop while a unit of work waits for the lock, and its error."""
    import asyncio
    import sqlite3

    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    ticks = 0
    outcome: list[BaseException | None] = []

    async def write() -> None:
        try:
            async with store() as uow:
                await uow.companies.add(company("acme"))
                await uow.commit()
            outcome.append(None)
        except Exception as error:
            outcome.append(error)

    task = asyncio.create_task(write())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hold_seconds
    while loop.time() < deadline and not task.done():
        await asyncio.sleep(0.01)
        ticks += 1
    other.execute("ROLLBACK")
    other.close()
    await task
    return ticks, outcome[0]


async def test_sqlite_waits_for_another_process_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    db = tmp_path / "aw.db"
    store = await open_sql_store(f"sqlite:///{db}")
    try:
        ticks, error = await _write_while_another_process_holds_the_lock(store, db, 0.5)
        async with store() as uow:
            stored = await uow.companies.get("acme")
    finally:
        await store.close()
    assert error is None
    assert ticks >= 5  # a blocked event loop would not tick at all
    assert stored is not None


async def test_sqlite_gives_up_waiting_for_a_lock_after_its_limit(tmp_path: Path) -> None:
    db = tmp_path / "aw.db"
    store = await open_sql_store(f"sqlite:///{db}")
    store.sqlite_lock_wait = 0.05
    try:
        _, error = await _write_while_another_process_holds_the_lock(store, db, 0.5)
    finally:
        await store.close()
    assert isinstance(error, exc.OperationalError)


async def test_ping_is_false_when_the_database_is_unreachable() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    store = SqlStore(engine)
    try:
        assert await store.ping() is False
    finally:
        await store.close()


def _delivery(n: int, at: datetime) -> DeliveryRecord:
    return DeliveryRecord(delivery_id=f"d-{n}", company_id="acme", alert_ids=(),
                          incident_ids=(), first_seen_at=at)  # fmt: skip


async def _delivery_rows(store: SqlStore) -> int:
    async with store() as uow:
        return len((await uow.execute(select(deliveries.c.delivery_id))).all())


async def test_purge_deletes_only_expired_delivery_ids(sql_store: SqlStore) -> None:
    async with sql_store() as uow:
        await uow.deliveries.add(_delivery(1, T0), T0 + timedelta(hours=1))
        await uow.deliveries.add(_delivery(2, T0), T0 + timedelta(hours=3))
        await uow.commit()
    assert await sql_store.purge_expired(T0 + timedelta(hours=2)) == 1
    assert await _delivery_rows(sql_store) == 1


async def test_expired_delivery_ids_are_purged_as_deliveries_arrive(
    sql_store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "PURGE_EVERY", 3)
    for n in range(3):
        async with sql_store() as uow:
            at = T0 + timedelta(hours=n)
            await uow.deliveries.add(_delivery(n, at), at + timedelta(minutes=30))
            await uow.commit()
    assert await _delivery_rows(sql_store) == 1


async def test_sqlite_cached_reads_see_commits_of_another_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    mine, other = await open_sql_store(url), await open_sql_store(url)
    try:
        async with mine() as uow:
            await uow.companies.add(company("acme"))
            await uow.commit()
        async with mine() as uow:
            assert await uow.companies.by_api_key_hash("sha256:acme") is not None
        async with other() as uow:
            await uow.companies.update(company("acme", api_key_hash="sha256:rotated"))
            await uow.commit()
        async with mine() as uow:
            assert await uow.companies.by_api_key_hash("sha256:acme") is None
            assert await uow.companies.by_api_key_hash("sha256:rotated") is not None
    finally:
        await mine.close()
        await other.close()


async def test_an_in_memory_sqlite_store_is_migrated_and_usable() -> None:
    store = await open_sql_store("sqlite://")
    try:
        async with store() as uow:
            await uow.companies.add(company("acme"))
            await uow.commit()
        async with store() as uow:
            assert await uow.companies.get("acme") == company("acme")
    finally:
        await store.close()
