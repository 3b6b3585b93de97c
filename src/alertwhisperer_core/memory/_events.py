"""An event bus for one process: subscribers are asyncio queues."""

from __future__ import annotations

import asyncio

from ..ports import Event

__all__ = ["InMemoryEventBus"]


class InMemoryEventBus:
    """Fans events out to every subscribed queue; also keeps the last events for tests."""

    def __init__(self, history: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self._history = history
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.published.append(event)
        if len(self.published) > self._history:
            del self.published[: len(self.published) - self._history]
        for queue in list(self._subscribers):
            # A slow consumer loses events rather than stalling ingestion; it reloads on reconnect.
            if queue.full():
                continue
            queue.put_nowait(event)

    def subscribe(self, maxsize: int = 1000) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)
