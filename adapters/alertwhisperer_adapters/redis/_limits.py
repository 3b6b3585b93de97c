"""Token buckets, the HMAC replay guard and delivery ids in Redis, shared by every process.

The token bucket is one Lua script per acquisition (atomic: no two processes can spend the same
token) that reproduces :mod:`alertwhisperer_core._ratelimit` step for step in integers, so a
company is limited exactly as one process would limit it. ``now`` is the caller's clock, as for
the in-process bucket. With several hosts their clocks must agree (NTP): a host whose clock is
behind refills nothing until it catches up and a host ahead moves the refill origin forward,
so skew never mints tokens, but it can lengthen the ``Retry-After`` others compute by the skew.

When Redis cannot answer, rate limiting falls back to a token bucket in this process (each
process then allows up to the full rate: degraded, reported by ``/readyz``), while the replay
guard and the delivery-id check fail closed with
:class:`~alertwhisperer_core.errors.ServiceUnavailable` (503, which every sender retries).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from alertwhisperer_core import (
    UNITS_PER_TOKEN,
    DeliveryRecord,
    RateDecision,
    RateLimitSettings,
    ServiceUnavailable,
    delivery_key,
)
from alertwhisperer_core.memory import InMemoryRateLimiter
from alertwhisperer_core.ports import RateLimiter

from ._connection import REDIS_ERRORS, RedisConnection

__all__ = [
    "BUCKET_SCRIPT",
    "RedisDeliveryCache",
    "RedisRateLimiter",
    "RedisReplayGuard",
    "epoch_microseconds",
]

logger = logging.getLogger("alertwhisperer.redis")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# An idle bucket is full again after ceil(cap / rpm) µs, and a full bucket is exactly what a
# missing key means, so it may expire then; the margin covers a rate lowered in between.
_IDLE_MARGIN_MS = 60_000
_UNAVAILABLE = "Shared state unavailable (Redis): please retry"

# KEYS[1] bucket hash {u: units, t: updated µs}; ARGV rpm, burst, now_us, cost, ttl_ms.
# Returns {allowed 0|1, remaining whole tokens, retry_after seconds}. Lua numbers are doubles:
# every value here is an integer below 2^53 (module docstring of _ratelimit), and each
# division is corrected to the exact integer quotient rather than trusted to round right.
BUCKET_SCRIPT = """
local UNITS = 60000000
local function fdiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function cdiv(a, b) return -fdiv(-a, b) end
local rpm = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local cap = burst * UNITS
local stored = redis.call('HMGET', KEYS[1], 'u', 't')
local units, updated
if stored[1] then
  units = math.min(tonumber(stored[1]), cap)
  updated = tonumber(stored[2])
else
  units = cap
  updated = now
end
local skew = updated - now
if skew < 0 then
  local elapsed = math.min(-skew, cdiv(cap, rpm))
  units = math.min(cap, units + elapsed * rpm)
  updated = now
  skew = 0
end
local need = cost * UNITS
local allowed, retry = 0, 0
if units >= need then
  units = units - need
  allowed = 1
else
  retry = cdiv(skew + cdiv(need - units, rpm), 1000000)
