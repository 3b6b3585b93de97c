"""Per-company token bucket (SPEC §5.3): pure state in, new state and a decision out.

The bucket holds at most ``burst`` tokens and refills ``requests_per_minute / 60`` tokens per
second. Each webhook request costs one token; a request that finds too few is refused with a
``Retry-After`` that is exact to the microsecond the next token arrives, rounded up to whole
seconds.

Exact arithmetic (what a Redis Lua script must reproduce, step for step)
-----------------------------------------------------------------------
Everything is computed in integers so no property ever fails on float rounding:

* Time is integer microseconds since the Unix epoch.
* Token amounts are integer *units*, ``UNITS_PER_TOKEN = 60_000_000`` units per token (the
  microseconds in a minute). Refill is then exactly ``requests_per_minute`` units per elapsed
  microsecond, with no division.

One call with ``rpm``, ``burst``, ``now_us``, ``cost`` and stored ``units``, ``updated_us``::

    cap      = burst * UNITS_PER_TOKEN
    units    = min(units, cap)                     -- a lowered burst takes effect at once
    elapsed  = max(0, now_us - updated_us)         -- clock skew never mints tokens
    elapsed  = min(elapsed, ceil(cap / rpm))       -- more refill than cap is moot; keeps the
                                                      product below 2^53 for Lua doubles
    units    = min(cap, units + elapsed * rpm)
    updated  = max(updated_us, now_us)             -- never move the refill origin backwards
    need     = cost * UNITS_PER_TOKEN
    if units >= need:
        units = units - need ; allowed, remaining = floor(units / UNITS_PER_TOKEN), retry = 0
    else:
        wait_us = (updated - now_us) + ceil((need - units) / rpm)
        refused, remaining = floor(units / UNITS_PER_TOKEN), retry = ceil(wait_us / 1_000_000)
    store units, updated

A Redis script should store ``units`` itself (an integer below 2^53: at most
100_000 * 60_000_000 = 6e12). :class:`TokenBucket` exposes ``tokens = units / UNITS_PER_TOKEN``
as a float because that is what people read; ``round(tokens * UNITS_PER_TOKEN)`` recovers
``units`` exactly, since the two roundings err by less than 2e-3 units for any amount that
fits the cap.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import attrs

from ._settings import RateLimitSettings

__all__ = [
    "UNITS_PER_TOKEN",
    "RateDecision",
    "TokenBucket",
    "rate_limit_headers",
    "rate_limited_body",
    "throttle_status",
]

UNITS_PER_TOKEN = 60_000_000
"""Integer units per token: refill is then exactly ``requests_per_minute`` units per µs."""

_MICROSECOND = timedelta(microseconds=1)
_US_PER_SECOND = 1_000_000

# Senders that retry only on 5xx and drop a delivery answered 4xx (SPEC §5.3).
_DROPS_ON_4XX = frozenset({"alertmanager", "datadog"})


def _check_tokens(_inst: object, _attr: attrs.Attribute[Any], value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"tokens must be a finite number >= 0, got {value!r}")


def _check_aware(_inst: object, _attr: attrs.Attribute[Any], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("updated_at must be a timezone-aware datetime")


@attrs.frozen
class RateDecision:
    """The outcome of one acquisition.

    ``remaining`` is the whole tokens left after it; ``retry_after_seconds`` is 0 when allowed,
    else the whole seconds (rounded up) after which the same request will be allowed.
    """

    allowed: bool
    remaining: int
    retry_after_seconds: int


@attrs.frozen
class TokenBucket:
    """One company's bucket: the tokens held at ``updated_at``.

    Immutable: :meth:`try_acquire` returns the next state, which the caller stores (in memory,
    or in Redis by the script described in the module docstring).
    """

    tokens: float = attrs.field(validator=_check_tokens)
    updated_at: datetime = attrs.field(validator=_check_aware)

    @classmethod
    def full(cls, settings: RateLimitSettings, now: datetime) -> TokenBucket:
        """A bucket holding ``burst`` tokens at ``now`` (a company's first request)."""
        return cls(tokens=float(settings.burst), updated_at=now)

    def try_acquire(
        self, settings: RateLimitSettings, now: datetime, cost: int = 1
    ) -> tuple[TokenBucket, RateDecision]:
        """Refill up to ``now`` and take ``cost`` tokens if there are enough.

        Settings are read on every call, so a changed rate or a lowered burst applies to the
        next request. A ``now`` earlier than ``updated_at`` (clocks of several processes
        disagree) refills nothing and leaves ``updated_at`` where it was.

        Raises ``ValueError`` when ``cost`` is below 1 or above ``burst``: such a request
        could never be allowed, and a retry hint for it would be a lie.
        """
        rpm = settings.requests_per_minute
        cap = settings.burst * UNITS_PER_TOKEN
        if not 1 <= cost <= settings.burst:
            raise ValueError(f"cost must be between 1 and burst ({settings.burst}), got {cost}")
        units = min(round(self.tokens * UNITS_PER_TOKEN), cap)
        skew_us = (self.updated_at - now) // _MICROSECOND
        if skew_us < 0:
            elapsed_us = min(-skew_us, -(-cap // rpm))
            units = min(cap, units + elapsed_us * rpm)
            updated_at = now
            skew_us = 0
        else:
            updated_at = self.updated_at
        need = cost * UNITS_PER_TOKEN
        if units >= need:
            units -= need
            decision = RateDecision(True, units // UNITS_PER_TOKEN, 0)
        else:
            wait_us = skew_us + -(-(need - units) // rpm)
            retry_after = -(-wait_us // _US_PER_SECOND)
            decision = RateDecision(False, units // UNITS_PER_TOKEN, retry_after)
        return TokenBucket(tokens=units / UNITS_PER_TOKEN, updated_at=updated_at), decision


def throttle_status(sender: str | None) -> int:
    """The status for a throttled request: 503 for senders that drop 4xx answers, else 429.

    ``sender`` is the detected source name (``alertmanager``, ``datadog``, ...), any case.
    """
    if sender is not None and sender.lower() in _DROPS_ON_4XX:
        return 503
    return 429


def rate_limit_headers(settings: RateLimitSettings, decision: RateDecision) -> dict[str, str]:
    """The ``X-RateLimit-*`` headers of every webhook answer, plus ``Retry-After`` if refused."""
    headers = {
        "X-RateLimit-Limit": str(settings.requests_per_minute),
        "X-RateLimit-Burst": str(settings.burst),
        "X-RateLimit-Remaining": str(decision.remaining),
    }
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after_seconds)
    return headers


def rate_limited_body(decision: RateDecision) -> dict[str, object]:
    """The JSON body of a throttled answer (the same for 429 and 503)."""
    return {
        "detail": "Rate limit exceeded",
        "retry_after_seconds": decision.retry_after_seconds,
        "backoff_policy": "token bucket",
    }
