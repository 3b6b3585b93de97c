"""The open-loop load generator measures from when a request was due, and counts the lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from benchmarks._openloop import run


@asynccontextmanager
async def _server(
    answer: Callable[[int], float | None], *, idle_close: float | None = None
) -> AsyncIterator[int]:
    """A keep-alive HTTP/1.1 server; ``answer(n)`` gives request n's delay (None: never).
    ``idle_close``: a connection idle that long is closed (as uvicorn's keep-alive timeout)."""
    count = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), idle_close)
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length"))  # fmt: skip
                await reader.readexactly(length)
                n, count = count, count + 1
                delay = answer(n)
                if delay is None:
                    await asyncio.sleep(3600)
                await asyncio.sleep(delay or 0)
                writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
            task.cancel()  # handlers still sleeping on a request they will never answer
        await asyncio.sleep(0.05)
        await server.wait_closed()


def _spec(port: int, **changes: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": port, "path": "/x", "bodies": ['{"a": 1}'],
        "headers": {"Content-Type": "application/json"}, "rate": 200, "duration": 0.5,
        "connections": 4, "drain": 1.0, **changes,
    }  # fmt: skip


async def test_a_fast_server_answers_every_request_on_schedule() -> None:
    async with _server(lambda n: 0.0) as port:
        result = await run(_spec(port))
    assert result["requests"] == 100
    assert result["answered"] == 100
    assert result["lost"] == 0
    assert result["statuses"] == {"202": 100}
    assert result["p99_ms"] is not None
    assert result["p50_ms"] < 500  # loose: the machine is shared


async def test_a_stall_counts_from_when_requests_were_due_not_when_sent() -> None:
    # Every connection stalls 0.4 s on one request: the requests queued behind them were due
    # long before a connection was free, and their latency must say so.
    async with _server(lambda n: 0.4 if n < 4 else 0.0) as port:
        result = await run(_spec(port))
    assert result["answered"] == 100
    assert result["p90_ms"] >= 150  # closed-loop timing would show ~0 ms for these


async def test_unanswered_requests_are_lost_and_make_the_tail_infinite() -> None:
    async with _server(lambda n: None if n % 10 == 0 else 0.0) as port:
        result = await run(_spec(port, connections=20))
    assert result["lost"] >= 2
    assert result["answered"] + result["lost"] == result["requests"]
    assert result["p99_ms"] is None
    assert result["max_ms"] is None


async def test_a_connection_the_server_closed_when_idle_is_replaced_not_counted_lost() -> None:
    # 8 connections at 20 requests/s: each is used every 0.4 s, and the server closes any
    # connection idle for 0.2 s. Every request must still be answered (on a new connection).
    async with _server(lambda n: 0.0, idle_close=0.2) as port:
        result = await run(_spec(port, rate=20, duration=1.5, connections=8))
    assert result["requests"] == 30
    assert result["answered"] == 30
    assert result["errors"] == 0
    assert result["lost"] == 0
