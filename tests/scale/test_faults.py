"""Issue #8, item 4: faults in the middle of a storm.

- a server worker killed with SIGKILL: senders retry, nothing accepted is lost or doubled;
- PostgreSQL stopped (as by a crash) and started again: webhooks answer 503 while it is down,
  nothing is half-stored, service resumes by itself;
- Redis unavailable: webhooks fail closed (503), ``/readyz`` says so, rate limiting falls back
  to each process, and service resumes when Redis is back.

Each uses a database of its own; PostgreSQL is stopped only in a private cluster (never the
machine's shared one), Redis only as a private ``redis-server``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alertwhisperer_adapters.sql import open_sql_store

from ..conftest import service_url
from ..contract._databases import postgres_schema
from ..support.private_services import private_postgres
from ..support.servers import running_server
from . import _harness as h

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL")) as url:
        yield url


async def _prepare(url: str, *, upgrade: bool = False, throttled: bool = False) -> None:
    store = await open_sql_store(url, upgrade=upgrade)
    try:
        await h.add_companies(store, throttled=throttled)
    finally:
        await store.close()


def test_a_worker_killed_mid_storm_loses_and_doubles_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    workers = 4
    asyncio.run(_prepare(postgres_url))
    jobs = h.storm(600)
    killed: list[int] = []
    with running_server(tmp_path, h.server_env(postgres_url), workers=workers) as server:
        pid = server.process.pid
        h.wait_until(lambda: len(h.worker_pids(pid)) == workers, 60, "four workers")

        def kill_twice(done: Callable[[], int], total: int) -> None:
            for share in (3, 2):  # at a third and at two thirds of the storm
                target = total // share
                h.wait_until(lambda: done() >= target, 120, "storm progress")  # noqa: B023
                victim = h.worker_pids(pid)[0]
                h.kill_worker(victim)
                killed.append(victim)

                def replaced(victim: int = victim) -> bool:
                    alive = h.worker_pids(pid)
                    return len(alive) == workers and victim not in alive

                # uvicorn's supervisor starts a new worker in its place.
                h.wait_until(replaced, 60, "a replacement worker")

        policy = h.ClientPolicy(concurrency=6)
        run = h.run_storm(server.base_url, h.deal(jobs, 3), tmp_path, policy, kill_twice)
    assert len(killed) == 2
    stored = h.read_stored(postgres_url)
    errors = [a for a in run.attempts() if "error" in a]
    assert errors, "no request was cut off: the kills hit idle workers"
    assert not [a for a in run.attempts() if a.get("status") == 500]
    h.check_exactly_once(run, stored, every_job_succeeds=True)
    asyncio.run(h.check_partition(postgres_url, run))


def _probe(base_url: str, n: int) -> dict[str, Any]:
    """One webhook and one readiness request while the database is down."""
    body = {"asset_name": "probe", "signature": "probe", "severity": "low"}
    t0 = time.monotonic()
    with httpx.Client(base_url=base_url, timeout=60) as client:
        webhook = client.post("/api/webhooks/alerts", params={"api_key": h.api_key(0)},
                              json=body, headers={"x-delivery-id": f"probe-{n}"})  # fmt: skip
        t1 = time.monotonic()
        ready = client.get("/readyz")
    return {
        "webhook": webhook.status_code,
        "retry_after": webhook.headers.get("retry-after"),
        "seconds": t1 - t0,
        "readyz": ready.status_code,
        "readyz_body": ready.json(),
    }


def test_postgres_down_mid_storm_answers_503_stores_no_half_and_recovers(tmp_path: Path) -> None:
    workers = 2
    with private_postgres() as cluster:
        asyncio.run(_prepare(cluster.url, upgrade=True))
        jobs = h.storm(400)
        probes: list[dict[str, Any]] = []
        with running_server(tmp_path, h.server_env(cluster.url), workers=workers) as server:
            h.wait_until(lambda: len(h.worker_pids(server.process.pid)) == workers, 60, "workers")

            def outage(done: Callable[[], int], total: int) -> None:
                h.wait_until(lambda: done() >= total // 4, 120, "storm progress")
                cluster.stop("immediate")
                down_until = time.monotonic() + 4
                n = 0
                while time.monotonic() < down_until:
                    probes.append(_probe(server.base_url, n))
                    n += 1
                cluster.start()

            policy = h.ClientPolicy(concurrency=4)
            run = h.run_storm(server.base_url, h.deal(jobs, 2), tmp_path, policy, outage)
            with httpx.Client(base_url=server.base_url) as client:
                assert client.get("/readyz").status_code == 200
        stored = h.read_stored(cluster.url)
        assert probes
        assert {p["webhook"] for p in probes} == {503}, probes
        assert all(p["retry_after"] for p in probes)
        assert all(p["seconds"] < 30 for p in probes), probes
        assert {p["readyz"] for p in probes} == {503}
        statuses = {a.get("status") for a in run.attempts()}
        assert 503 in statuses, "no client request met the outage"
        assert statuses <= {200, 202, 503}, statuses
        h.check_exactly_once(run, stored, every_job_succeeds=True)
        asyncio.run(h.check_partition(cluster.url, run))


def _throttled_burst(base_url: str, count: int) -> list[int]:
    """``count`` deliveries of the throttled company on one connection; their statuses."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        return [client.post("/api/webhooks/alerts", params={"api_key": h.api_key(h.THROTTLED)},
                            content=body, headers=headers).status_code
                for _, body, headers in h.throttled_jobs(count)]  # fmt: skip


