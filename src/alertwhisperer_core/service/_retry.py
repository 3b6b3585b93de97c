"""Running a unit of work again after it lost a race (:class:`TransientConflict`).

A store raises :class:`TransientConflict` when a transaction lost a race it can win on a retry
(a MongoDB write conflict, a PostgreSQL deadlock or serialization failure). Nothing was
committed, so the whole unit of work runs again, from its reads: a retry never writes what the
losing attempt computed from stale data.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..ports import TransientConflict

__all__ = ["CONFLICT_ATTEMPTS", "retry_conflicts"]

T = TypeVar("T")

CONFLICT_ATTEMPTS = 8


async def retry_conflicts(
    attempt: Callable[[], Awaitable[T]], attempts: int = CONFLICT_ATTEMPTS
) -> T:
    """``await attempt()``, again after each :class:`TransientConflict`, at most ``attempts``
    times in all (the last conflict propagates: the HTTP layer answers 503)."""
    for n in range(1, attempts + 1):
        try:
            return await attempt()
        except TransientConflict:
            if n == attempts:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
