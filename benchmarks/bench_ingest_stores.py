"""Alerts/s stored through the ingest use case into memory, SQLite and PostgreSQL.

Cases: single-alert deliveries (generic format) and 100-alert Alertmanager batches, each
delivery with its own ``X-Delivery-ID`` (so the idempotency record is written too), from
``--companies`` client companies with ``--keys`` aggregation keys each, event times moving
forward (so alerts correlate into incidents), sent by ``--concurrency`` concurrent senders in
one process (what one server process sees). The in-memory ``Correlator`` figure of the core
benchmark is measured in the same run for comparison. Each case runs in a fresh process,
``--repeat`` times; the best run is reported (the machine's other load only ever slows a run).

    python -m benchmarks.bench_ingest_stores [--alerts N] [--concurrency C] [--cases a,b]

SQLite commits are durable (``synchronous=FULL``) unless ``--sqlite-synchronous NORMAL``.
PostgreSQL cases use ``AW_BENCH_POSTGRES_URL`` (else ``AW_TEST_POSTGRES_URL``) and work in a
schema of their own, dropped afterwards; without a URL they are skipped. Prints one JSON
object per case and a table on stderr, then one JSON object with every case on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks._processes import postgres_schema

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
API_KEY = "aw_" + "b" * 43
CASES = (
    "core_correlator",
    "memory_single",
    "memory_batch100",
    "sqlite_single",
    "sqlite_batch100",
    "postgres_single",
    "postgres_batch100",
)


Bodies = list[tuple[int, bytes, dict[str, str]]]


def _generic_bodies(n: int, keys: int, companies: int) -> Bodies:
    step = timedelta(hours=10) / n
    out = []
    for i in range(n):
        k = (i // companies) % keys
        body = json.dumps({
            "asset_name": f"srv-{k // 10:04d}", "signature": f"sig-{k % 10}",
            "severity": ("critical", "high", "medium", "low")[k % 4],
            "message": "threshold crossed", "tool_source": "Datadog",
            "timestamp": (START + step * i).isoformat(),
        }).encode()  # fmt: skip
        out.append((i % companies, body, {"x-delivery-id": f"single-{i}"}))
    return out


def _batch_bodies(n: int, keys: int, companies: int, size: int = 100) -> Bodies:
    step = timedelta(hours=10) / n
    out = []
    for b in range(n // size):
        alerts = []
        for j in range(size):
            i = b * size + j
            k = ((b // companies) * size + j) % keys
            alerts.append({
                "status": "firing", "startsAt": (START + step * i).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z", "fingerprint": f"{k:016x}",
                "labels": {"alertname": f"sig-{k % 10}", "instance": f"srv-{k // 10:04d}:9100",
                           "severity": "high"},
                "annotations": {"summary": "threshold crossed"},
            })  # fmt: skip
        body = json.dumps({"version": "4", "groupKey": f"g{b}", "alerts": alerts}).encode()
        headers = {"x-delivery-id": f"batch-{b}", "user-agent": "Alertmanager/0.25.0"}
        out.append((b % companies, body, headers))
    return out


class _Ids:
    def __init__(self) -> None:
        self._counter = itertools.count()
        self._prefix = uuid.uuid4().hex[:8]

    def new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):x}"

    def token_bytes(self, n: int) -> bytes:
        return os.urandom(n)


async def _ingest(store: Any, bodies: Bodies, concurrency: int, alerts_per_body: int,
                  companies: int) -> dict[str, Any]:  # fmt: skip
    from alertwhisperer_core import Company, CompanySettings, RateLimitSettings, hash_api_key
    from alertwhisperer_core.memory import (
        InMemoryEventBus,
        InMemoryRateLimiter,
        InMemoryReplayGuard,
        ManualClock,
    )
    from alertwhisperer_core.service import Services, WebhookRequest, ingest_webhook

    limits = RateLimitSettings(requests_per_minute=1000, burst=100_000)
    async with store() as uow:
        for c in range(companies):
            company = Company(
                id=f"bench-{c}", name=f"Bench {c}", created_at=START,
                settings=CompanySettings(rate_limit=limits),
                api_key_hash=hash_api_key(f"{API_KEY}{c}"),
            )  # fmt: skip
            await uow.companies.add(company)
        await uow.commit()
    services = Services(
        uow=store, rate_limiter=InMemoryRateLimiter(), replay_guard=InMemoryReplayGuard(),
        events=InMemoryEventBus(history=10), clock=ManualClock(START + timedelta(hours=11)),
        ids=_Ids(),
    )  # fmt: skip
    requests = [
        WebhookRequest(body=b, headers=h, query={"api_key": f"{API_KEY}{c}"}) for c, b, h in bodies
    ]
    queue = iter(requests)
    latencies: list[float] = []

    async def sender() -> None:
        for request in queue:
            t0 = time.perf_counter()
            outcome = await ingest_webhook(services, request)
            latencies.append(time.perf_counter() - t0)
            assert outcome.status == 202, outcome.body

    t0 = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    alerts = len(requests) * alerts_per_body
    return {
        "alerts": alerts,
        "deliveries": len(requests),
        "concurrency": concurrency,
        "seconds": round(elapsed, 3),
        "alerts_per_s": round(alerts / elapsed),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
    }


async def _run_store_case(backend: str, shape: str, alerts: int, concurrency: int, keys: int,
                          companies: int) -> dict[str, Any] | None:  # fmt: skip
    if shape == "single":
        bodies, per_body = _generic_bodies(alerts, keys, companies), 1
    else:
        bodies, per_body = _batch_bodies(alerts, keys, companies), 100
    if backend == "memory":
        from alertwhisperer_core.memory import InMemoryStore

        return await _ingest(InMemoryStore(), bodies, concurrency, per_body, companies)
    from alertwhisperer_adapters.sql import open_sql_store

    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            synchronous = os.environ.get("AW_BENCH_SQLITE_SYNCHRONOUS", "FULL")
            store = await open_sql_store(
                f"sqlite:///{tmp}/bench.db", sqlite_synchronous=synchronous
            )
            try:
                return await _ingest(store, bodies, concurrency, per_body, companies)
            finally:
                await store.close()
    with postgres_schema() as url:
        if url is None:
            return None
        store = await open_sql_store(url, pool_size=max(concurrency, 5))
        try:
            return await _ingest(store, bodies, concurrency, per_body, companies)
        finally:
            await store.close()


def _core_correlator(alerts: int, keys: int) -> dict[str, Any]:
    """The core benchmark's own figure (its command line is its interface)."""
    command = [sys.executable, "-m", "benchmarks.core_pipeline", "--alerts", str(alerts),
               "--keys", str(keys)]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    core = json.loads(out.strip().splitlines()[-1])
    return {"alerts": alerts, "alerts_per_s": round(core["pipeline_alerts_per_s"])}


