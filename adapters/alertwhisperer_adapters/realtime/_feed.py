"""The ports between the server's real-time edge (the ``/ws`` endpoint) and whatever carries
events and presence between processes.

The core only publishes (:class:`alertwhisperer_core.ports.EventBus`); a feed is also an event
bus, and additionally lets WebSocket connections subscribe and catch up after a reconnect.
Two implementations exist: one process (``LocalEventFeed``, ``LocalPresence`` in this package)
and Redis (``alertwhisperer_adapters.redis``: a Redis Stream gives every process the same
ordered, bounded backlog, so a client may reconnect to any process with its last event id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from typing import Protocol

import attrs

from alertwhisperer_core.ports import Event

__all__ = ["EventFeed", "FeedEntry", "FeedSubscription", "Presence"]


@attrs.frozen
class FeedEntry:
    """One published event and its feed id: opaque to clients, unique within one feed, and
    what a reconnecting client sends back as its last event id."""

    id: str
    event: Event


class FeedSubscription(Protocol):
    """Live entries published after the subscription started, in publication order.

    A subscriber that falls too far behind is not allowed to stall publishers: the
    subscription then ends (iteration stops) and the connection tells its client to reload.
    """

    def __aiter__(self) -> AsyncIterator[FeedEntry]: ...

    async def close(self) -> None: ...


class EventFeed(Protocol):
    """An :class:`~alertwhisperer_core.ports.EventBus` that WebSocket connections read."""

    async def publish(self, event: Event) -> None: ...

    def subscribe(self) -> FeedSubscription: ...

    async def since(self, last_id: str) -> list[FeedEntry] | None:
        """Entries published after ``last_id``, oldest first; None when ``last_id`` is unknown
        or older than the bounded backlog (the client must reload instead)."""

    async def start(self) -> None:
        """Begin carrying events (a listener task, a connection); called at server start."""

    async def close(self) -> None: ...


class Presence(Protocol):
    """Who is connected, per company, across every server process."""

    async def join(self, connection_id: str, user_id: str, company_ids: Collection[str]) -> None:
        """Record a live connection of ``user_id`` that sees ``company_ids``; ``"*"`` among
        them (MSP admins) means every company."""

    async def leave(self, connection_id: str) -> None: ...

    async def refresh(self, connection_id: str) -> None:
        """Keep a live connection present (called on every heartbeat); a connection whose
        process died without ``leave`` drops out after its time-to-live."""

    async def online(self, company_id: str) -> set[str]:
        """User ids with at least one live connection that sees ``company_id``."""
