"""The HTTP server's latency against offered load: p50/p99 at several rates, open loop.

One ``alertwhisperer serve`` (one uvicorn worker, embedded SQLite store, durable commits) per
shape, pinned to one core; the load comes from :mod:`benchmarks._openloop` in a second process
pinned to the other core. Open loop: requests leave on a fixed schedule whether or not earlier
ones were answered, and latency counts from when a request was due, so queueing in front of a
saturated server shows up (wrk, closed loop, would wait politely and hide it).

Shapes, both cut from the shared storm generator (:mod:`benchmarks._streams`):

``single``
    one alert per request, the storm's own deliveries in five tools' formats;
``batch100``
    100-alert Alertmanager webhook payloads.

Each rate runs ``--duration`` seconds against a fresh company (so the rate limiter's bucket is
full), after a short warm-up. Stored alerts/s come from the server's own
``aw_alerts_ingested_total``.

    python -m benchmarks.http_latency [--duration 8] [--single-rates 100,250,500,1000]
                                      [--batch-rates 500,1000,2000,4000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import _streams
from benchmarks._processes import company, ingested, pin, server, split_cpus

SINGLE_RATES = (100, 250, 500, 1000)  # alerts/s = requests/s
BATCH_RATES = (500, 1000, 2000, 4000)  # alerts/s, in 100-alert requests
DRAIN_S = 5.0  # answers later than this after the schedule ends count as lost
P99_TARGET_MS = 50.0  # at 1,000 single alerts/s (the reference server's target)


def open_loop(spec: dict[str, Any], workdir: Path, cpus: set[int] | None) -> dict[str, Any]:
    """Run the open-loop generator in its own process, pinned to ``cpus``."""
    path = workdir / "spec.json"
    path.write_text(json.dumps(spec))
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks._openloop", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    pin(process.pid, cpus)
    out, err = process.communicate(timeout=spec["duration"] + spec["drain"] + 60)
    if process.returncode != 0:
        raise RuntimeError(f"load generator failed: {err.strip().splitlines()[-1:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def measure(
    shape: str, rates: list[int], duration: float, connections: int
) -> list[dict[str, Any]]:
    """One server for ``shape``; one open-loop run per offered rate (alerts/s)."""
    server_cpus, client_cpus = split_cpus()
    per_request = 100 if shape == "batch100" else 1
    if shape == "batch100":
        bodies = [_streams.webhook_body(b, n) for n, b in enumerate(_streams.batches(20_000))]
        headers = {"Content-Type": "application/json", "User-Agent": "Alertmanager/0.25.0"}
    else:
        bodies = _streams.single_bodies(5_000)
        headers = {"Content-Type": "application/json"}
    points = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with server(f"sqlite:///{workdir}/aw.db", workdir, cpus=server_cpus) as (base, _):
            port = int(base.rsplit(":", 1)[1])
            for n, rate in enumerate(rates):
                api_key = company(base, f"Bench {shape} {n}").api_key
                spec = {
                    "host": "127.0.0.1", "port": port,
                    "path": f"/api/webhooks/alerts?api_key={api_key}",
                    "bodies": bodies, "headers": headers, "connections": connections,
                    "drain": DRAIN_S, "delivery_prefix": f"{shape}-{n}",
                }  # fmt: skip
                warm = {**spec, "rate": max(rates[0] / per_request, 5), "duration": 1.0}
                open_loop({**warm, "delivery_prefix": f"warm-{n}"}, workdir, client_cpus)
                before = ingested(base)
                result = open_loop(
                    {**spec, "rate": rate / per_request, "duration": duration},
                    workdir, client_cpus,
                )  # fmt: skip
                stored = ingested(base) - before
                points.append({
                    "shape": shape, "offered_alerts_per_s": rate,
                    "served_alerts_per_s": round(result["achieved_rps"] * per_request, 1),
                    "stored_alerts": int(stored), "alerts_per_request": per_request, **result,
                })  # fmt: skip
                print(json.dumps(points[-1]), file=sys.stderr, flush=True)
    return points


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--single-rates", default=",".join(map(str, SINGLE_RATES)))
    parser.add_argument("--batch-rates", default=",".join(map(str, BATCH_RATES)))
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    server_cpus, client_cpus = split_cpus()
    points = []
    for shape, rates in (("single", args.single_rates), ("batch100", args.batch_rates)):
        if rates:
            points += measure(shape, [int(r) for r in rates.split(",")], args.duration,
                              args.connections)  # fmt: skip
    at_target = [p for p in points if p["shape"] == "single" and p["offered_alerts_per_s"] == 1000]
    print(
        json.dumps({
            "case": "http_latency", "store": "sqlite (embedded, synchronous=FULL)",
            "generator": "open loop (benchmarks/_openloop.py)", "duration_s": args.duration,
            "connections": args.connections,
            "pinned": {"server": sorted(server_cpus or ()), "generator": sorted(client_cpus or ())},
            "p99_target_ms": P99_TARGET_MS,
            "p99_at_1000_single_ms": at_target[0]["p99_ms"] if at_target else None,
            "points": points,
        })
    )  # fmt: skip


if __name__ == "__main__":
    main()
