"""In-memory implementations of every port: for tests, the library and a single process."""

from ._basics import ManualClock, SequentialIds
from ._events import InMemoryEventBus
from ._limits import InMemoryRateLimiter, InMemoryReplayGuard
from ._store import InMemoryStore, InMemoryUnitOfWork

__all__ = [
    "InMemoryEventBus",
    "InMemoryRateLimiter",
    "InMemoryReplayGuard",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "ManualClock",
    "SequentialIds",
]
