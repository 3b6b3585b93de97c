"""A webhook storm over real HTTP from client processes, every response recorded, and the exact
checks that must hold afterwards in the database.

The storm is the shared one of ``tests/support/storm_processes`` (fires only, so the partition
of alerts into incidents does not depend on arrival order), moved to the last few hours: the
server reads the wall clock and clamps event times in its future. Each client process sends its
share with a few requests in flight and behaves like a sender: on a connection error or a 5xx
it sends the same delivery again (same body, same ``X-Delivery-ID``) until it gets a definite
answer (2xx or 4xx) or gives up.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from benchmarks._processes import worker_pids as worker_pids  # the tests' h.worker_pids

from alertwhisperer_core import (
    Company,
    CompanySettings,
    RateLimitSettings,
    hash_api_key,
)
from alertwhisperer_core.memory import (
    InMemoryEventBus,
    InMemoryRateLimiter,
    InMemoryReplayGuard,
    InMemoryStore,
    ManualClock,
)
from alertwhisperer_core.ports import UnitOfWorkFactory
from alertwhisperer_core.service import Services

from ..support import storm_processes

COMPANIES = storm_processes.COMPANIES
THROTTLED = COMPANIES  # the index of the company far over its rate limit
THROTTLED_LIMITS = RateLimitSettings(requests_per_minute=6, burst=10)
ROOMY_LIMITS = RateLimitSettings(requests_per_minute=1000, burst=100_000)
SECRET_KEY = "scale-test-secret-key-0123456789"
ADMIN = ("scale@example.test", "scale test admin password")
Job = storm_processes.Delivery  # (company index, body, headers)


def api_key(company: int) -> str:
    return storm_processes.api_key(company)


def storm_start() -> datetime:
    """Event times of the storm: from three hours ago, in whole seconds."""
    return (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)


def storm(alerts: int) -> list[Job]:
    return storm_processes.storm(alerts, storm_start())


def throttled_jobs(count: int) -> list[Job]:
    """Single generic alerts from the throttled company, each its own delivery."""
    start = storm_start()
    jobs: list[Job] = []
    for n in range(count):
        at = start + timedelta(seconds=20 * n)
        body = {"asset_name": f"c{THROTTLED}-web-{n % 5}", "signature": "http_5xx_rate",
                "severity": "high", "message": "errors", "tool_source": "Generic",
                "timestamp": at.isoformat()}  # fmt: skip
        jobs.append((THROTTLED, json.dumps(body).encode(), {
            "content-type": "application/json", "x-delivery-id": f"throttled-{n}"}))  # fmt: skip
    return jobs


def deal(jobs: Sequence[Job], clients: int) -> list[list[Job]]:
    """Round-robin to the clients; every tenth job is also sent by another client (a sender
    delivering twice, concurrently, through another connection)."""
    shares: list[list[Job]] = [[] for _ in range(clients)]
    for n, job in enumerate(jobs):
        shares[n % clients].append(job)
        if n % 10 == 0 and clients > 1:
            shares[(n + 1) % clients].append(job)
    return shares


def interleave(first: Sequence[Job], second: Sequence[Job]) -> list[Job]:
    """``second`` spread evenly through ``first``."""
    out: list[Job] = []
    step = max(1, len(first) // max(1, len(second)))
    rest = list(second)
    for n, job in enumerate(first):
        out.append(job)
        if n % step == 0 and rest:
            out.append(rest.pop(0))
    return out + rest


async def add_companies(store: UnitOfWorkFactory, *, throttled: bool = True) -> None:
    """The storm's companies (roomy limits) and, with ``throttled``, one with tight limits."""
    now = datetime.now(UTC)
    async with store() as uow:
        for n in range(COMPANIES + 1):
            limits = THROTTLED_LIMITS if throttled and n == THROTTLED else ROOMY_LIMITS
            await uow.companies.add(Company(
                id=f"c{n}", name=f"C{n}", created_at=now,
                settings=CompanySettings(rate_limit=limits), api_key_hash=hash_api_key(api_key(n)),
            ))  # fmt: skip
        await uow.commit()


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "AW_DATABASE_URL": database_url, "AW_SECRET_KEY": SECRET_KEY,
        "AW_ADMIN_EMAIL": ADMIN[0], "AW_ADMIN_PASSWORD": ADMIN[1], "AW_LOG_LEVEL": "WARNING",
        **extra,
    }  # fmt: skip


# --- client processes --------------------------------------------------------------------------


@attrs.frozen
class ClientPolicy:
    concurrency: int = 4
    timeout: float = 60.0  # per request
    give_up_after: float = 120.0  # per job, retries included
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})


