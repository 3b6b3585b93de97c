"""Webhook requests/s and latency over real HTTP: one uvicorn worker, wrk in another process.

Each case starts a fresh ``alertwhisperer serve`` (one worker, 127.0.0.1) on its store, creates
a company through the API, and points wrk at ``POST /api/webhooks/alerts``. Every request has
its own ``X-Delivery-ID``, so the idempotency record is written as in production.

Cases, for each store (``memory``, ``sqlite``, and ``postgres`` when ``AW_BENCH_POSTGRES_URL``
or ``AW_TEST_POSTGRES_URL`` is set):

``<store>_single_rate``
    One generic alert per request at a fixed offered rate (``--rate``, default 1000/s): wrk's
    connections each wait ``connections / rate`` between requests. Reports p50/p99 latency.
``<store>_single_max``
    One alert per request, as fast as the server answers (``--connections`` in flight).
``<store>_batch100_max``
    100-alert Alertmanager payloads, as fast as the server answers. Reports alerts/s.

The server runs with ``AW_LOG_LEVEL=WARNING`` (no access log line per request). Alerts/s come
from the server's own ``aw_alerts_ingested_total`` counter, so only stored alerts count.

wrk comes from Debian's ``wrk`` package: installed with apt-get when missing and running as
root; otherwise the benchmark says SKIPPED and exits 0.

    python -m benchmarks.bench_http [--duration 15] [--rate 1000] [--connections 32]
                                    [--cases memory_single_rate,sqlite_batch100_max,...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._processes import (
    company,
    ensure_wrk,
    ingested,
    postgres_schema,
    server,
    wrk_script,
)

STORES = ("memory", "sqlite", "postgres")
SHAPES = ("single_rate", "single_max", "batch100_max")
CASES = tuple(f"{store}_{shape}" for store in STORES for shape in SHAPES)


@contextmanager
def _store_url(store: str, workdir: Path) -> Iterator[str | None]:
    if store == "memory":
        yield "memory://"
    elif store == "sqlite":
        yield f"sqlite:///{workdir}/aw.db"
    else:
        with postgres_schema("aw_bench_http") as url:
            yield url


def _single_bodies(keys: int = 1000) -> list[str]:
    return [json.dumps({
        "asset_name": f"srv-{k // 10:04d}", "signature": f"sig-{k % 10}",
        "severity": ("critical", "high", "medium", "low")[k % 4],
        "message": "threshold crossed", "tool_source": "Bench",
    }) for k in range(keys)]  # fmt: skip


def _batch_bodies(count: int = 20, size: int = 100) -> list[str]:
    starts = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    bodies = []
    for b in range(count):
        alerts = [{
            "status": "firing", "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": f"{b * size + j:016x}",
            "labels": {"alertname": f"sig-{j % 10}", "instance": f"srv-{b:02d}{j // 10:02d}:9100",
                       "severity": "high"},
            "annotations": {"summary": "threshold crossed"},
        } for j in range(size)]  # fmt: skip
        bodies.append(json.dumps({"version": "4", "groupKey": f"bench-{b}", "status": "firing",
                                  "receiver": "aw", "alerts": alerts}))  # fmt: skip
    return bodies


def run_case(case: str, wrk: str, duration: int, rate: int, connections: int) -> dict[str, Any]:
    """Run one case in a fresh server; the result as a JSON-able dict."""
    store, shape = case.split("_", 1)
    with tempfile.TemporaryDirectory() as tmp, _store_url(store, Path(tmp)) as url:
        if url is None:
            return {"case": case, "skipped": "no PostgreSQL URL (AW_BENCH_POSTGRES_URL)"}
        with server(url, Path(tmp)) as (base, _):
            path = f"/api/webhooks/alerts?api_key={company(base).api_key}"
            if shape.startswith("batch100"):
                bodies, per_request = _batch_bodies(), 100
                headers = {"Content-Type": "application/json",
                           "User-Agent": "Alertmanager/0.25.0"}  # fmt: skip
            else:
                bodies, per_request = _single_bodies(), 1
                headers = {"Content-Type": "application/json"}
            conns = connections
            delay_ms = None
            if shape == "single_rate":
                conns = max(1, min(connections, rate // 20))
                delay_ms = conns / rate * 1000.0
            script = Path(tmp) / "bench.lua"
            script.write_text(wrk_script(path, bodies, headers, delay_ms))
            # Warm up (imports, connection pool, first incidents) before measuring.
            subprocess.run([wrk, "-t1", "-c4", "-d2s", "-s", str(script), base, "--", "warmup"],
                           capture_output=True, check=True)  # fmt: skip
            before = ingested(base)
            done = subprocess.run(
                [wrk, "-t2", f"-c{conns}", f"-d{duration}s", "--timeout", "10s", "-s",
                 str(script), base, "--", "measured"], capture_output=True, text=True, check=True,
            )  # fmt: skip
            after = ingested(base)
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = stats["duration_us"] / 1e6
    return {
        "case": case, "connections": conns, "offered_rate": rate if delay_ms else None,
        "requests_per_s": round(stats["requests"] / seconds, 1),
        "alerts_per_s": round((after - before) / seconds, 1),
        "alerts_per_request": per_request,
        **{k: stats[k] for k in ("requests", "non_2xx", "socket_errors", "p50_ms", "p90_ms",
                                 "p99_ms", "max_ms")},
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)  # one case, in a fresh process
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    if wrk is None:
        print("SKIPPED: wrk is not installed and could not be installed (apt-get install wrk)")
        return 0
    if args.case:
        result = run_case(args.case, wrk, args.duration, args.rate, args.connections)
        print(json.dumps(result))
        return 0
    results = []
    for case in args.cases.split(","):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_http", "--case", case,
             "--duration", str(args.duration), "--rate", str(args.rate),
             "--connections", str(args.connections)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            results.append({"case": case, "error": done.stderr.strip().splitlines()[-1:]})
        else:
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    print(f"\n{'case':28} {'req/s':>9} {'alerts/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for r in results:
        if "requests_per_s" in r:
            print(f"{r['case']:28} {r['requests_per_s']:>9} {r['alerts_per_s']:>10} "
                  f"{r['p50_ms']:>8} {r['p99_ms']:>8} {r['non_2xx']:>8}")  # fmt: skip
        else:
            print(f"{r['case']:28} {r.get('skipped') or r.get('error')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
