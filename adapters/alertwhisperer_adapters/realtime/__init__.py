"""Real time: the ports between ``/ws`` and whatever carries events and presence, and their
one-process implementations. The ``/ws`` endpoint itself is :mod:`._ws` (mounted by
``alertwhisperer_adapters.http.create_app``)."""

from ._feed import EventFeed, FeedEntry, FeedSubscription, Presence
from ._local import (
    DEFAULT_BACKLOG,
    DEFAULT_QUEUE_SIZE,
    LocalEventFeed,
    LocalPresence,
    TeeEventBus,
)

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_QUEUE_SIZE",
    "EventFeed",
    "FeedEntry",
    "FeedSubscription",
    "LocalEventFeed",
    "LocalPresence",
    "Presence",
    "TeeEventBus",
]
