"""Redis going away and coming back: the limiter falls back, the gate fails closed, recovers."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from alertwhisperer_adapters.redis import open_redis_backends
from alertwhisperer_core import DeliveryRecord, RateLimitSettings, ServiceUnavailable
from alertwhisperer_core.ports import Event

from .support import private_redis, restart

pytestmark = pytest.mark.redis

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LIMITS = RateLimitSettings(requests_per_minute=60, burst=2)


async def test_outage_then_recovery(caplog: pytest.LogCaptureFixture) -> None:
    fallbacks: list[int] = []
    with private_redis() as server:
        backends = open_redis_backends(
            server.url, retry_interval=0.0, on_fallback=lambda: fallbacks.append(1)
        )
        try:
            assert (await backends.rate_limiter.acquire("co", LIMITS, T0)).remaining == 1
            subscription = backends.feed.subscribe()
            await asyncio.sleep(0.2)

            server.stop()
            with caplog.at_level(logging.WARNING, logger="alertwhisperer.redis"):
                # Rate limiting goes on, per process: a fresh bucket of this process.
                decisions = [
                    await backends.rate_limiter.acquire("co", LIMITS, T0) for _ in range(3)
                ]
                assert [d.allowed for d in decisions] == [True, True, False]
                assert backends.rate_limiter.fallback_acquisitions == 3 == len(fallbacks)
                with pytest.raises(ServiceUnavailable):
                    await backends.replay_guard.remember("sig", T0 + timedelta(minutes=5), T0)
                with pytest.raises(ServiceUnavailable):
                    await backends.deliveries.get("co", "d-1", T0)
                with pytest.raises(ConnectionError):
                    await backends.ping()
                with pytest.raises(ConnectionError):
                    await backends.presence.online("co")
                await backends.feed.publish(Event("x", "co", {}, T0))  # dropped, not raised
                assert backends.feed.dropped == 1
            # One warning for the outage, not one per request.
            outage = [r for r in caplog.records if "unreachable" in r.getMessage()]
            assert len(outage) == 1
            assert not backends.health.up
            # The live subscription ended (its client catches up on reconnecting).
            assert await asyncio.wait_for(_drain(subscription), 20) == []

            restart(server)
            await backends.ping()
            assert backends.health.up
            assert (await backends.rate_limiter.acquire("co", LIMITS, T0)).allowed
            assert backends.rate_limiter.fallback_acquisitions == 3
            assert await backends.replay_guard.remember("sig", T0 + timedelta(minutes=5), T0)
            record = DeliveryRecord("d-1", "co", ("a",), ("i",), T0)
            await backends.deliveries.put(record, record.expires_at, T0)
            assert await backends.deliveries.get("co", "d-1", T0) == record
        finally:
            await backends.close()


async def _drain(subscription: object) -> list[object]:
    return [entry async for entry in subscription]  # type: ignore[attr-defined]


async def test_after_a_failure_redis_is_skipped_until_the_retry_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with private_redis() as server:
        backends = open_redis_backends(server.url, retry_interval=3600.0)
        try:
            assert (await backends.rate_limiter.acquire("co", LIMITS, T0)).allowed
            server.stop()
            await backends.rate_limiter.acquire("co", LIMITS, T0)
            restart(server)
            # Redis is back, but the breaker is open: no connection attempt per request.
            await backends.rate_limiter.acquire("co", LIMITS, T0)
            assert backends.health.failures == 1
            assert backends.rate_limiter.fallback_acquisitions == 2
            with pytest.raises(ServiceUnavailable):
                await backends.replay_guard.remember("sig", T0 + timedelta(minutes=5), T0)
            # A readiness probe does try, and closes the breaker when Redis answers.
            await backends.ping()
            assert await backends.replay_guard.remember("sig", T0 + timedelta(minutes=5), T0)
        finally:
            await backends.close()
