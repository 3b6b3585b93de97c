"""Real-time events through a Redis Stream: every process publishes to it and reads it.

``publish`` is ``XADD`` with an approximate ``MAXLEN``, so the stream is the bounded backlog
every process shares and its entry ids are the feed ids clients reconnect with (to any
process). One reader task per process follows the stream (``XREAD BLOCK``) and hands each
entry to the local subscribers' bounded queues; a subscriber whose queue is full is ended
(its client reloads) rather than allowed to stall the reader or the publishers.

A live subscription never silently skips an entry: when the reader loses Redis, every current
subscription ends, and the reconnecting clients catch up with :meth:`RedisEventFeed.since`
(or reload, when their last id was trimmed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import msgspec

from alertwhisperer_core.ports import Event

from ..realtime._feed import FeedEntry
from ._connection import REDIS_ERRORS, RedisConnection

__all__ = ["RedisEventFeed", "RedisFeedSubscription", "decode_event", "encode_event"]

logger = logging.getLogger("alertwhisperer.redis")

DEFAULT_MAXLEN = 10_000
DEFAULT_QUEUE_SIZE = 1_000
BLOCK_MS = 1_000
_READ_COUNT = 500
# How long close() waits for the reader to stop after cancelling it, then after dropping its
# connection (see close()).
_CANCEL_GRACE_SECONDS = 0.25
_DISCONNECT_GRACE_SECONDS = 2.0
_FIELD = b"e"
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


class _WireEvent(msgspec.Struct, frozen=True, array_like=True):
    type: str
    company_id: str | None
    data: dict[str, Any]
    at: datetime


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(_WireEvent).decode


def encode_event(event: Event) -> bytes:
    """An event as stored in the stream (JSON: ``data`` must hold JSON values, as it does for
    every event the core publishes, since WebSocket clients receive it as JSON anyway)."""
    return _encode(_WireEvent(event.type, event.company_id, dict(event.data), event.at))


def decode_event(raw: bytes) -> Event:
    wire = _decode(raw)
    return Event(wire.type, wire.company_id, wire.data, wire.at)


class RedisFeedSubscription:
    """Entries the reader hands over, until closed, overrun or cut off from Redis."""

    def __init__(self, feed: RedisEventFeed, size: int) -> None:
        self._feed = feed
        # None marks the end; the queue has one slot more for it than for entries.
        self._queue: asyncio.Queue[FeedEntry | None] = asyncio.Queue(size + 1)
        self._size = size
        self.ended = False
        self.overrun = False

    def offer(self, entry: FeedEntry) -> None:
        if self.ended:
            return
        if self._queue.qsize() >= self._size:
            self.overrun = True
            self.end()
            return
        self._queue.put_nowait(entry)

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self._feed.unsubscribe(self)
        # Whatever is still queued is moot: the client reloads or catches up by id.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[FeedEntry]:
        return self

    async def __anext__(self) -> FeedEntry:
        entry = await self._queue.get()
        if entry is None:
            self._queue.put_nowait(None)  # later calls end too
            raise StopAsyncIteration
        return entry

    async def close(self) -> None:
        self.end()


class RedisEventFeed:
    """An :class:`~alertwhisperer_adapters.realtime.EventFeed` over one Redis Stream."""

    def __init__(
        self,
        connection: RedisConnection,
        *,
        maxlen: int = DEFAULT_MAXLEN,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        block_ms: int = BLOCK_MS,
        stream: str = "events",
    ) -> None:
        if maxlen < 1 or queue_size < 1:
            raise ValueError("maxlen and queue_size must be at least 1")
        self._redis = connection
        self.key = connection.key(stream)
        self.maxlen = maxlen
        self._queue_size = queue_size
        self._block_ms = block_ms
        self._subscribers: set[RedisFeedSubscription] = set()
        self._reader: asyncio.Task[None] | None = None
        self._reader_client: Any = None
        self.dropped = 0  # events not published because Redis was down

    async def publish(self, event: Event) -> None:
        """Append ``event``; when Redis is down the event is dropped (logged and counted):
        publishing happens after a commit, which must not turn into an error."""
        health = self._redis.health
        if health.worth_trying():
            try:
                await self._redis.client().xadd(
                    self.key, {_FIELD: encode_event(event)}, maxlen=self.maxlen, approximate=True
                )
            except REDIS_ERRORS as exc:
                health.failed(exc)
            else:
                health.succeeded()
                return
        self.dropped += 1
        # The outage itself is logged once (Health); one line per event would flood the log.
        logger.debug("event %s not published: Redis is unreachable", event.type)

    def subscribe(self) -> RedisFeedSubscription:
        subscription = RedisFeedSubscription(self, self._queue_size)
        self._subscribers.add(subscription)
        self._ensure_reader()
        return subscription

    def unsubscribe(self, subscription: RedisFeedSubscription) -> None:
        self._subscribers.discard(subscription)

    async def since(self, last_id: str) -> list[FeedEntry] | None:
        if not _STREAM_ID.fullmatch(last_id):
            return None
        try:
            # From last_id itself: if it is still there, nothing after it was trimmed.
            rows: Any = await self._redis.client().xrange(self.key, min=last_id, max="+")
        except REDIS_ERRORS as exc:
            self._redis.health.failed(exc)
            return None
        if not rows or rows[0][0].decode() != last_id:
            return None
        entries = (_entry_or_none(entry_id, fields) for entry_id, fields in rows[1:])
        return [entry for entry in entries if entry is not None]

    async def start(self) -> None:
        self._ensure_reader()

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            done, _ = await asyncio.wait({reader}, timeout=_CANCEL_GRACE_SECONDS)
            if not done and self._reader_client is not None:
                # redis-py can swallow a cancellation that lands inside a blocking XREAD (seen
                # here about one close in two): dropping the reader's connection ends the read.
                with contextlib.suppress(*REDIS_ERRORS):
                    await self._reader_client.connection_pool.disconnect()
                done, _ = await asyncio.wait({reader}, timeout=_DISCONNECT_GRACE_SECONDS)
            if not done:
                logger.error("the event stream reader did not stop; abandoned")
        self._end_all()

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read())

    def _end_all(self) -> None:
        for subscription in list(self._subscribers):
            subscription.end()

    async def _read(self) -> None:
        # Its own client: a blocking read holds its connection, and needs a longer timeout.
        client = self._redis.make_client(socket_timeout=self._block_ms / 1000 + 5)
        self._reader_client = client
        last: str | None = None
        try:
            while asyncio.current_task() is self._reader:
                try:
                    if last is None:
                        newest: Any = await client.xrevrange(self.key, count=1)
                        last = newest[0][0].decode() if newest else "0-0"
                    replies: Any = await client.xread(
                        {self.key: last}, count=_READ_COUNT, block=self._block_ms
                    )
                except REDIS_ERRORS as exc:
                    if asyncio.current_task() is not self._reader:
                        return  # closed: close() dropped the connection under the read
                    self._redis.health.failed(exc)
                    self._end_all()
                    last = None
                    await asyncio.sleep(self._redis.health.retry_interval)
                    continue
                for _stream, rows in replies or ():
                    for entry_id, fields in rows:
                        last = entry_id.decode()
                        entry = _entry_or_none(entry_id, fields)
                        if entry is None:
                            continue
                        for subscription in list(self._subscribers):
                            subscription.offer(entry)
        finally:
            self._reader_client = None
            with contextlib.suppress(*REDIS_ERRORS):
                await client.aclose()


def _entry_or_none(entry_id: bytes, fields: dict[bytes, bytes]) -> FeedEntry | None:
    try:
        return FeedEntry(entry_id.decode(), decode_event(fields[_FIELD]))
    except (KeyError, msgspec.DecodeError):
        # Something else wrote to the stream: skip it rather than stop every reader.
        logger.error("stream entry %s is not an event; skipped", entry_id.decode())
        return None