end
redis.call('HSET', KEYS[1], 'u', string.format('%.0f', units), 't', string.format('%.0f', updated))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, fdiv(units, UNITS), retry}
"""


def epoch_microseconds(at: datetime) -> int:
    """``at`` as integer microseconds since the Unix epoch (what the bucket script takes)."""
    return (at - _EPOCH) // _MICROSECOND


def _ttl_ms(expires_at: datetime, now: datetime) -> int:
    return max(1, math.ceil((expires_at - now) / timedelta(milliseconds=1)))


class RedisRateLimiter:
    """Token buckets per company in Redis, with a per-process fallback while it is down.

    ``on_fallback`` is called for every acquisition answered by the fallback (a metric).
    """

    def __init__(
        self,
        connection: RedisConnection,
        *,
        fallback: RateLimiter | None = None,
        on_fallback: Callable[[], None] | None = None,
    ) -> None:
        self._redis = connection
        self._fallback = fallback or InMemoryRateLimiter()
        self._on_fallback = on_fallback
        self.fallback_acquisitions = 0

    def key(self, company_id: str) -> str:
        return self._redis.key("ratelimit", company_id)

    async def acquire(
        self, company_id: str, settings: RateLimitSettings, now: datetime, cost: int = 1
    ) -> RateDecision:
        if not 1 <= cost <= settings.burst:
            raise ValueError(f"cost must be between 1 and burst ({settings.burst}), got {cost}")
        health = self._redis.health
        if health.worth_trying():
            rpm, burst = settings.requests_per_minute, settings.burst
            full_us = -(-burst * UNITS_PER_TOKEN // rpm)
            try:
                allowed, remaining, retry = await self._redis.script(BUCKET_SCRIPT)(
                    keys=[self.key(company_id)],
                    args=[
                        rpm,
                        burst,
                        epoch_microseconds(now),
                        cost,
                        full_us // 1000 + _IDLE_MARGIN_MS,
                    ],
                )
            except REDIS_ERRORS as exc:
                health.failed(exc)
            else:
                health.succeeded()
                return RateDecision(bool(allowed), int(remaining), int(retry))
        self.fallback_acquisitions += 1
        if self._on_fallback is not None:
            self._on_fallback()
        return await self._fallback.acquire(company_id, settings, now)


class RedisReplayGuard:
    """Accepted signatures (``SET NX PX``) until they could no longer verify; fails closed."""

    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection

    def key(self, replay_key: str) -> str:
        return self._redis.key("replay", replay_key)

    async def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        health = self._redis.health
        if not health.worth_trying():
            raise ServiceUnavailable(_UNAVAILABLE)
        try:
            stored = await self._redis.client().set(
                self.key(key), b"1", nx=True, px=_ttl_ms(expires_at, now)
            )
        except REDIS_ERRORS as exc:
            health.failed(exc)
            raise ServiceUnavailable(_UNAVAILABLE) from None
        health.succeeded()
        return bool(stored)

    async def forget(self, key: str) -> None:
        try:
            await self._redis.client().delete(self.key(key))
        except REDIS_ERRORS as exc:
            # The signature stays remembered: a retry with it is refused as a replay, a
            # re-signed retry (new timestamp) is not.
            self._redis.health.failed(exc)
            raise ServiceUnavailable(_UNAVAILABLE) from None


class _CachedDelivery(msgspec.Struct, frozen=True, array_like=True):
    alert_ids: tuple[str, ...]
    incident_ids: tuple[str, ...]
    first_seen_at: datetime


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_CachedDelivery).decode


class RedisDeliveryCache:
    """Committed deliveries for 24 h, in front of the store's record (the authority).

    A lookup that cannot reach Redis fails closed (503); remembering a committed delivery is
    best effort (logged): the store holds it, so a repeat is still answered as a duplicate.
    """

    def __init__(self, connection: RedisConnection) -> None:
        self._redis = connection

    def key(self, company_id: str, delivery_id: str) -> str:
        return self._redis.prefix + delivery_key(company_id, delivery_id)

    async def get(self, company_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        key = self.key(company_id, delivery_id)
        health = self._redis.health
        if not health.worth_trying():
            raise ServiceUnavailable(_UNAVAILABLE)
        try:
            raw = await self._redis.client().get(key)
        except REDIS_ERRORS as exc:
            health.failed(exc)
            raise ServiceUnavailable(_UNAVAILABLE) from None
        health.succeeded()
        if raw is None:
            return None
        cached = _decode(raw)
        record = DeliveryRecord(
            delivery_id=delivery_id,
            company_id=company_id,
            alert_ids=cached.alert_ids,
            incident_ids=cached.incident_ids,
            first_seen_at=cached.first_seen_at,
        )
        # Redis expires by its own clock; the caller's clock decides, as the store's does.
        return record if record.expires_at > now else None

    async def put(self, record: DeliveryRecord, expires_at: datetime, now: datetime) -> None:
        value = _encode(
            _CachedDelivery(record.alert_ids, record.incident_ids, record.first_seen_at)
        )
        try:
            await self._redis.client().set(
                self.key(record.company_id, record.delivery_id),
                value,
                nx=True,
                px=_ttl_ms(expires_at, now),
            )
        except REDIS_ERRORS as exc:
            self._redis.health.failed(exc)
            logger.warning(
                "delivery id not cached in Redis (%s); the store has it", type(exc).__name__
            )
        else:
            self._redis.health.succeeded()
