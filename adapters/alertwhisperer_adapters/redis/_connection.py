"""One Redis connection per event loop, made on first use, and the back end's health.

uvicorn workers each run their own event loop, and a redis-py asyncio connection belongs to the
loop that opened it, so nothing connects when the adapter is built (in the composition root):
the client is made the first time a request on the server's loop needs it.

The health record is a small circuit breaker: after a failure, the adapters skip Redis for
``retry_interval`` seconds (the rate limiter answers from its per-process fallback, the replay
guard and delivery ids refuse with a 503) instead of paying a connection attempt per request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

__all__ = ["REDIS_ERRORS", "Health", "RedisConnection"]

logger = logging.getLogger("alertwhisperer.redis")

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, asyncio.TimeoutError)
"""What a Redis call raises when the server is down, unreachable, slow or read-only."""

DEFAULT_PREFIX = "aw:"
DEFAULT_RETRY_INTERVAL = 1.0
SOCKET_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0


class Health:
    """Whether Redis answered last time, and when to try again after it did not.

    ``failures`` counts the calls that failed; ``down_since`` is the monotonic time of the
    first failure of the current outage (None while Redis answers).
    """

    def __init__(
        self, retry_interval: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.retry_interval = retry_interval
        self._monotonic = monotonic
        self.down_since: float | None = None
        self._retry_at = 0.0
        self.failures = 0
        self.last_error = ""

    @property
    def up(self) -> bool:
        return self.down_since is None

    def worth_trying(self) -> bool:
        """False during the pause after a failure: callers then skip Redis altogether."""
        return self.down_since is None or self._monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        """Record a failed call; the first of an outage is logged (once, not per request)."""
        self.failures += 1
        self.last_error = type(exc).__name__
        now = self._monotonic()
        self._retry_at = now + self.retry_interval
        if self.down_since is None:
            self.down_since = now
            logger.warning(
                "Redis is unreachable (%s): rate limiting falls back to this process, webhooks "
                "needing the replay guard or delivery ids are answered 503, real-time events "
                "are dropped",
                self.last_error,
            )

    def succeeded(self) -> None:
        if self.down_since is not None:
            logger.warning("Redis answers again after %.1f s", self._monotonic() - self.down_since)
            self.down_since = None


class RedisConnection:
    """The client of the current event loop, the key prefix and the shared :class:`Health`."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        socket_timeout: float = SOCKET_TIMEOUT,
    ) -> None:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("the Redis URL must start with redis://, rediss:// or unix://")
        self.url = url
        self.prefix = prefix
        self.socket_timeout = socket_timeout
        self.health = Health(retry_interval)
        self._clients: dict[asyncio.AbstractEventLoop, aioredis.Redis] = {}
        self._scripts: dict[tuple[int, str], AsyncScript] = {}

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def make_client(self, socket_timeout: float | None = None) -> aioredis.Redis:
        """A new client (own connection pool) on the running loop; the caller closes it."""
        client: aioredis.Redis = aioredis.Redis.from_url(
            self.url,
            socket_timeout=socket_timeout or self.socket_timeout,
            socket_connect_timeout=CONNECT_TIMEOUT,
            # One immediate retry replaces a pooled connection that died with a restart;
            # more would only stretch the time a request waits on a server that is down.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
            # CLIENT LIST then shows which server process holds which connection.
            client_name=f"alertwhisperer-{os.getpid()}",
        )
        return client

    def client(self) -> aioredis.Redis:
        """The client of the running event loop, made on first use."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = self._clients[loop] = self.make_client()
        return client

    def script(self, source: str) -> AsyncScript:
        """``source`` as a script of the current client (EVALSHA, loading it when needed)."""
        client = self.client()
        found = self._scripts.get((id(client), source))
        if found is None:
            found = self._scripts[(id(client), source)] = client.register_script(source)
        return found

    async def ping(self) -> None:
        """Raise unless Redis answers PING (``/readyz``); updates :attr:`health`."""
        try:
            await self.client().ping()
        except REDIS_ERRORS as exc:
            self.health.failed(exc)
            raise ConnectionError("Redis does not answer") from None
        self.health.succeeded()

    async def close(self) -> None:
        """Close the clients of the running loop (others belong to loops already gone)."""
        loop = asyncio.get_running_loop()
        for owner, client in list(self._clients.items()):
            if owner is loop:
                await client.aclose()
            del self._clients[owner]
        self._scripts.clear()
