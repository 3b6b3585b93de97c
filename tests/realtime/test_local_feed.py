"""The one-process feed and presence: order, the bounded backlog, slow subscribers, presence."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from alertwhisperer_adapters.realtime import FeedEntry, LocalEventFeed, LocalPresence
from alertwhisperer_core.ports import Event

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def event(n: int, company_id: str | None = "acme") -> Event:
    return Event("alert.created", company_id, {"n": n, "nested": {"list": [n]}}, T0)


async def take(subscription: object, count: int) -> list[FeedEntry]:
    entries: list[FeedEntry] = []

    async def collect() -> None:
        async for entry in subscription:  # type: ignore[attr-defined]
            entries.append(entry)
            if len(entries) == count:
                return

    await asyncio.wait_for(collect(), timeout=10)
    return entries


async def test_subscribers_receive_live_entries_in_publication_order() -> None:
    feed = LocalEventFeed()
    first, second = feed.subscribe(), feed.subscribe()
    for n in range(5):
        await feed.publish(event(n))
    for subscription in (first, second):
        entries = await take(subscription, 5)
        assert [e.event.data["n"] for e in entries] == [0, 1, 2, 3, 4]
        assert len({e.id for e in entries}) == 5
    assert entries[0].event == event(0)


async def test_a_subscriber_sees_only_what_was_published_after_it_subscribed() -> None:
    feed = LocalEventFeed()
    await feed.publish(event(0))
    subscription = feed.subscribe()
    await feed.publish(event(1))
    assert [e.event.data["n"] for e in await take(subscription, 1)] == [1]


async def test_since_returns_the_entries_after_an_id_oldest_first() -> None:
    feed = LocalEventFeed()
    subscription = feed.subscribe()
    for n in range(4):
        await feed.publish(event(n))
    ids = [e.id for e in await take(subscription, 4)]
    missed = await feed.since(ids[1])
    assert missed is not None
    assert [e.id for e in missed] == ids[2:]
    assert await feed.since(ids[-1]) == []


async def test_an_id_older_than_the_backlog_is_none() -> None:
    feed = LocalEventFeed(backlog=3)
    subscription = feed.subscribe()
    for n in range(5):
        await feed.publish(event(n))
    ids = [e.id for e in await take(subscription, 5)]
    assert await feed.since(ids[0]) is None  # entry 2 has left the backlog
    kept = await feed.since(ids[1])
    assert kept is not None
    assert [e.id for e in kept] == ids[2:]


@pytest.mark.parametrize("last_id", ["", "x", "nope-1", "-1", "abc-", "abc-1-2", "a" * 500])
async def test_a_malformed_or_foreign_id_is_none(last_id: str) -> None:
    feed = LocalEventFeed()
    await feed.publish(event(0))
    assert await feed.since(last_id) is None


async def test_an_id_from_another_feed_or_the_future_is_none() -> None:
    old, new = LocalEventFeed(), LocalEventFeed()
    subscription = old.subscribe()
    await old.publish(event(0))
    await new.publish(event(0))
    (entry,) = await take(subscription, 1)
    assert await new.since(entry.id) is None  # a restarted server: another epoch
    epoch = entry.id.split("-")[0]
    assert await old.since(f"{epoch}-99") is None
    assert await old.since(f"{epoch}-0") == [entry]


async def test_a_subscriber_that_falls_too_far_behind_ends_and_publishing_goes_on() -> None:
    feed = LocalEventFeed(queue_size=3)
    slow, fast = feed.subscribe(), feed.subscribe()
    received: list[int] = []

    async def keep_up() -> None:
        async for entry in fast:
            received.append(entry.event.data["n"])
            if len(received) == 10:
                return

    reader = asyncio.create_task(keep_up())
    for n in range(10):
        await feed.publish(event(n))
        await asyncio.sleep(0)  # the fast reader runs between publications
    await asyncio.wait_for(reader, timeout=10)
    assert received == list(range(10))
    assert slow.overflowed
    assert [e async for e in slow] == []  # iteration stops at once
    assert feed.subscriber_count == 1


async def test_closing_a_subscription_stops_its_iteration() -> None:
    feed = LocalEventFeed()
    subscription = feed.subscribe()
    waiting = asyncio.create_task(take(subscription, 1))
    await asyncio.sleep(0)
    await subscription.close()
    assert await asyncio.wait_for(waiting, timeout=10) == []
    assert feed.subscriber_count == 0
    await feed.publish(event(0))  # nobody to deliver to: fine


async def test_closing_the_feed_ends_every_subscription() -> None:
    feed = LocalEventFeed()
    subscriptions = [feed.subscribe() for _ in range(3)]
    await feed.close()
    for subscription in subscriptions:
        assert [e async for e in subscription] == []


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LocalEventFeed(backlog=0)
    with pytest.raises(ValueError, match="at least 1"):
        LocalEventFeed(queue_size=0)


async def test_presence_counts_connections_per_company() -> None:
    presence = LocalPresence()
    await presence.join("c1", "ada", ["acme"])
    await presence.join("c2", "ada", ["acme"])  # a second tab
    await presence.join("c3", "bob", ["globex"])
    await presence.join("c4", "msp", ["*"])
    assert await presence.online("acme") == {"ada", "msp"}
    assert await presence.online("globex") == {"bob", "msp"}
    await presence.leave("c1")
    assert await presence.online("acme") == {"ada", "msp"}  # still one tab open
    await presence.leave("c2")
    await presence.refresh("c4")
    assert await presence.online("acme") == {"msp"}
    await presence.leave("c4")
    await presence.leave("c4")  # twice: harmless
    assert await presence.online("acme") == set()