def _client_main(
    base_url: str, jobs: list[Job], out: str, policy: ClientPolicy, start: Any, progress: Any
) -> None:
    import httpx

    async def send(client: httpx.AsyncClient, job: Job) -> dict[str, Any]:
        company, body, headers = job
        attempts: list[dict[str, Any]] = []
        began = time.monotonic()
        delay = 0.1
        while True:
            t0 = time.monotonic()
            record: dict[str, Any] = {"t0": t0}
            try:
                response = await client.post(
                    "/api/webhooks/alerts", params={"api_key": api_key(company)},
                    content=body, headers=headers,
                )  # fmt: skip
                record["status"] = response.status_code
                record["retry_after"] = response.headers.get("retry-after")
                try:
                    record["body"] = response.json()
                except ValueError:
                    record["body"] = response.text[:200]
            except httpx.HTTPError as error:
                record["error"] = type(error).__name__
            record["t1"] = time.monotonic()
            attempts.append(record)
            status = record.get("status")
            if status is not None and status not in policy.retry_statuses:
                break
            if time.monotonic() - began > policy.give_up_after:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)
        progress.value += 1  # one writer per slot: this process's own counter
        return {"company": company, "delivery_id": headers["x-delivery-id"], "attempts": attempts}

    async def run() -> list[dict[str, Any]]:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        results: list[dict[str, Any]] = []
        limits = httpx.Limits(max_connections=policy.concurrency)
        async with httpx.AsyncClient(base_url=base_url, timeout=policy.timeout,
                                     limits=limits) as client:  # fmt: skip

            async def worker() -> None:
                while not queue.empty():
                    results.append(await send(client, queue.get_nowait()))

            start.wait()
            await asyncio.gather(*(worker() for _ in range(policy.concurrency)))
        return results

    Path(out).write_text(json.dumps(asyncio.run(run())))


@attrs.define
class Delivery:
    """Everything one delivery id got from the server, over every send of it."""

    company: int
    delivery_id: str
    attempts: list[dict[str, Any]] = attrs.field(factory=list)
    finals: list[dict[str, Any]] = attrs.field(factory=list)  # each send's last answer

    @property
    def key(self) -> tuple[str, str]:
        return (f"c{self.company}", self.delivery_id)

    def statuses(self) -> list[int | None]:
        return [a.get("status") for a in self.attempts]

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [a for a in self.attempts if a.get("status") == 202]

    @property
    def duplicates(self) -> list[dict[str, Any]]:
        return [a for a in self.attempts if a.get("status") == 200]

    @property
    def succeeded(self) -> bool:
        return bool(self.accepted or self.duplicates)

    @property
    def unknown_outcome(self) -> bool:
        """Whether some send may have been stored without the client hearing of it."""
        return any("error" in a or (a.get("status") or 0) >= 500 for a in self.attempts)


@attrs.define
class StormRun:
    deliveries: dict[tuple[str, str], Delivery]
    jobs: list[Job]
    seconds: float

    def attempts(self) -> list[dict[str, Any]]:
        return [a for d in self.deliveries.values() for a in d.attempts]

    def of_company(self, company: int) -> list[Delivery]:
        return [d for d in self.deliveries.values() if d.company == company]


def run_storm(
    base_url: str,
    shares: list[list[Job]],
    workdir: Path,
    policy: ClientPolicy = ClientPolicy(),
    during: Callable[[Callable[[], int], int], None] | None = None,
    timeout: float = 240.0,
) -> StormRun:
    """Send every share from its own process, all starting together; ``during(done, total)``
    runs in this process meanwhile (``done()`` counts finished jobs). Returns every answer."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    counters = [context.Value("i", 0) for _ in shares]
    outs = [workdir / f"client-{n}.json" for n in range(len(shares))]
    clients = [
        context.Process(
            target=_client_main, args=(base_url, share, str(out), policy, start, counter)
        )
        for share, out, counter in zip(shares, outs, counters, strict=True)
    ]
    for client in clients:
        client.start()
    total = sum(len(share) for share in shares)

    def done() -> int:
        return sum(counter.value for counter in counters)

    began = time.monotonic()
    start.set()
    try:
        if during is not None:
            during(done, total)
        for client in clients:
            client.join(timeout=max(1.0, timeout - (time.monotonic() - began)))
        stuck = [c for c in clients if c.is_alive()]
        assert not stuck, f"{len(stuck)} client(s) still busy after {timeout}s ({done()}/{total})"
    finally:
        for client in clients:
            if client.is_alive():
                client.kill()
                client.join(5)
    seconds = time.monotonic() - began
    assert [c.exitcode for c in clients] == [0] * len(clients), "a client process failed"
    deliveries: dict[tuple[str, str], Delivery] = {}
    for out in outs:
        for sent in json.loads(out.read_text()):
            key = (f"c{sent['company']}", sent["delivery_id"])
            delivery = deliveries.setdefault(key, Delivery(sent["company"], sent["delivery_id"]))
            delivery.attempts.extend(sent["attempts"])
            delivery.finals.append(sent["attempts"][-1])
    jobs = [job for share in shares for job in share]
    return StormRun(deliveries, jobs, seconds)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout}s")
        time.sleep(0.05)


# --- server processes ------------------------------------------------------------------------


def kill_worker(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


# --- what must hold afterwards -----------------------------------------------------------------


@attrs.frozen
class Stored:
    """What the database holds: delivery records, and each alert's delivery id."""

    deliveries: dict[tuple[str, str], list[str]]  # (company, delivery id) → alert ids
    alerts: dict[str, tuple[str, str]]  # alert id → (company, delivery id)
    alert_rows: int


