"""Helpers of the Redis tests: key clean-up and a private Redis server a test may stop."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
import pytest
import redis
import redis.asyncio as aioredis

from ..support.servers import free_port


async def wipe(url: str, prefix: str) -> None:
    """Delete every key under ``prefix``."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@attrs.define
class PrivateRedis:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _start(port: int) -> subprocess.Popen[bytes]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed; outage tests start their own")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, socket_connect_timeout=1)
    deadline = time.monotonic() + 20
    try:
        while True:
            try:
                client.ping()
                return process
            except redis.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.kill()
                    raise RuntimeError("private redis-server did not start") from None
                time.sleep(0.05)
    finally:
        client.close()


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    port = free_port()
    server = PrivateRedis(_start(port), port)
    try:
        yield server
    finally:
        server.stop()


def restart(server: PrivateRedis) -> None:
    """Start the (stopped) server again on the same port."""
    server.process = _start(server.port)