def run_case(case: str, alerts: int, concurrency: int, keys: int,
             companies: int) -> dict[str, Any] | None:  # fmt: skip
    """Run one case in this process; None when its back end is not available."""
    if case == "core_correlator":
        result: dict[str, Any] | None = _core_correlator(max(alerts, 100_000), keys * companies)
    else:
        backend, shape = case.split("_")
        result = asyncio.run(_run_store_case(backend, shape, alerts, concurrency, keys, companies))
    if result is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result = {"case": case, **result, "peak_rss_mib": round(peak / 1024, 1)}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=20_000, help="alerts per batch case")
    parser.add_argument("--single-alerts", type=int, default=5_000, help="alerts per single case")
    parser.add_argument("--keys", type=int, default=25, help="aggregation keys per company")
    parser.add_argument("--companies", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best counts")
    parser.add_argument(
        "--sqlite-synchronous", choices=("FULL", "NORMAL"), default="FULL",
        help="FULL (default): every commit on disk before the answer; NORMAL: no fsync",
    )  # fmt: skip
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case here
    args = parser.parse_args(argv)
    if args.case:
        alerts = args.single_alerts if args.case.endswith("single") else args.alerts
        result = run_case(args.case, alerts, args.concurrency, args.keys, args.companies)
        print(json.dumps(result))
        return
    os.environ["AW_BENCH_SQLITE_SYNCHRONOUS"] = args.sqlite_synchronous
    results = []
    for case in args.cases.split(","):
        command = [sys.executable, "-m", "benchmarks.bench_ingest_stores", "--case", case,
                   "--alerts", str(args.alerts), "--single-alerts", str(args.single_alerts),
                   "--keys", str(args.keys), "--companies", str(args.companies),
                   "--concurrency", str(args.concurrency)]  # fmt: skip
        runs = []
        for _ in range(max(args.repeat, 1)):
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        if runs[0] is None:
            result = {"case": case, "skipped": "no PostgreSQL URL (AW_BENCH_POSTGRES_URL)"}
        else:
            result = max(runs, key=lambda r: r["alerts_per_s"])
            result["runs_alerts_per_s"] = [r["alerts_per_s"] for r in runs]
        print(json.dumps(result), file=sys.stderr, flush=True)
        results.append(result)
    print(f"\n{'case':<20} {'alerts/s':>10} {'p50 ms':>8} {'p99 ms':>8}", file=sys.stderr)
    for r in results:
        if "skipped" in r:
            print(f"{r['case']:<20} skipped: {r['skipped']}", file=sys.stderr)
            continue
        print(f"{r['case']:<20} {r['alerts_per_s']:>10,} {r.get('p50_ms', ''):>8} "
              f"{r.get('p99_ms', ''):>8}", file=sys.stderr)  # fmt: skip
    # Last, on stdout: the one JSON object the suite's runner reads.
    print(json.dumps({
        "case": "ingest_stores", "concurrency": args.concurrency, "repeat": args.repeat,
        "sqlite_synchronous": args.sqlite_synchronous, "results": results,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
