"""Presence in Redis: per company across processes, MSP admins everywhere, expiry."""

from __future__ import annotations

import asyncio

import pytest

from alertwhisperer_adapters.redis import RedisBackends, RedisConnection, RedisPresence

pytestmark = pytest.mark.redis


async def test_a_connection_is_online_in_its_companies_only(backends: RedisBackends) -> None:
    presence = backends.presence
    await presence.join("conn-1", "alice", ["co-a"])
    await presence.join("conn-2", "bob", ["co-a", "co-b"])
    assert await presence.online("co-a") == {"alice", "bob"}
    assert await presence.online("co-b") == {"bob"}
    assert await presence.online("co-c") == set()


async def test_msp_admins_are_online_in_every_company(backends: RedisBackends) -> None:
    await backends.presence.join("conn-1", "msp", ["*"])
    assert await backends.presence.online("co-a") == {"msp"}
    assert await backends.presence.online("co-z") == {"msp"}


async def test_leave_removes_only_that_connection(backends: RedisBackends) -> None:
    presence = backends.presence
    await presence.join("conn-1", "alice", ["co-a"])
    await presence.join("conn-2", "alice", ["co-a"])
    await presence.leave("conn-1")
    assert await presence.online("co-a") == {"alice"}
    await presence.leave("conn-2")
    assert await presence.online("co-a") == set()
    await presence.leave("never-joined")


async def test_presence_is_shared_by_processes(redis_url: str, prefix: str) -> None:
    one, two = RedisConnection(redis_url, prefix=prefix), RedisConnection(redis_url, prefix=prefix)
    try:
        await RedisPresence(one).join("conn-1", "alice", ["co-a"])
        assert await RedisPresence(two).online("co-a") == {"alice"}
    finally:
        await one.close()
        await two.close()


async def test_a_connection_that_stops_refreshing_drops_out(redis_url: str, prefix: str) -> None:
    connection = RedisConnection(redis_url, prefix=prefix)
    presence = RedisPresence(connection, ttl=0.6)
    try:
        await presence.join("dead", "ghost", ["co-a"])
        await presence.join("live", "alice", ["co-a"])
        for _ in range(4):
            await asyncio.sleep(0.3)
            await presence.refresh("live")
        # 1.2 s after joining: the refreshed connection stays, the silent one is gone.
        assert await presence.online("co-a") == {"alice"}
        # A connection still alive whose heartbeat came late is simply present again.
        await presence.refresh("dead")
        assert await presence.online("co-a") == {"alice", "ghost"}
    finally:
        await connection.close()


def test_a_non_positive_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl"):
        RedisPresence(RedisConnection("redis://127.0.0.1:1/0"), ttl=0)
