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
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STORES = ("memory", "sqlite", "postgres")
SHAPES = ("single_rate", "single_max", "batch100_max")
CASES = tuple(f"{store}_{shape}" for store in STORES for shape in SHAPES)
ADMIN = ("bench@example.test", "benchmark admin password")
_INGESTED = re.compile(r"^aw_alerts_ingested_total\{[^}]*\} (\S+)$", re.MULTILINE)


def ensure_wrk() -> str | None:
    """wrk's path; installs Debian's package when missing and possible."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(command, env=env, capture_output=True, check=False).returncode != 0:
            return None
    return shutil.which("wrk")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _call(base: str, method: str, path: str, body: Any = None,
          token: str | None = None) -> Any:  # fmt: skip
    data = json.dumps(body).encode() if body is not None else None
    # Loopback http:// URLs this script builds itself.
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" \
            else raw.decode()  # fmt: skip


@contextmanager
def _postgres_schema() -> Iterator[str | None]:
    base = os.environ.get("AW_BENCH_POSTGRES_URL") or os.environ.get("AW_TEST_POSTGRES_URL")
    if not base:
        yield None
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    plain = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"aw_bench_http_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def _store_url(store: str, workdir: Path) -> Iterator[str | None]:
    if store == "memory":
        yield "memory://"
    elif store == "sqlite":
        yield f"sqlite:///{workdir}/aw.db"
    else:
        with _postgres_schema() as url:
            yield url


def pin(pid: int, cpus: set[int] | None) -> None:
    """Pin process ``pid`` (threads it starts later too) to ``cpus``, where the OS allows it."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, cpus)


def split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """(server's CPUs, load generator's CPUs): one core each when there are two or more."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


@contextmanager
def _server(database_url: str, workdir: Path, cpus: set[int] | None = None) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AW_")}
    env.update({
        "AW_DATABASE_URL": database_url, "AW_ADMIN_EMAIL": ADMIN[0], "AW_ADMIN_PASSWORD": ADMIN[1],
        "AW_SECRET_KEY": "benchmark-secret-key-0123456789", "AW_LOG_LEVEL": "WARNING",
    })  # fmt: skip
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "alertwhisperer_adapters.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    pin(process.pid, cpus)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited; see {workdir / 'server.log'}")
            try:
                _call(base, "GET", "/readyz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _company(base: str, name: str = "Bench") -> str:
    token = _call(base, "POST", "/api/auth/login",
                  {"email": ADMIN[0], "password": ADMIN[1]})["access_token"]  # fmt: skip
    created = _call(base, "POST", "/api/companies", {
        "name": name, "rate_limit": {"requests_per_minute": 1000, "burst": 100_000},
    }, token)  # fmt: skip
    api_key: str = created["api_key"]
    return api_key


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


def _lua(path: str, bodies: list[str], headers: dict[str, str], delay_ms: float | None) -> str:
    pool = ",\n".join(json.dumps(b) for b in bodies)  # JSON strings are valid Lua strings here
    header_lines = "".join(f'wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n'
                           for k, v in headers.items())  # fmt: skip
    delay = f"function delay() return {delay_ms:.3f} end\n" if delay_ms else ""
    return f"""
wrk.method = "POST"
{header_lines}
local bodies = {{
{pool}
}}
local threads = {{}}
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
  table.insert(threads, thread)
end
local counter = 0
local run = "run"
function init(args)
  if args[1] then run = args[1] end
end
function request()
  counter = counter + 1
  -- Unique per run, thread and request: a repeated id would be answered as a duplicate.
  wrk.headers["X-Delivery-ID"] = run .. "-" .. tid .. "-" .. counter
  return wrk.format(nil, "{path}", nil, bodies[(counter % #bodies) + 1])
end
{delay}
function done(summary, latency, requests)
  local statuses = 0
  if summary.errors.status then statuses = summary.errors.status end
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}}\\n',
    summary.requests, summary.duration, statuses,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
"""


def _ingested(base: str) -> float:
    text = _call(base, "GET", "/metrics")
    return sum(float(v) for v in _INGESTED.findall(text))


def run_case(case: str, wrk: str, duration: int, rate: int, connections: int) -> dict[str, Any]:
    """Run one case in a fresh server; the result as a JSON-able dict."""
    store, shape = case.split("_", 1)
    with tempfile.TemporaryDirectory() as tmp, _store_url(store, Path(tmp)) as url:
        if url is None:
            return {"case": case, "skipped": "no PostgreSQL URL (AW_BENCH_POSTGRES_URL)"}
        with _server(url, Path(tmp)) as base:
            api_key = _company(base)
            path = f"/api/webhooks/alerts?api_key={api_key}"
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
            script.write_text(_lua(path, bodies, headers, delay_ms))
            # Warm up (imports, connection pool, first incidents) before measuring.
            subprocess.run([wrk, "-t1", "-c4", "-d2s", "-s", str(script), base, "--", "warmup"],
                           capture_output=True, check=True)  # fmt: skip
            before = _ingested(base)
            done = subprocess.run(
                [wrk, "-t2", f"-c{conns}", f"-d{duration}s", "--timeout", "10s", "-s",
                 str(script), base, "--", "measured"], capture_output=True, text=True, check=True,
            )  # fmt: skip
            after = _ingested(base)
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
