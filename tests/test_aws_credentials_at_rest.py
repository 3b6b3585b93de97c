"""Companies' AWS credentials at rest (SQLite, PostgreSQL, MongoDB): sealed whole, with a key
of their own, bound to the company; nothing readable in the stored bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from alertwhisperer_adapters.sql._crypto import (
    SecretBox,
    SecretStorageError,
    open_aws_credentials,
    seal_aws_credentials,
)
from alertwhisperer_core import AwsCredentials

from .conftest import service_url
from .contract._databases import mongo_database, postgres_schema
from .contract.records import T0, company

KEY = "a-secret-key-of-enough-length-0123"
CREDENTIALS = AwsCredentials(
    region="eu-west-1",
    updated_at=T0,
    access_key_id="AKIAPLAINPLAINPLAIN7",
    secret_access_key="PlainSecretPlainSecretPlainSecretPlain00",
    session_token="PlainTokenPlainTokenPlainToken==",
)
READABLE = (b"AKIAPLAIN", b"PlainSecret", b"PlainToken", b"eu-west-1")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mongo", marks=pytest.mark.mongo),
    ]
)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'at-rest.db'}", None
    elif request.param == "postgres":
        with postgres_schema(service_url("AW_TEST_POSTGRES_URL")) as url:
            yield url, None
    else:
        url = service_url("AW_TEST_MONGO_URL")
        with mongo_database(url) as name:
            yield url, name


async def _open(database: tuple[str, str | None], key: str | None = KEY) -> Any:
    url, name = database
    if name is not None:
        from alertwhisperer_adapters.mongo import open_mongo_store

        return await open_mongo_store(url, secret_key=key, database=name)
    from alertwhisperer_adapters.sql import open_sql_store

    return await open_sql_store(url, secret_key=key)


@pytest.fixture
async def store(database: tuple[str, str | None]) -> AsyncIterator[Any]:
    opened = await _open(database)
    try:
        async with opened() as uow:
            for company_id in ("acme", "evil"):
                await uow.companies.add(company(company_id))
            await uow.companies.set_aws_credentials("acme", CREDENTIALS)
            await uow.commit()
        yield opened
    finally:
        await opened.close()


async def _blob(store: Any, company_id: str) -> bytes:
    if hasattr(store, "db"):  # MongoDB
        doc = await store.db["company_aws_credentials"].find_one({"_id": company_id})
        return bytes(doc["ciphertext"])
    from sqlalchemy import select

    from alertwhisperer_adapters.sql._schema import company_aws_credentials as table

    async with store() as uow:
        stmt = select(table.c.ciphertext).where(table.c.company_id == company_id)
        return bytes((await uow.execute(stmt)).scalar_one())


async def test_nothing_readable_is_stored(store: Any) -> None:
    blob = await _blob(store, "acme")
    assert not [part for part in READABLE if part in blob]
    async with store() as uow:
        assert await uow.companies.aws_credentials("acme") == CREDENTIALS


async def test_reading_them_needs_the_key_they_were_stored_with(
    store: Any, database: tuple[str, str | None]
) -> None:
    for key in (None, "another-key-of-enough-length-999"):
        other = await _open(database, key)
        try:
            async with other() as uow:
                with pytest.raises(SecretStorageError):
                    await uow.companies.aws_credentials("acme")
        finally:
            await other.close()


async def test_storing_them_without_a_secret_key_is_refused(
    store: Any, database: tuple[str, str | None]
) -> None:
    keyless = await _open(database, None)
    try:
        async with keyless() as uow:
            with pytest.raises(SecretStorageError, match="secret_key"):
                await uow.companies.set_aws_credentials("evil", CREDENTIALS)
    finally:
        await keyless.close()


def test_a_blob_moved_to_another_company_does_not_open() -> None:
    box = SecretBox(KEY)
    sealed = seal_aws_credentials(box, "acme", CREDENTIALS)
    assert open_aws_credentials(box, "acme", sealed) == CREDENTIALS
    with pytest.raises(SecretStorageError, match="AWS credentials"):
        open_aws_credentials(box, "evil", sealed)


def test_aws_credentials_and_hmac_secrets_use_different_keys() -> None:
    box = SecretBox(KEY)
    sealed = seal_aws_credentials(box, "acme", CREDENTIALS)
    with pytest.raises(SecretStorageError):
        box.open("acme", sealed)  # the HMAC key does not open it


def test_the_record_repr_hides_the_secrets() -> None:
    text = repr(CREDENTIALS)
    assert "AKIAPLAINPLAINPLAIN7" in text
    assert "PlainSecret" not in text
    assert "PlainToken" not in text
