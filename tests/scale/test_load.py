"""Issue #8, item 3: four server processes (``serve --workers 4``) on PostgreSQL (and Redis when
the Redis adapter is installed) take an alert storm with duplicate deliveries and one company
far over its rate limit; afterwards the database is checked exactly against every answer."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertwhisperer_adapters.sql import open_sql_store

from ..conftest import service_url
from ..contract._databases import postgres_schema
from ..support.private_services import private_redis
from ..support.servers import running_server
from . import _harness as h

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 4
CLIENTS = 3
STORM_ALERTS = 500
THROTTLED_REQUESTS = 100


def redis_adapter_installed() -> bool:
    """Whether the Redis adapter is there (the composition root's entry point included)."""
    if importlib.util.find_spec("alertwhisperer_adapters.redis") is None:
        return False
    module = importlib.import_module("alertwhisperer_adapters.redis")
    return hasattr(module, "open_redis_backends")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL")) as url:
        yield url


async def _prepare(url: str) -> None:
    store = await open_sql_store(url, upgrade=False)
    try:
        await h.add_companies(store)
    finally:
        await store.close()


@pytest.mark.parametrize("shared", ["postgres", "postgres+redis"])
def test_four_processes_store_every_accepted_delivery_once_and_hold_the_rate_limit(
    shared: str, postgres_url: str, tmp_path: Path
) -> None:
    with_redis = shared.endswith("redis")
    if with_redis and not redis_adapter_installed():
        pytest.skip("the Redis adapter (alertwhisperer_adapters.redis) is not in this tree yet")
    asyncio.run(_prepare(postgres_url))
    jobs = h.interleave(h.storm(STORM_ALERTS), h.throttled_jobs(THROTTLED_REQUESTS))
    with private_redis(tmp_path) if with_redis else _nothing() as redis:
        env = h.server_env(postgres_url, **({"AW_REDIS_URL": redis.url} if redis else {}))
        with running_server(tmp_path, env, workers=WORKERS) as server:
            h.wait_until(lambda: len(h.worker_pids(server.process.pid)) == WORKERS, 60,
                         "four workers")  # fmt: skip
            run = h.run_storm(server.base_url, h.deal(jobs, CLIENTS), tmp_path)
    stored = h.read_stored(postgres_url)

    errors = [a for a in run.attempts() if "error" in a or a["status"] not in (200, 202, 429, 503)]
    assert not errors, f"connection errors or 5xx other than 503: {errors[:5]}"
    h.check_exactly_once(run, stored, every_job_succeeds=False)
    storm_deliveries = [d for d in run.deliveries.values() if d.company != h.THROTTLED]
    assert all(d.succeeded for d in storm_deliveries), "a storm delivery was never accepted"
    sent_twice = [d for d in storm_deliveries if len(d.finals) > 1]
    assert len(sent_twice) > 50, "the storm should deliver many ids more than once"
    assert any(d.duplicates for d in sent_twice), "no duplicate was ever answered 200"

    # The throttled company: every request that passed the token bucket took a token.
    throttled = run.of_company(h.THROTTLED)
    passed = [a for d in throttled for a in d.accepted + d.duplicates]
    refused = [a for d in throttled for a in d.attempts if a.get("status") == 429]
    assert len(passed) + len(refused) == sum(len(d.attempts) for d in throttled)
    first = min(a["t0"] for d in throttled for a in d.attempts)
    last = max(a["t1"] for a in passed)
    limits = h.THROTTLED_LIMITS
    allowance = limits.burst + limits.requests_per_minute / 60 * (last - first)
    # With Redis the bucket is shared; without, each process has its own.
    processes = 1 if with_redis else WORKERS
    assert limits.burst <= len(passed) <= processes * allowance, (len(passed), allowance)
    assert refused
    assert all(a["retry_after"] and int(a["retry_after"]) >= 1 for a in refused)
    assert all(a["body"]["backoff_policy"] == "token bucket" for a in refused)

    asyncio.run(h.check_partition(postgres_url, run))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: object) -> None:
        return None