def test_redis_down_mid_storm_fails_closed_limits_per_process_and_recovers(
    postgres_url: str, tmp_path: Path
) -> None:
    from .test_load import redis_adapter_installed

    if not redis_adapter_installed():
        pytest.skip("the Redis adapter (alertwhisperer_adapters.redis) is not in this tree yet")
    from ..support.private_services import private_redis

    workers = 2
    asyncio.run(_prepare(postgres_url, throttled=True))
    jobs = h.storm(400)
    probes: list[dict[str, Any]] = []
    bursts: list[list[int]] = []
    with private_redis(tmp_path) as redis:
        env = h.server_env(postgres_url, AW_REDIS_URL=redis.url)
        with running_server(tmp_path, env, workers=workers) as server:
            h.wait_until(lambda: len(h.worker_pids(server.process.pid)) == workers, 60, "workers")

            def outage(done: Callable[[], int], total: int) -> None:
                h.wait_until(lambda: done() >= total // 4, 120, "storm progress")
                redis.kill()
                down_until = time.monotonic() + 4
                n = 0
                while time.monotonic() < down_until:
                    probes.append(_probe(server.base_url, n))
                    n += 1
                bursts.append(_throttled_burst(server.base_url, 30))
                redis.start()

            policy = h.ClientPolicy(concurrency=4)
            run = h.run_storm(server.base_url, h.deal(jobs, 2), tmp_path, policy, outage)
            with httpx.Client(base_url=server.base_url) as client:
                h.wait_until(lambda: client.get("/readyz").status_code == 200, 30, "ready again")
                ready = client.get("/readyz").json()
    assert ready["checks"]["redis"] == "ok"
    assert ready["degraded"] == []
    assert probes
    assert {p["webhook"] for p in probes} == {503}, probes  # fail closed
    assert all(p["retry_after"] for p in probes)
    assert {p["readyz"] for p in probes} == {503}
    assert all(p["readyz_body"]["checks"]["redis"] == "unreachable" for p in probes)
    assert all("rate limiting per process" in p["readyz_body"]["degraded"] for p in probes)
    # The throttled company, on one connection (one process), while Redis is down: this
    # process's own bucket (burst 10, 0.1/s) lets some through to the closed gate (503) and
    # throttles the rest (429).
    (burst,) = bursts
    limits = h.THROTTLED_LIMITS
    assert set(burst) == {429, 503}, burst
    assert burst.count(503) <= limits.burst + 2, burst
    statuses = {a.get("status") for a in run.attempts()}
    assert 503 in statuses, "no client request met the outage"
    assert statuses <= {200, 202, 503}, statuses
    stored = h.read_stored(postgres_url)
    h.check_exactly_once(run, stored, every_job_succeeds=True)
    asyncio.run(h.check_partition(postgres_url, run))
