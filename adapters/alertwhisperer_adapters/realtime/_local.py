"""The real-time ports for one server process: :class:`LocalEventFeed` and :class:`LocalPresence`.

Without ``AW_REDIS_URL`` there is one process, so events and presence never leave it. Feed ids
are ``<epoch>-<counter>``: the counter orders entries, and the epoch (random per feed) makes
an id from before a restart unknown, so a client that reconnects to a restarted server is told
to reload instead of being matched against an unrelated counter.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import AsyncIterator, Collection

from alertwhisperer_core.ports import Event, EventBus

from ._feed import FeedEntry

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_QUEUE_SIZE",
    "LocalEventFeed",
    "LocalPresence",
    "TeeEventBus",
]

DEFAULT_BACKLOG = 1000
"""Entries kept for reconnecting clients."""
DEFAULT_QUEUE_SIZE = 1000
"""Entries one subscriber may fall behind before its subscription ends."""


class _LocalSubscription:
    """A bounded queue of entries; once it overflows or is closed, iteration stops."""

    def __init__(self, feed: LocalEventFeed, limit: int) -> None:
        self._feed = feed
        self._limit = limit
        self._entries: deque[FeedEntry] = deque()
        self._wake = asyncio.Event()
        self.ended = False
        self.overflowed = False

    def offer(self, entry: FeedEntry) -> bool:
        """Queue ``entry``; False once the subscription has ended (the feed forgets it)."""
        if self.ended:
            return False
        if len(self._entries) >= self._limit:
            # Publishers never wait for a reader: a reader this far behind starts over.
            self.overflowed = True
            self._end()
            return False
        self._entries.append(entry)
        self._wake.set()
        return True

    def _end(self) -> None:
        self.ended = True
        self._entries.clear()
        self._wake.set()

    def __aiter__(self) -> AsyncIterator[FeedEntry]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FeedEntry]:
        while True:
            if self.ended:
                return
            if self._entries:
                yield self._entries.popleft()
                continue
            self._wake.clear()
            await self._wake.wait()

    async def close(self) -> None:
        self._end()
        self._feed.forget(self)


class LocalEventFeed:
    """An :class:`~._feed.EventFeed` in this process: a counter, a bounded backlog, and a
    bounded queue per subscriber."""

    def __init__(
        self, backlog: int = DEFAULT_BACKLOG, queue_size: int = DEFAULT_QUEUE_SIZE
    ) -> None:
        if backlog < 1 or queue_size < 1:
            raise ValueError("backlog and queue_size must be at least 1")
        self._epoch = secrets.token_hex(4)
        self._counter = 0
        self._backlog: deque[tuple[int, FeedEntry]] = deque(maxlen=backlog)
        self._queue_size = queue_size
        self._subscribers: set[_LocalSubscription] = set()

    async def publish(self, event: Event) -> None:
        self._counter += 1
        entry = FeedEntry(f"{self._epoch}-{self._counter}", event)
        self._backlog.append((self._counter, entry))
        for subscriber in list(self._subscribers):
            if not subscriber.offer(entry):
                self._subscribers.discard(subscriber)

    def subscribe(self) -> _LocalSubscription:
        subscription = _LocalSubscription(self, self._queue_size)
        self._subscribers.add(subscription)
        return subscription

    def forget(self, subscription: _LocalSubscription) -> None:
        self._subscribers.discard(subscription)

    async def since(self, last_id: str) -> list[FeedEntry] | None:
        epoch, _, number = last_id.partition("-")
        if epoch != self._epoch or not number.isdigit() or len(number) > 18:
            return None
        last = int(number)
        if last > self._counter:
            return None
        oldest = self._backlog[0][0] if self._backlog else self._counter + 1
        if last + 1 < oldest:
            return None  # entries after ``last`` have left the backlog
        return [entry for n, entry in self._backlog if n > last]

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for subscriber in list(self._subscribers):
            await subscriber.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)


class LocalPresence:
    """A :class:`~._feed.Presence` in this process. A connection leaves when its handler ends;
    nothing outlives the process, so ``refresh`` has nothing to extend."""

    def __init__(self) -> None:
        self._connections: dict[str, tuple[str, frozenset[str]]] = {}

    async def join(self, connection_id: str, user_id: str, company_ids: Collection[str]) -> None:
        self._connections[connection_id] = (user_id, frozenset(company_ids))

    async def leave(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    async def refresh(self, connection_id: str) -> None:
        return None

    async def online(self, company_id: str) -> set[str]:
        return {
            user_id
            for user_id, companies in self._connections.values()
            if company_id in companies or "*" in companies
        }


class TeeEventBus:
    """Publishes each event to several buses in turn: the app's own bus when it is not the
    feed (tests hand the app the core's in-memory bus and inspect what it saw) and the feed."""

    def __init__(self, *buses: EventBus) -> None:
        self.buses = buses

    async def publish(self, event: Event) -> None:
        for bus in self.buses:
            await bus.publish(event)
