"""What only the MongoDB store does: indexes made at start, secrets encrypted at rest, exact
instants, expiry laid on the wall clock for the TTL monitor, and transactions that survive a
refused duplicate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from alertwhisperer_adapters.bootstrap import ServerConfig, build_app_services
from alertwhisperer_adapters.mongo import MongoStore, open_mongo_store
from alertwhisperer_adapters.sql import SecretStorageError
from alertwhisperer_core import Conflict
from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.ports import DuplicateDelivery

from .conftest import service_url
from .contract._databases import mongo_database
from .contract.records import T0, alert, at, company

pytestmark = pytest.mark.mongo

KEY = "a-secret-key-of-enough-length-0123"


@pytest.fixture
def mongo_url() -> str:
    return service_url("AW_TEST_MONGO_URL")


@pytest.fixture
def database(mongo_url: str) -> Iterator[str]:
    with mongo_database(mongo_url) as name:
        yield name


@pytest.fixture
async def store(mongo_url: str, database: str) -> AsyncIterator[MongoStore]:
    opened = await open_mongo_store(mongo_url, secret_key=KEY, database=database)
    try:
        yield opened
    finally:
        await opened.close()


async def _index_specs(store: MongoStore, collection: str) -> dict[str, dict[str, Any]]:
    info = await store.db[collection].index_information()
    return {name: {k: v for k, v in spec.items() if k != "v"} for name, spec in info.items()}


async def test_opening_again_keeps_the_same_indexes(
    store: MongoStore, mongo_url: str, database: str
) -> None:
    before = {c: await _index_specs(store, c) for c in await store.db.list_collection_names()}
    again = await open_mongo_store(mongo_url, database=database)
    try:
        after = {c: await _index_specs(again, c) for c in await again.db.list_collection_names()}
    finally:
        await again.close()
    assert after == before


async def test_delivery_ids_are_unique_per_company_and_expire_by_ttl(store: MongoStore) -> None:
    specs = await _index_specs(store, "deliveries")
    assert specs["delivery"]["key"] == [("company_id", 1), ("delivery_id", 1)]
    assert specs["delivery"]["unique"] is True
    assert specs["purge_ttl"]["key"] == [("purge_at", 1)]
    assert specs["purge_ttl"]["expireAfterSeconds"] == 0


async def test_replay_guard_keys_expire_by_ttl(store: MongoStore) -> None:
    specs = await _index_specs(store, "replay_guard")
    assert specs["purge_ttl"]["expireAfterSeconds"] == 0


async def test_open_incidents_of_a_key_have_a_partial_index(store: MongoStore) -> None:
    spec = (await _index_specs(store, "incidents"))["open_by_key"]
    assert spec["key"][:2] == [("company_id", 1), ("key", 1)]
    assert spec["partialFilterExpression"] == {"is_open": True}


async def test_the_database_named_in_the_url_is_used(mongo_url: str, database: str) -> None:
    url = urlsplit(mongo_url)._replace(path=f"/{database}").geturl()
    opened = await open_mongo_store(url)
    try:
        assert opened.db.name == database
    finally:
        await opened.close()


async def test_ping_is_false_once_the_store_cannot_reach_the_server(
    mongo_url: str, database: str
) -> None:
    # A closed client stands in for an unreachable server: pymongo leaks a socket when a
    # client is closed while its monitor is still dialling a dead address.
    closed = await open_mongo_store(mongo_url, database=database)
    await closed.close()
    assert await closed.ping() is False


async def test_ping_is_true_when_the_server_answers(store: MongoStore) -> None:
    assert await store.ping() is True


# --- secrets ---------------------------------------------------------------------------------


async def _set_secrets(store: MongoStore, company_id: str, secrets: list[str]) -> None:
    async with store() as uow:
        await uow.companies.add(company(company_id))
        await uow.companies.set_hmac_secrets(company_id, secrets)
        await uow.commit()


async def test_hmac_secrets_are_stored_encrypted(store: MongoStore) -> None:
    await _set_secrets(store, "acme", ["plain-text-secret"])
    doc = await store.db["company_secrets"].find_one({"_id": "acme"})
    assert doc is not None
    assert set(doc) == {"_id", "ciphertext"}
    assert b"plain-text-secret" not in bytes(doc["ciphertext"])


async def test_storing_hmac_secrets_without_a_secret_key_is_refused(
    mongo_url: str, database: str
) -> None:
    keyless = await open_mongo_store(mongo_url, database=database)
    try:
        async with keyless() as uow:
            with pytest.raises(SecretStorageError, match="secret_key"):
                await uow.companies.set_hmac_secrets("acme", ["s"])
    finally:
        await keyless.close()


async def test_reading_hmac_secrets_needs_the_key_they_were_stored_with(
    store: MongoStore, mongo_url: str, database: str
) -> None:
    await _set_secrets(store, "acme", ["s3cret"])
    other = await open_mongo_store(
        mongo_url, secret_key="another-key-of-enough-length", database=database
    )
    try:
        async with other() as uow:
            with pytest.raises(SecretStorageError, match="secret key"):
                await uow.companies.hmac_secrets("acme")
    finally:
        await other.close()


async def test_a_second_company_with_the_same_api_key_hash_is_a_conflict(
    store: MongoStore,
) -> None:
    async with store() as uow:
        await uow.companies.add(company("acme", api_key_hash="sha256:same"))
        await uow.commit()
    async with store() as uow:
        with pytest.raises(Conflict):
            await uow.companies.add(company("globex", api_key_hash="sha256:same"))


async def test_companies_without_an_api_key_may_be_many(store: MongoStore) -> None:
    async with store() as uow:
        await uow.companies.add(company("acme", api_key_hash=""))
        await uow.companies.add(company("globex", api_key_hash=""))
        await uow.commit()
    async with store() as uow:
        assert len(await uow.companies.list()) == 2
        assert await uow.companies.by_api_key_hash("") is None


# --- instants --------------------------------------------------------------------------------


async def test_instants_are_stored_as_exact_microseconds(store: MongoStore) -> None:
    async with store() as uow:
        await uow.alerts.add(alert("a-1", event_time=at(0, micro=1)), None)
        await uow.commit()
    doc = await store.db["alerts"].find_one({"_id": "a-1"})
    assert doc is not None
    assert doc["event_time"] == (at(0, micro=1) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )


async def test_naive_datetimes_are_refused(store: MongoStore) -> None:
    async with store() as uow:
        await uow.alerts.add(alert("a-1", event_time=datetime(2026, 1, 1)), None)
        with pytest.raises(ValueError, match="naive"):
            await uow.commit()


# --- expiry ----------------------------------------------------------------------------------


def _record(first_seen_at: datetime, delivery_id: str = "d-1") -> DeliveryRecord:
    return DeliveryRecord(delivery_id=delivery_id, company_id="acme", alert_ids=("a-1",),
                          incident_ids=(), first_seen_at=first_seen_at)  # fmt: skip


async def test_a_delivery_from_a_past_clock_is_purged_only_after_its_lifetime(
    store: MongoStore,
) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    async with store() as uow:
        await uow.deliveries.add(_record(long_ago), long_ago + timedelta(hours=24))
        await uow.commit()
    doc = await store.db["deliveries"].find_one({"delivery_id": "d-1"})
    assert doc is not None
    lifetime = doc["purge_at"] - datetime.now(UTC)
    assert timedelta(hours=24) < lifetime <= timedelta(hours=25)


async def test_a_replay_key_from_a_past_clock_is_purged_only_after_its_lifetime(
    store: MongoStore,
) -> None:
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)
    assert await store.replay_guard().remember("sig", long_ago + timedelta(minutes=5), long_ago)
    doc = await store.db["replay_guard"].find_one({"_id": "sig"})
    assert doc is not None
    lifetime = doc["purge_at"] - datetime.now(UTC)
    assert timedelta(minutes=5) < lifetime <= timedelta(hours=1, minutes=5)


# --- transactions ----------------------------------------------------------------------------


async def test_a_refused_duplicate_delivery_leaves_the_transaction_usable(
    store: MongoStore,
) -> None:
    async with store() as uow:
        await uow.deliveries.add(_record(T0), T0 + timedelta(hours=1))
        with pytest.raises(DuplicateDelivery):
            await uow.deliveries.add(_record(T0), T0 + timedelta(hours=1))
        await uow.alerts.add(alert("a-1"), None)
        await uow.commit()
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", T0) == _record(T0)
        assert await uow.alerts.get("a-1") is not None


# --- the composition root --------------------------------------------------------------------


async def test_the_server_keeps_its_state_and_replay_guard_in_a_mongodb_url(
    store: MongoStore, mongo_url: str, database: str, tmp_path: Path
) -> None:
    url = urlsplit(mongo_url)._replace(path=f"/{database}").geturl()
    env = {"AW_DATABASE_URL": url, "AW_SECRET_KEY": KEY}
    app = build_app_services(ServerConfig.from_env(env, var_dir=tmp_path))
    assert app.startup is not None
    assert app.close is not None
    await app.startup()
    try:
        await app.ping()
        assert await app.services.replay_guard.remember("sig", at(5), at(0)) is True
        assert await app.services.replay_guard.remember("sig", at(5), at(1)) is False
        async with app.services.uow() as uow:
            await uow.companies.add(company("acme"))
            await uow.commit()
    finally:
        await app.close()
    assert await store.db["replay_guard"].count_documents({"_id": "sig"}) == 1
    async with store() as uow:
        assert await uow.companies.get("acme") == company("acme")
