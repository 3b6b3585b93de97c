"""Redis: the state several server processes must share exactly (SPEC §12).

Token buckets (one atomic Lua script per request), the HMAC replay guard (``SET NX PX``),
delivery ids for 24 h in front of the store's record, real-time events (a Redis Stream every
process reads) and presence. Configured by ``AW_REDIS_URL``; :func:`open_redis_backends` is
what the composition root calls. Nothing connects until the server's event loop first needs
Redis, so each uvicorn worker opens its own connections on its own loop.

When Redis is down: rate limiting falls back to this process's buckets; the replay guard and
the delivery-id check fail closed (503, senders retry); events are dropped (logged) and live
WebSocket subscriptions end so clients catch up; ``/readyz`` answers 503 naming Redis.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from ._connection import REDIS_ERRORS, Health, RedisConnection
from ._limits import (
    BUCKET_SCRIPT,
    RedisDeliveryCache,
    RedisRateLimiter,
    RedisReplayGuard,
    epoch_microseconds,
)
from ._presence import RedisPresence
from ._stream import RedisEventFeed, RedisFeedSubscription, decode_event, encode_event

__all__ = [
    "BUCKET_SCRIPT",
    "REDIS_ERRORS",
    "Health",
    "RedisBackends",
    "RedisConnection",
    "RedisDeliveryCache",
    "RedisEventFeed",
    "RedisFeedSubscription",
    "RedisPresence",
    "RedisRateLimiter",
    "RedisReplayGuard",
    "decode_event",
    "encode_event",
    "epoch_microseconds",
    "open_redis_backends",
]


@attrs.frozen
class RedisBackends:
    """Every Redis adapter over one connection (and one health record)."""

    connection: RedisConnection
    rate_limiter: RedisRateLimiter
    replay_guard: RedisReplayGuard
    deliveries: RedisDeliveryCache
    feed: RedisEventFeed
    presence: RedisPresence

    @property
    def health(self) -> Health:
        return self.connection.health

    async def ping(self) -> None:
        """Raise ``ConnectionError`` unless Redis answers (``/readyz``)."""
        await self.connection.ping()

    async def start(self) -> None:
        """At server start, on the server's loop: begin following the event stream."""
        await self.feed.start()

    async def close(self) -> None:
        await self.feed.close()
        await self.connection.close()


def open_redis_backends(
    url: str,
    *,
    prefix: str = "aw:",
    on_fallback: Callable[[], None] | None = None,
    retry_interval: float = 1.0,
    stream_maxlen: int = 10_000,
    presence_ttl: float = 60.0,
) -> RedisBackends:
    """The Redis adapters for ``url`` (nothing connects yet). ``prefix`` starts every key, so
    several deployments (or tests) can share one Redis; ``on_fallback`` is called for each
    request the rate limiter answers from its per-process fallback."""
    connection = RedisConnection(url, prefix=prefix, retry_interval=retry_interval)
    return RedisBackends(
        connection=connection,
        rate_limiter=RedisRateLimiter(connection, on_fallback=on_fallback),
        replay_guard=RedisReplayGuard(connection),
        deliveries=RedisDeliveryCache(connection),
        feed=RedisEventFeed(connection, maxlen=stream_maxlen),
        presence=RedisPresence(connection, ttl=presence_ttl),
    )
