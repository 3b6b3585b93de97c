"""The Lua token bucket: the core's arithmetic exactly, atomic across clients and processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_adapters.redis import RedisBackends, RedisRateLimiter, open_redis_backends
from alertwhisperer_core import UNITS_PER_TOKEN, RateLimitSettings, TokenBucket
from alertwhisperer_core.memory import InMemoryRateLimiter

from ..conftest import service_url
from .support import wipe

pytestmark = pytest.mark.redis

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
US = timedelta(microseconds=1)

settings_st = st.builds(
    RateLimitSettings,
    requests_per_minute=st.integers(1, 1000),
    burst=st.one_of(st.integers(1, 20), st.integers(1, 100_000)),
)
# Mostly forward steps of any size, sometimes backwards (another process's clock).
step_st = st.tuples(
    st.one_of(
        st.integers(0, 3_000_000),
        st.integers(0, 7_000_000_000),
        st.integers(-2_000_000, -1),
    ),
    st.integers(1, 5),
)
sequence_st = st.lists(st.tuples(settings_st, step_st), min_size=1, max_size=40)


def _agree(url: str, sequence: list[tuple[RateLimitSettings, tuple[int, int]]]) -> None:
    async def run() -> None:
        prefix = f"awtest:{uuid.uuid4().hex}:"
        backends = open_redis_backends(url, prefix=prefix)
        client = aioredis.Redis.from_url(url)
        try:
            bucket: TokenBucket | None = None
            now = T0
            for settings, (step_us, cost) in sequence:
                now += step_us * US
                cost = min(cost, settings.burst)
                bucket = bucket or TokenBucket.full(settings, now)
                bucket, expected = bucket.try_acquire(settings, now, cost)
                got = await backends.rate_limiter.acquire("co", settings, now, cost)
                assert got == expected
                units, updated = await client.hmget(backends.rate_limiter.key("co"), "u", "t")
                assert int(units) == round(bucket.tokens * UNITS_PER_TOKEN)
                assert int(updated) == (bucket.updated_at - datetime(1970, 1, 1, tzinfo=UTC)) // US
        finally:
            await client.delete(backends.rate_limiter.key("co"))  # the one key it wrote
            await client.aclose()
            await backends.close()

    asyncio.run(run())


@given(sequence=sequence_st)
def test_lua_bucket_agrees_with_the_core_bucket_step_for_step(
    sequence: list[tuple[RateLimitSettings, tuple[int, int]]],
) -> None:
    _agree(service_url("AW_TEST_REDIS_URL"), sequence)


def test_lua_bucket_agrees_on_the_largest_numbers() -> None:
    # Burst 100 000 at 1 rpm: 6e12 units, and a refill origin decades after the epoch.
    big = RateLimitSettings(requests_per_minute=1, burst=100_000)
    fast = RateLimitSettings(requests_per_minute=1000, burst=100_000)
    sequence = [(big, (0, 100_000)), (big, (1, 1)), (fast, (6_000_000_001, 99_999))]
    sequence += [(big, (10**12, 1)), (fast, (-1, 100_000)), (big, (59_999_999, 1))]
    _agree(service_url("AW_TEST_REDIS_URL"), sequence)


async def test_retry_after_counts_a_last_partial_microsecond_as_a_whole_second(
    backends: RedisBackends,
) -> None:
    # 7 rpm: after 571 428 µs the bucket holds 3 999 996 units; the missing 56 000 004 take
    # 8 000 000.57 µs, so the wait is 8 000 001 µs and Retry-After 9, not 8.
    settings = RateLimitSettings(requests_per_minute=7, burst=1)
    assert (await backends.rate_limiter.acquire("co", settings, T0)).allowed
    refused = await backends.rate_limiter.acquire("co", settings, T0 + 571_428 * US)
    _, expected = (
        TokenBucket.full(settings, T0)
        .try_acquire(settings, T0)[0]
        .try_acquire(settings, T0 + 571_428 * US)
    )
    assert refused == expected
    assert refused.retry_after_seconds == 9


async def test_acquire_agrees_with_the_in_memory_limiter(backends: RedisBackends) -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=3)
    memory = InMemoryRateLimiter()
    for offset_ms in (0, 0, 0, 0, 400, 999, 1000, 1001, 5000, 5000, 5000, 5000, 5000):
        now = T0 + timedelta(milliseconds=offset_ms)
        expected = await memory.acquire("co", settings, now)
        assert await backends.rate_limiter.acquire("co", settings, now) == expected


async def test_companies_have_separate_buckets(backends: RedisBackends) -> None:
    settings = RateLimitSettings(requests_per_minute=1, burst=1)
    assert (await backends.rate_limiter.acquire("a", settings, T0)).allowed
    assert not (await backends.rate_limiter.acquire("a", settings, T0)).allowed
    assert (await backends.rate_limiter.acquire("b", settings, T0)).allowed


async def test_an_idle_bucket_expires_once_it_would_be_full_again(
    backends: RedisBackends, raw: aioredis.Redis
) -> None:
    # 60 rpm, burst 100: empty to full takes 100 s; the key lives that long plus a margin.
    await backends.rate_limiter.acquire("co", RateLimitSettings(), T0)
    ttl_ms = await raw.pttl(backends.rate_limiter.key("co"))
    assert 100_000 < ttl_ms <= 160_000


async def test_a_cost_above_burst_is_refused(backends: RedisBackends) -> None:
    with pytest.raises(ValueError, match="cost"):
        await backends.rate_limiter.acquire("co", RateLimitSettings(burst=2), T0, cost=3)


async def test_concurrent_clients_never_exceed_burst_plus_refill(
    redis_url: str, prefix: str
) -> None:
    """Six clients (each its own connection) race for one bucket over simulated seconds."""
    settings = RateLimitSettings(requests_per_minute=600, burst=20)  # 10 tokens a second
    limiters = [open_redis_backends(redis_url, prefix=prefix) for _ in range(6)]
    try:

        async def hammer(limiter: RedisRateLimiter, second: int) -> int:
            now = T0 + timedelta(seconds=second)
            results = [await limiter.acquire("co", settings, now) for _ in range(15)]
            return sum(r.allowed for r in results)

        allowed = 0
        for second in range(4):
            counts = await asyncio.gather(*(hammer(b.rate_limiter, second) for b in limiters))
            allowed += sum(counts)
            # Never more than burst + rate x elapsed, at every instant of the run.
            assert allowed <= 20 + 10 * second
        # And exactly that much: every token was handed out once.
        assert allowed == 20 + 10 * 3
        assert all(b.rate_limiter.fallback_acquisitions == 0 for b in limiters)
    finally:
        for backends in limiters:
            await backends.close()
        await wipe(redis_url, prefix)


def _process_share(url: str, prefix: str, tries: int, start: object) -> int:
    async def run() -> int:
        backends = open_redis_backends(url, prefix=prefix)
        settings = RateLimitSettings(requests_per_minute=60, burst=25)
        try:
            start.wait()  # type: ignore[attr-defined]
            allowed = 0
            for _ in range(tries):
                decision = await backends.rate_limiter.acquire("co", settings, T0)
                allowed += decision.allowed
            return allowed
        finally:
            await backends.close()

    return asyncio.run(run())


def test_several_processes_share_one_bucket(redis_url: str, prefix: str) -> None:
    """Four OS processes, 20 tries each, at one instant: exactly the burst of 25 gets through."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(4) as pool:
            pending = pool.starmap_async(
                _process_share, [(redis_url, prefix, 20, start) for _ in range(4)]
            )
            start.set()
            shares = pending.get(timeout=120)
    asyncio.run(wipe(redis_url, prefix))
    assert sum(shares) == 25
    assert all(share <= 20 for share in shares)
