"""Side by side with Prometheus Alertmanager, on the same stream, in one run.

``ingest`` (the comparison)
    The same storm (:mod:`benchmarks._streams`: the same label sets, the same batches) is posted
    by the same client (wrk, closed loop, ``--connections`` connections, one thread) for
    ``--duration`` seconds, first to a real Alertmanager's ``POST /api/v2/alerts``, then to our
    ``POST /api/webhooks/alerts`` as Alertmanager webhook payloads (one uvicorn worker, embedded
    SQLite store, durable commits). Each server is pinned to one core and wrk to the other.
    Shapes: ``batch100`` (100-alert payloads) and ``single`` (one alert per request).
    Alertmanager's figure is requests answered 2xx x alerts per request (it answers after
    storing them in memory); ours is the server's own ``aw_alerts_ingested_total`` (stored,
    committed alerts). Alertmanager routes to a receiver with no integrations here, so it
    does its grouping but sends nothing.
``end_to_end``
    Alertmanager as the sender: N alerts with distinct label sets are posted to Alertmanager in
    100-alert batches, and it forwards them to our webhook (``group_wait`` and
    ``group_interval`` 1 s). Timed from the first post until our server has stored all N.
    Two groupings: by ``alertname, instance`` (one alert per webhook call) and by
    ``company, alertname`` (a few dozen alerts per call).

Alertmanager is Debian's ``prometheus-alertmanager``, installed with apt-get when missing and
running as root; without it the case reports itself skipped.

    python -m benchmarks.alertmanager_compare [--duration 10] [--connections 4] [--e2e-alerts 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _streams
from benchmarks._processes import (
    alertmanager,
    alertmanager_binary,
    alertmanager_config,
    call,
    company,
    ensure_wrk,
    ingested,
    pin,
    server,
    split_cpus,
    wrk_script,
)


def _wrk(wrk: str, base: str, path: str, bodies: list[str], headers: dict[str, str],
         duration: int, connections: int, cpus: set[int] | None,
         workdir: Path) -> dict[str, Any]:  # fmt: skip
    script = workdir / "compare.lua"
    script.write_text(wrk_script(path, bodies, headers, None))

    def run(seconds: int, tag: str) -> str:
        process = subprocess.Popen(
            [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
             str(script), base, "--", tag], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        pin(process.pid, cpus)
        out, err = process.communicate(timeout=seconds + 60)
        if process.returncode != 0:
            raise RuntimeError(f"wrk failed: {err.strip()}")
        return out

    run(2, f"warm-{time.monotonic_ns()}")  # warm up: connections, caches, first incidents
    stats: dict[str, Any] = json.loads(run(duration, f"run-{time.monotonic_ns()}").splitlines()[-1])
    return stats


def compare(wrk: str, binary: str, shape: str, duration: int, connections: int,
            workdir: Path) -> dict[str, Any]:  # fmt: skip
    server_cpus, client_cpus = split_cpus()
    size = 100 if shape == "batch100" else 1
    batches = _streams.batches(20_000, size)
    json_headers = {"Content-Type": "application/json"}
    config = alertmanager_config(None, ("alertname", "instance"))
    with alertmanager(binary, workdir, config, server_cpus) as (am, _):
        stats = _wrk(wrk, am, "/api/v2/alerts",
                     [_streams.alertmanager_post_body(b) for b in batches], json_headers,
                     duration, connections, client_cpus, workdir)  # fmt: skip
    seconds = stats["duration_us"] / 1e6
    theirs = {
        "alerts_per_s": round((stats["requests"] - stats["non_2xx"]) * size / seconds, 1),
        **{k: stats[k] for k in ("requests", "non_2xx", "socket_errors", "p50_ms", "p99_ms")},
    }
    with server(f"sqlite:///{workdir}/aw-{shape}.db", workdir, cpus=server_cpus) as (base, _):
        api_key = company(base, f"Compare {shape}").api_key
        before = ingested(base)
        bodies = [_streams.webhook_body(b, n) for n, b in enumerate(batches)]
        headers = {**json_headers, "User-Agent": "Alertmanager/0.25.0"}
        stats = _wrk(wrk, base, f"/api/webhooks/alerts?api_key={api_key}", bodies, headers,
                     duration, connections, client_cpus, workdir)  # fmt: skip
        stored = ingested(base) - before
    seconds = stats["duration_us"] / 1e6
    # The warm-up's alerts are in the counter too: count only the measured requests'.
    counted = min(stored, (stats["requests"] - stats["non_2xx"]) * size)
    ours = {
        "alerts_per_s": round(counted / seconds, 1),
        **{k: stats[k] for k in ("requests", "non_2xx", "socket_errors", "p50_ms", "p99_ms")},
    }
    return {
        "shape": shape, "alerts_per_request": size, "alertmanager": theirs, "ours": ours,
        "ratio": round(ours["alerts_per_s"] / theirs["alerts_per_s"], 3)
        if theirs["alerts_per_s"] else None,
    }  # fmt: skip


def _distinct_alerts(n: int) -> list[dict[str, Any]]:
    """``n`` firing alerts with distinct (instance, alertname), from the storm."""
    seen: set[tuple[str, str]] = set()
    out = []
    for batch in _streams.batches(max(20_000, n * 10), 100):
        for alert in batch:
            key = (alert["labels"]["instance"], alert["labels"]["alertname"])
            if key not in seen and len(out) < n:
                seen.add(key)
                out.append({**alert, "endsAt": "0001-01-01T00:00:00Z"})
    if len(out) < n:
        raise RuntimeError(f"the storm has only {len(out)} distinct keys; asked for {n}")
    return out


def _incident_keys(base: str, company_id: str, token: str) -> int:
    """Distinct keys among the company's incidents (each alert here has a key of its own)."""
    keys: set[str] = set()
    cursor = ""
    while True:
        page = call(base, "GET", f"/api/incidents?company_id={company_id}&limit=200"
                     f"&sort=recent{cursor}", token=token)  # fmt: skip
        keys.update(item["key"] for item in page["items"])
        if not page.get("next_cursor"):
            return len(keys)
        cursor = f"&cursor={page['next_cursor']}"


