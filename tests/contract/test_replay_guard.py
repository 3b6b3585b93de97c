"""Replay guard contract: a key is refused while it is live."""

from __future__ import annotations

from .conftest import Backend
from .records import at


async def test_first_sighting_is_accepted_and_a_live_repeat_refused(backend: Backend) -> None:
    guard = backend.replay_guard
    assert await guard.remember("sig-1", at(5), at(0)) is True
    assert await guard.remember("sig-1", at(5), at(1)) is False
    assert await guard.remember("sig-2", at(5), at(1)) is True


async def test_an_expired_key_is_accepted_again(backend: Backend) -> None:
    guard = backend.replay_guard
    assert await guard.remember("sig-1", at(5), at(0))
    assert await guard.remember("sig-1", at(10), at(5)) is True
    assert await guard.remember("sig-1", at(10), at(9)) is False


async def test_a_forgotten_key_is_accepted_again(backend: Backend) -> None:
    guard = backend.replay_guard
    assert await guard.remember("sig-1", at(5), at(0))
    await guard.forget("sig-1")
    assert await guard.remember("sig-1", at(5), at(1)) is True
