"""A map whose entries expire: the in-memory base of the idempotency store and replay guard.

An entry is live while ``now < expires_at`` and expired from ``expires_at`` on. Every insertion
first purges what has expired, so memory holds only entries that were live at the last
insertion: the map never grows with history, only with what is live.

The expiry order is a binary heap (``heapq``) of ``(expires_at, sequence, key)``: the sequence
number breaks ties so keys are never compared (keys need only be hashable), and it tells a
current heap item from a stale one left by :meth:`ExpiringMap.discard`, which removes the
entry at once and leaves its heap item to be dropped when its time comes. Costs: ``get`` and
``discard`` O(1); ``put_if_absent`` O(log n) plus the purge, which is amortized O(log n)
because every heap item is popped once. The heap holds at most the items inserted within the
longest time to live, so it too stays bounded. ``sortedcontainers`` would do as well but ships
no type information for ``mypy --strict``.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from datetime import datetime
from typing import Generic, TypeVar

__all__ = ["ExpiringMap"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    """A mapping of keys to values with a per-entry expiry time; pure, no clock reads.

    Times are timezone-aware datetimes passed by the caller. ``now`` may move backwards
    (clock skew): an entry already purged stays gone, one still held is judged against the
    ``now`` of each call.
    """

    __slots__ = ("_entries", "_heap", "_sequence")

    def __init__(self) -> None:
        self._entries: dict[K, tuple[V, datetime, int]] = {}
        self._heap: list[tuple[datetime, int, K]] = []
        self._sequence = 0

    def get(self, key: K, now: datetime) -> V | None:
        """The value stored under ``key`` if it is live at ``now``, else ``None``."""
        entry = self._entries.get(key)
        if entry is None or entry[1] <= now:
            return None
        return entry[0]

    def put_if_absent(self, key: K, value: V, expires_at: datetime, now: datetime) -> V | None:
        """Store ``value`` until ``expires_at`` unless ``key`` holds a live value.

        Returns the live value already stored (and stores nothing), or ``None`` when the new
        value was inserted. A value that would already be expired at ``now`` is not stored,
        which is what an insertion followed by immediate expiry would amount to.
        """
        self.purge(now)
        entry = self._entries.get(key)
        if entry is not None:
            return entry[0]
        if expires_at <= now:
            return None
        self._sequence += 1
        self._entries[key] = (value, expires_at, self._sequence)
        heapq.heappush(self._heap, (expires_at, self._sequence, key))
        return None

    def purge(self, now: datetime) -> int:
        """Drop every entry expired at ``now``; return how many were dropped."""
        heap = self._heap
        dropped = 0
        while heap and heap[0][0] <= now:
            _, sequence, key = heapq.heappop(heap)
            entry = self._entries.get(key)
            # A discarded (and perhaps re-inserted) key leaves a stale item: skip it.
            if entry is not None and entry[2] == sequence:
                del self._entries[key]
                dropped += 1
        return dropped

    def discard(self, key: K) -> bool:
        """Forget ``key`` now, live or not; return whether anything was held under it.

        For undoing an insertion whose work failed (a refused delivery must not block the
        sender's honest retry).
        """
        return self._entries.pop(key, None) is not None

    def __len__(self) -> int:
        """Entries held: every live one, plus expired ones not yet purged."""
        return len(self._entries)
