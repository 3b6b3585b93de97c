"""Per-process token buckets and replay guard."""

from __future__ import annotations

from datetime import datetime

from .._expiring import ExpiringMap
from .._ratelimit import RateDecision, TokenBucket
from .._settings import RateLimitSettings

__all__ = ["InMemoryRateLimiter", "InMemoryReplayGuard"]


class InMemoryRateLimiter:
    """Token buckets for one process (a shared back end replaces it for several)."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}

    async def acquire(
        self, company_id: str, settings: RateLimitSettings, now: datetime
    ) -> RateDecision:
        bucket = self._buckets.get(company_id) or TokenBucket.full(settings, now)
        bucket, decision = bucket.try_acquire(settings, now)
        self._buckets[company_id] = bucket
        return decision


class InMemoryReplayGuard:
    """Remembers accepted signatures until they could no longer verify anyway."""

    def __init__(self) -> None:
        self._seen: ExpiringMap[str, bool] = ExpiringMap()

    async def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        return self._seen.put_if_absent(key, True, expires_at, now) is None

    async def forget(self, key: str) -> None:
        self._seen.discard(key)