def end_to_end(binary: str, alerts: int, group_by: tuple[str, ...],
               workdir: Path) -> dict[str, Any]:  # fmt: skip
    server_cpus, am_cpus = split_cpus()
    payload = _distinct_alerts(alerts)
    with server(f"sqlite:///{workdir}/aw-e2e-{len(group_by)}-{alerts}.db", workdir,
                cpus=server_cpus) as (base, _):  # fmt: skip
        created = company(base, f"E2E {'-'.join(group_by)}")
        url = f"{base}/api/webhooks/alerts?api_key={created.api_key}"
        with alertmanager(binary, workdir, alertmanager_config(url, group_by), am_cpus) as (am, _):
            before = ingested(base)
            t0 = time.monotonic()
            for i in range(0, len(payload), 100):
                call(am, "POST", "/api/v2/alerts", payload[i : i + 100])
            posted = time.monotonic() - t0
            deadline = t0 + 120
            stored, keys = 0.0, 0
            while time.monotonic() < deadline:
                stored = ingested(base) - before
                # A group that grew after its first notification is sent again, whole: the
                # count can reach N with an alert still missing, so then check the keys.
                if stored >= alerts:
                    keys = _incident_keys(base, created.id, created.token)
                    if keys >= alerts:
                        break
                time.sleep(0.05)
            elapsed = time.monotonic() - t0
    return {
        "group_by": list(group_by), "alerts": alerts, "stored": int(stored),
        "distinct_keys_stored": keys, "complete": keys >= alerts,
        "post_seconds": round(posted, 2),
        "seconds": round(elapsed, 2), "alerts_per_s": round(stored / elapsed, 1),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--shapes", default="batch100,single")
    parser.add_argument("--e2e-alerts", type=int, default=2000)
    args = parser.parse_args(argv)
    wrk, binary = ensure_wrk(), alertmanager_binary()
    if wrk is None or binary is None:
        missing = "wrk" if wrk is None else "prometheus-alertmanager"
        print(json.dumps({"case": "alertmanager", "skipped": f"{missing} is not installed"}))
        return
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    result: dict[str, Any] = {
        "case": "alertmanager",
        "alertmanager_version": (version.stdout or version.stderr).split("\n")[0],
        "client": f"wrk, 1 thread, {args.connections} connections, closed loop",
        "store": "sqlite (embedded, synchronous=FULL), 1 uvicorn worker",
        "duration_s": args.duration, "comparison": [], "end_to_end": [],
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes.split(","):
            result["comparison"].append(
                compare(wrk, binary, shape, args.duration, args.connections, Path(tmp))
            )
            print(json.dumps(result["comparison"][-1]), file=sys.stderr, flush=True)
        if args.e2e_alerts:
            for group_by in (("alertname", "instance"), ("company", "alertname")):
                result["end_to_end"].append(end_to_end(binary, args.e2e_alerts, group_by,
                                                       Path(tmp)))  # fmt: skip
                print(json.dumps(result["end_to_end"][-1]), file=sys.stderr, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
