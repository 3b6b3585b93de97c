"""A clock that only moves when told and ids that count: deterministic runs for tests."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

__all__ = ["ManualClock", "SequentialIds"]


class ManualClock:
    """A :class:`~alertwhisperer_core.ports.Clock` that only moves when told."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, at: datetime) -> None:
        self._now = at


class SequentialIds:
    """An :class:`~alertwhisperer_core.ports.IdSource` giving ``prefix-1``, ``prefix-2``, …

    ``token_bytes`` is deterministic too (a hash chain): fine for tests, never for production,
    where the adapters' ``SystemIds`` uses :mod:`secrets`.
    """

    def __init__(self, prefix: str = "id") -> None:
        self._prefix = prefix
        self._n = 0

    def new_id(self) -> str:
        self._n += 1
        return f"{self._prefix}-{self._n}"

    def token_bytes(self, n: int) -> bytes:
        self._n += 1
        out = b""
        block = 0
        while len(out) < n:
            out += hashlib.sha256(f"{self._prefix}:{self._n}:{block}".encode()).digest()
            block += 1
        return out[:n]