def read_stored(url: str) -> Stored:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        records = conn.execute(
            "SELECT company_id, delivery_id, alert_ids FROM deliveries"
        ).fetchall()
        alerts = conn.execute("SELECT id, company_id, delivery_id FROM alerts").fetchall()
    return Stored(
        deliveries={(c, d): json.loads(ids) for c, d, ids in records},
        alerts={a: (c, d) for a, c, d in alerts},
        alert_rows=len(alerts),
    )


def check_exactly_once(run: StormRun, stored: Stored, *, every_job_succeeds: bool) -> None:
    """Every accepted delivery stored once with the alerts it was answered with, every refused
    one never, duplicates answered with the first ids, no delivery half-stored."""
    problems: list[str] = []
    for key, delivery in run.deliveries.items():
        accepted = delivery.accepted
        record = stored.deliveries.get(key)
        if len(accepted) > 1:
            problems.append(f"{key}: accepted {len(accepted)} times")
        if every_job_succeeds and not all(f.get("status") in (200, 202) for f in delivery.finals):
            problems.append(f"{key}: a send ended without success: {delivery.statuses()}")
        if delivery.succeeded:
            if record is None:
                problems.append(f"{key}: answered {delivery.statuses()} but not stored")
                continue
            for answer in accepted + delivery.duplicates:
                if answer["body"]["alert_ids"] != record:
                    problems.append(f"{key}: answered ids {answer['body']} but stored {record}")
            for answer in delivery.duplicates:
                if answer["body"]["duplicate"] is not True:
                    problems.append(f"{key}: 200 without duplicate: true")
        elif record is not None and not delivery.unknown_outcome:
            problems.append(f"{key}: refused {delivery.statuses()} but stored")
    unsent = set(stored.deliveries) - set(run.deliveries)
    if unsent:
        problems.append(f"stored deliveries nobody sent: {sorted(unsent)[:5]}")
    # All or nothing: a delivery's alerts are exactly the ones its record names.
    by_delivery: dict[tuple[str, str], set[str]] = {}
    for alert_id, key in stored.alerts.items():
        by_delivery.setdefault(key, set()).add(alert_id)
    for key, ids in stored.deliveries.items():
        if set(ids) != by_delivery.get(key, set()) or len(ids) != len(set(ids)):
            problems.append(f"{key}: record names {ids}, alerts stored {by_delivery.get(key)}")
    orphans = set(by_delivery) - set(stored.deliveries)
    if orphans:
        problems.append(f"alerts without a delivery record: {sorted(orphans)[:5]}")
    if stored.alert_rows != sum(len(ids) for ids in stored.deliveries.values()):
        problems.append("more alert rows than the delivery records name")
    assert not problems, f"{len(problems)} problem(s): " + "\n".join(problems[:20])


def accepted_jobs(run: StormRun) -> list[Job]:
    """One copy of every job whose delivery the server stored (by its answers)."""
    done = {key for key, d in run.deliveries.items() if d.succeeded}
    seen: set[tuple[str, str]] = set()
    jobs = []
    for job in run.jobs:
        key = (f"c{job[0]}", job[2]["x-delivery-id"])
        if key in done and key not in seen:
            seen.add(key)
            jobs.append(job)
    return jobs


class _Ids:
    def __init__(self) -> None:
        self._n = 0

    def new_id(self) -> str:
        self._n += 1
        return f"ref-{self._n}"

    def token_bytes(self, n: int) -> bytes:
        return bytes(n)


async def reference_partition(jobs: Sequence[Job]) -> Any:
    """The partition one process's in-memory core gives for ``jobs`` (in the order given)."""
    store = InMemoryStore()
    await add_companies(store, throttled=False)
    services = Services(uow=store, rate_limiter=InMemoryRateLimiter(),
                        replay_guard=InMemoryReplayGuard(), events=InMemoryEventBus(),
                        clock=ManualClock(datetime.now(UTC)), ids=_Ids())  # fmt: skip
    for job in jobs:
        await storm_processes.send(services, job)
    return await storm_processes.partition(store)


async def stored_partition(url: str) -> Any:
    from alertwhisperer_adapters.sql import open_sql_store

    store = await open_sql_store(url, upgrade=False)
    try:
        return await storm_processes.partition(store)
    finally:
        await store.close()


async def check_partition(url: str, run: StormRun) -> None:
    """The incidents equal those one in-memory process makes of the accepted alerts."""
    stored, partition = await stored_partition(url)
    expected, expected_partition = await reference_partition(accepted_jobs(run))
    assert len(stored) == len(set(stored)), "an alert was stored twice"
    assert sorted(stored) == sorted(expected), "stored alerts differ from the accepted ones"
    assert partition == expected_partition, "incidents differ from one process's"
