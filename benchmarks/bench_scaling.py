"""Alerts/s with 1, 2 and 4 server processes (``serve --workers N``) on PostgreSQL + Redis.

For each N, in the same run: a fresh PostgreSQL schema, ``alertwhisperer serve --workers N``
on 127.0.0.1 with ``AW_REDIS_URL`` pointing at a private ``redis-server`` (started here on a
free port, flushed between levels), one company with roomy limits, then wrk from a separate
process: one generic alert per request, each with its own ``X-Delivery-ID``, ``--connections``
in flight, ``--duration`` seconds after a warm-up. Alerts/s are counted in the database (rows
in ``alerts`` before and after), so only stored alerts count, whichever process stored them.

CPU saturation caveat: this machine has few cores shared by the server processes, PostgreSQL,
Redis and wrk. While the machine's CPUs are all busy, more processes cannot go faster: the
curve then shows where the *machine* saturates, not the design. Each level therefore reports
the machine's busy share (``/proc/stat``) and the CPU seconds per second taken by the server's
processes and by every ``postgres`` process (backends that ended during the run included,
through the postmaster's reaped-children counters), so the reader can see which part ran out
first. The PostgreSQL figure covers the whole server: other clients' work on it counts too.

PostgreSQL comes from ``AW_BENCH_POSTGRES_URL`` (else ``AW_TEST_POSTGRES_URL``); without one
(or without wrk) the benchmark says SKIPPED and exits 0. Without ``redis-server`` it runs on
PostgreSQL alone and says so.

    python -m benchmarks.bench_scaling [--levels 1,2,4] [--duration 15] [--connections 32]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks._processes import (
    children,
    company,
    ensure_wrk,
    free_port,
    postgres_base_url,
    postgres_schema,
    server,
    wrk_script,
)
from benchmarks.bench_http import _single_bodies

_CLK_TCK = os.sysconf("SC_CLK_TCK")


@contextmanager
def _redis(workdir: Path) -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), 1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait(10)


def _redis_flush(url: str) -> None:
    host, port = url.removeprefix("redis://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), 5) as conn:
        conn.sendall(b"FLUSHALL\r\n")
        conn.recv(16)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children(current)
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds used so far by ``pids`` *and by their children that have ended*.

    A process's own utime + stime vanish with it; once its parent reaps it they move to the
    parent's cutime + cstime. Counting both keeps the figure cumulative, so the difference of
    two readings is the CPU used in between, even when processes (PostgreSQL backends of
    connections that closed, autovacuum workers) ended meanwhile. Summing only utime + stime of
    the processes alive at each reading lost the ended ones' time and could go negative.
    """
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime (fields 14-17 of proc(5); the list starts at field 3)
        total += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return total / _CLK_TCK


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _alert_rows(url: str) -> int:
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        row = conn.execute("SELECT count(*) FROM alerts").fetchone()
    return int(row[0]) if row else 0


def run_level(workers: int, redis_url: str | None, wrk: str, duration: int, connections: int,
              workdir: Path) -> dict[str, Any]:  # fmt: skip
    with postgres_schema("aw_bench_scaling") as url:
        assert url is not None
        if redis_url:
            _redis_flush(redis_url)
        with server(url, workdir, workers=workers, redis_url=redis_url) as (base, server_pid):
            api_key = company(base, "Scaling").api_key
            script = workdir / f"scaling-{workers}.lua"
            script.write_text(wrk_script(f"/api/webhooks/alerts?api_key={api_key}",
                                         _single_bodies(), {"Content-Type": "application/json"},
                                         None))  # fmt: skip
            run = f"w{workers}-{uuid.uuid4().hex[:6]}"
            # Warm up every worker (imports, pools, caches) before measuring.
            subprocess.run([wrk, "-t1", f"-c{connections}", "-d3s", "-s", str(script), base,
                            "--", f"{run}-warm"], capture_output=True, check=True)  # fmt: skip
            rows_before = _alert_rows(url)
            cpu_server = _cpu_seconds(_tree(server_pid))
            cpu_pg = _cpu_seconds(_postgres_pids())
            busy0, total0 = _machine_ticks()
            started = time.monotonic()
            done = subprocess.run(
                [wrk, "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "-s",
                 str(script), base, "--", run], capture_output=True, text=True, check=True,
            )  # fmt: skip
            seconds = time.monotonic() - started
            busy1, total1 = _machine_ticks()
            cpu_server = _cpu_seconds(_tree(server_pid)) - cpu_server
            cpu_pg = _cpu_seconds(_postgres_pids()) - cpu_pg
            rows_after = _alert_rows(url)
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "workers": workers,
        "alerts_per_s": round((rows_after - rows_before) / seconds, 1),
        "requests_per_s": round(stats["requests"] / (stats["duration_us"] / 1e6), 1),
        "non_2xx": stats["non_2xx"], "socket_errors": stats["socket_errors"],
        "p50_ms": stats["p50_ms"], "p99_ms": stats["p99_ms"],
        "machine_busy": round((busy1 - busy0) / max(1, total1 - total0), 3),
        "server_cpu_per_s": round(cpu_server / seconds, 2),
        "postgres_cpu_per_s": round(cpu_pg / seconds, 2),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    wrk = ensure_wrk()
    if wrk is None or not postgres_base_url():
        print(json.dumps({"case": "bench_scaling", "skipped": "needs wrk and a PostgreSQL URL"}))
        return 0
    levels = [int(n) for n in args.levels.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp, _redis(Path(tmp)) as redis_url:
        load_before = Path("/proc/loadavg").read_text().split()[0]
        for workers in levels:
            result = run_level(workers, redis_url, wrk, args.duration, args.connections, Path(tmp))
            results.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
    first = results[0]["alerts_per_s"] or 1.0
    for result in results:
        result["speedup"] = round(result["alerts_per_s"] / first, 2)
    print(f"\n{'workers':>7} {'alerts/s':>9} {'speedup':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'busy':>6} {'server cpu/s':>12} {'pg cpu/s':>9}", file=sys.stderr)  # fmt: skip
    for r in results:
        print(f"{r['workers']:>7} {r['alerts_per_s']:>9} {r['speedup']:>8} {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['machine_busy']:>6.0%} {r['server_cpu_per_s']:>12} "
              f"{r['postgres_cpu_per_s']:>9}", file=sys.stderr)  # fmt: skip
    print(json.dumps({
        "case": "bench_scaling", "redis": bool(redis_url), "cores": os.cpu_count(),
        "load_average_at_start": load_before, "duration_s": args.duration,
        "connections": args.connections, "levels": results,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
