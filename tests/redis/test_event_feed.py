"""Events through a Redis Stream: exact round trip, order, catch-up by id, fan-out, overrun."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
import redis.asyncio as aioredis

from alertwhisperer_adapters.realtime._feed import FeedEntry, FeedSubscription
from alertwhisperer_adapters.redis import (
    RedisBackends,
    RedisConnection,
    RedisEventFeed,
    decode_event,
    encode_event,
    open_redis_backends,
)
from alertwhisperer_core.ports import Event

pytestmark = pytest.mark.redis

T0 = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
WAIT = 20.0  # generous: only a broken feed ever waits this long


def _event(n: int, company_id: str | None = "co") -> Event:
    return Event(
        "incident.updated",
        company_id,
        {"id": f"i-{n}", "n": n, "nested": {"list": [1, "two", None, {"ok": True}], "x": 1.5}},
        T0 + timedelta(seconds=n),
    )


async def _take(subscription: FeedSubscription, count: int) -> list[FeedEntry]:
    async def take() -> list[FeedEntry]:
        got: list[FeedEntry] = []
        async for entry in subscription:
            got.append(entry)
            if len(got) == count:
                break
        return got

    return await asyncio.wait_for(take(), WAIT)


def test_events_round_trip_exactly() -> None:
    for event in (
        _event(1),
        _event(2, None),
        Event("presence", "co", {}, datetime(2026, 1, 1, 10, tzinfo=timezone(timedelta(hours=2)))),
    ):
        back = decode_event(encode_event(event))
        assert back == event
        assert back.at.utcoffset() == event.at.utcoffset()


async def test_subscribers_receive_published_events_in_order(backends: RedisBackends) -> None:
    await backends.feed.start()
    subscription = backends.feed.subscribe()
    await asyncio.sleep(0.2)  # the reader is following the stream
    for n in range(5):
        await backends.feed.publish(_event(n))
    entries = await _take(subscription, 5)
    assert [e.event for e in entries] == [_event(n) for n in range(5)]
    ids = [e.id for e in entries]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    await subscription.close()


async def test_two_processes_see_each_others_events(redis_url: str, prefix: str) -> None:
    one = open_redis_backends(redis_url, prefix=prefix)
    two = open_redis_backends(redis_url, prefix=prefix)
    try:
        await one.start()
        await two.start()
        sub_one, sub_two = one.feed.subscribe(), two.feed.subscribe()
        await asyncio.sleep(0.2)
        await one.feed.publish(_event(1))
        await two.feed.publish(_event(2))
        got_one, got_two = await _take(sub_one, 2), await _take(sub_two, 2)
        assert [e.event for e in got_one] == [_event(1), _event(2)]
        assert got_one == got_two  # same ids too: any process can resume a client
    finally:
        await one.close()
        await two.close()


async def test_since_returns_what_came_after_an_id(backends: RedisBackends) -> None:
    await backends.feed.start()
    subscription = backends.feed.subscribe()
    await asyncio.sleep(0.2)
    for n in range(4):
        await backends.feed.publish(_event(n))
    entries = await _take(subscription, 4)
    assert await backends.feed.since(entries[1].id) == entries[2:]
    assert await backends.feed.since(entries[-1].id) == []


@pytest.mark.parametrize("last_id", ["", "abc", "1-2-3", "99999999999999-0", "0-0"])
async def test_since_an_unknown_id_is_none(backends: RedisBackends, last_id: str) -> None:
    await backends.feed.publish(_event(1))
    assert await backends.feed.since(last_id) is None


async def test_since_an_id_trimmed_from_the_backlog_is_none(
    redis_url: str, prefix: str, raw: aioredis.Redis
) -> None:
    connection = RedisConnection(redis_url, prefix=prefix)
    feed = RedisEventFeed(connection, maxlen=5)
    try:
        await feed.publish(_event(0))
        [(first, _)] = await raw.xrange(feed.key, count=1)
        for n in range(1, 400):
            await feed.publish(_event(n))
        # Approximate trimming keeps whole nodes: bounded, but not exactly 5.
        assert await raw.xlen(feed.key) < 400
        assert await feed.since(first.decode()) is None
    finally:
        await feed.close()
        await connection.close()


async def test_a_slow_subscriber_is_ended_and_does_not_hold_up_others(
    redis_url: str, prefix: str
) -> None:
    connection = RedisConnection(redis_url, prefix=prefix)
    feed = RedisEventFeed(connection, queue_size=3)
    try:
        await feed.start()
        slow, live = feed.subscribe(), feed.subscribe()
        await asyncio.sleep(0.2)
        received: list[FeedEntry] = []

        async def consume() -> None:
            async for entry in live:
                received.append(entry)
                if len(received) == 10:
                    return

        consumer = asyncio.create_task(consume())
        for n in range(10):
            await feed.publish(_event(n))
            await asyncio.sleep(0.02)  # the live consumer keeps up; the slow one never reads
        await asyncio.wait_for(consumer, WAIT)
        assert [e.event.data["n"] for e in received] == list(range(10))
        assert [e async for e in slow] == []  # ended: iteration stops at once
        assert slow.overrun  # type: ignore[attr-defined]
    finally:
        await feed.close()
        await connection.close()


async def test_close_ends_iteration(backends: RedisBackends) -> None:
    subscription = backends.feed.subscribe()
    await subscription.close()
    assert await asyncio.wait_for(_take(subscription, 1), WAIT) == []


async def test_close_stops_the_reader_wherever_it_is(redis_url: str, prefix: str) -> None:
    # redis-py sometimes swallowed the cancellation of the reader's first commands, and close()
    # then waited forever (about one close in two in the test suite, in exactly this
    # sequence); every close must end, and promptly.
    for _ in range(6):
        backends = open_redis_backends(redis_url, prefix=prefix)
        subscription = backends.feed.subscribe()
        await subscription.close()
        assert await asyncio.wait_for(_take(subscription, 1), WAIT) == []
        await asyncio.wait_for(backends.close(), 5.0)
