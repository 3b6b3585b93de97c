"""Fixtures of the Redis adapter tests: a real Redis, a key prefix of the test's own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from alertwhisperer_adapters.redis import RedisBackends, open_redis_backends

from ..conftest import service_url
from .support import private_redis, wipe


@pytest.fixture
def redis_url() -> str:
    return service_url("AW_TEST_REDIS_URL")


@pytest.fixture
def prefix() -> str:
    """Every key a test writes starts with this, so tests never see each other's keys."""
    return f"awtest:{uuid.uuid4().hex}:"


@pytest.fixture
async def backends(redis_url: str, prefix: str) -> AsyncIterator[RedisBackends]:
    opened = open_redis_backends(redis_url, prefix=prefix)
    try:
        yield opened
    finally:
        await opened.close()
        await wipe(redis_url, prefix)


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client, for looking at what the adapters stored."""
    client = aioredis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def disposable_redis() -> Iterator[str]:
    """The URL of a private ``redis-server`` on a free port (tests may kill it)."""
    with private_redis() as server:
        yield server.url
