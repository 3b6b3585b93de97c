"""The replay guard and delivery ids in Redis: shared by every client, expiring, fail closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from alertwhisperer_adapters.redis import RedisBackends, open_redis_backends
from alertwhisperer_core import DeliveryRecord, ServiceUnavailable

pytestmark = pytest.mark.redis

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _record(delivery_id: str = "d-1", company_id: str = "co", at: datetime = T0) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=delivery_id,
        company_id=company_id,
        alert_ids=("a-1", "a-2"),
        incident_ids=("i-1",),
        first_seen_at=at,
    )


async def test_a_signature_is_accepted_once_across_two_clients(redis_url: str, prefix: str) -> None:
    one = open_redis_backends(redis_url, prefix=prefix)
    two = open_redis_backends(redis_url, prefix=prefix)
    try:
        expires = T0 + timedelta(minutes=5)
        assert await one.replay_guard.remember("sha256=ab", expires, T0)
        assert not await two.replay_guard.remember("sha256=ab", expires, T0)
        assert not await one.replay_guard.remember("sha256=ab", expires, T0)
        assert await two.replay_guard.remember("sha256=cd", expires, T0)
    finally:
        await one.close()
        await two.close()


async def test_forget_lets_the_same_signature_in_again(backends: RedisBackends) -> None:
    expires = T0 + timedelta(minutes=5)
    assert await backends.replay_guard.remember("sig", expires, T0)
    await backends.replay_guard.forget("sig")
    assert await backends.replay_guard.remember("sig", expires, T0)


async def test_a_remembered_signature_expires_with_its_window(
    backends: RedisBackends, raw: aioredis.Redis
) -> None:
    await backends.replay_guard.remember("sig", T0 + timedelta(seconds=600), T0)
    ttl_ms = await raw.pttl(backends.replay_guard.key("sig"))
    assert 595_000 < ttl_ms <= 600_000


async def test_a_delivery_is_seen_by_another_client_and_expires_in_24_hours(
    redis_url: str, prefix: str, raw: aioredis.Redis
) -> None:
    one = open_redis_backends(redis_url, prefix=prefix)
    two = open_redis_backends(redis_url, prefix=prefix)
    try:
        record = _record()
        assert await two.deliveries.get("co", "d-1", T0) is None
        await one.deliveries.put(record, record.expires_at, T0)
        assert await two.deliveries.get("co", "d-1", T0) == record
        ttl_ms = await raw.pttl(one.deliveries.key("co", "d-1"))
        assert 24 * 3600_000 - 5_000 < ttl_ms <= 24 * 3600_000
    finally:
        await one.close()
        await two.close()


async def test_deliveries_are_per_company(backends: RedisBackends) -> None:
    record = _record(company_id="co-a")
    await backends.deliveries.put(record, record.expires_at, T0)
    assert await backends.deliveries.get("co-b", "d-1", T0) is None
    assert await backends.deliveries.get("co-a", "d-1", T0) == record


async def test_the_first_record_of_a_delivery_is_kept(backends: RedisBackends) -> None:
    first = _record()
    await backends.deliveries.put(first, first.expires_at, T0)
    later = DeliveryRecord("d-1", "co", ("other",), (), T0 + timedelta(minutes=1))
    await backends.deliveries.put(later, later.expires_at, later.first_seen_at)
    assert await backends.deliveries.get("co", "d-1", T0 + timedelta(minutes=2)) == first


async def test_a_record_older_than_the_window_by_the_callers_clock_is_not_a_duplicate(
    backends: RedisBackends,
) -> None:
    record = _record()
    await backends.deliveries.put(record, record.expires_at, T0)
    assert await backends.deliveries.get("co", "d-1", record.expires_at) is None


async def test_an_unreachable_redis_fails_closed() -> None:
    from ..support.servers import free_port

    down = open_redis_backends(f"redis://127.0.0.1:{free_port()}/0", retry_interval=0.0)
    try:
        with pytest.raises(ServiceUnavailable):
            await down.replay_guard.remember("sig", T0 + timedelta(minutes=5), T0)
        with pytest.raises(ServiceUnavailable):
            await down.replay_guard.forget("sig")
        with pytest.raises(ServiceUnavailable):
            await down.deliveries.get("co", "d-1", T0)
        # Remembering a committed delivery is best effort: the store has it.
        await down.deliveries.put(_record(), _record().expires_at, T0)
        assert not down.health.up
        assert down.health.failures == 4
    finally:
        await down.close()
