"""Core pipeline throughput: JSON bytes → normalize → correlate → score, with the bare floor.

1,000,000 generic alerts over 10,000 keys, one process, in-memory. In the same run, the floor:
msgspec decode into a Struct plus a dict append per alert (a correlation that does nothing).
Prints one JSON object on the last line of stdout.

    python -m benchmarks.core_pipeline [--alerts N] [--keys K]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from alertwhisperer_core import CorrelationSettings, Correlator, priority_score
from alertwhisperer_core.normalize import normalize

START = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
CADENCE = timedelta(minutes=3)


class _FloorAlert(msgspec.Struct, frozen=True):
    asset_name: str
    signature: str
    severity: str = "medium"
    message: str = ""
    tool_source: str = ""
    timestamp: str = ""


def make_bodies(n: int, keys: int) -> list[bytes]:
    """``n`` generic alert bodies in event-time order, round-robin over ``keys`` keys."""
    encoder = msgspec.json.Encoder()
    severities = ("critical", "high", "medium", "low")
    tools = ("Datadog", "Zabbix", "Prometheus")
    # A storm in which every key fires every three minutes (whatever n is), so each key's
    # alerts keep joining one open incident: 1,000,000 alerts over 10,000 keys span 5 hours.
    step = CADENCE / keys
    bodies = []
    for i in range(n):
        k = i % keys
        bodies.append(
            encoder.encode(
                {
                    "asset_name": f"srv-{k // 10:04d}",
                    "signature": f"sig-{k % 10}",
                    "severity": severities[k % 4],
                    "message": "threshold crossed",
                    "tool_source": tools[i % 3],
                    "timestamp": (START + step * i).isoformat(),
                }
            )
        )
    return bodies


def unique_ids() -> Callable[[], str]:
    """A fresh id per call ("0x0", "0x1", …): a real unique-id source, and the cheapest one.

    ``hex`` of a counter, all in C: about half the cost of formatting the counter with an
    f-string in a lambda, which was 5% of the whole pipeline.
    """
    return map(hex, itertools.count()).__next__


def run_floor(bodies: list[bytes]) -> float:
    decoder = msgspec.json.Decoder(_FloorAlert)
    groups: dict[tuple[str, str], list[_FloorAlert]] = {}
    t0 = time.perf_counter()
    for body in bodies:
        alert = decoder.decode(body)
        groups.setdefault((alert.asset_name, alert.signature), []).append(alert)
    return time.perf_counter() - t0


def run_pipeline(bodies: list[bytes], keys: int) -> tuple[float, int, int]:
    new_id = unique_ids()
    correlator = Correlator(new_id=new_id, settings=CorrelationSettings())
    now = START + CADENCE * (len(bodies) // keys + 1)
    checksum = 0
    t0 = time.perf_counter()
    for body in bodies:
        for alert in normalize(body, company_id="bench", received_at=now, new_id=new_id).alerts:
            result = correlator.observe(alert, now)
            # A firing alert always lands in an incident, so severity and created_at are set.
            checksum += priority_score(
                severity=result.severity,  # type: ignore[arg-type]
                asset_is_critical=False,
                alert_count=result.alert_count,
                tool_source_count=result.tool_source_count,
                opened_at=result.created_at,  # type: ignore[arg-type]
                now=now,
            )
    elapsed = time.perf_counter() - t0
    return elapsed, correlator.open_count, checksum


def memory_per_open_incident(n: int = 100_000) -> float:
    """Bytes held per open incident (tracemalloc), alerts themselves excluded."""
    new_id = unique_ids()
    now = START + timedelta(minutes=1)
    alerts = [
        normalize(body, company_id="bench", received_at=now, new_id=new_id).alerts[0]
        for body in make_bodies(n, n)
    ]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    correlator = Correlator(new_id=new_id, settings=CorrelationSettings(), allowed_lateness=None)
    for alert in alerts:
        correlator.observe(alert, now)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert correlator.open_count == n
    return held / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=10_000)
    args = parser.parse_args(argv)
    bodies = make_bodies(args.alerts, args.keys)
    gc.collect()
    gc.freeze()  # the input is long-lived: keep the collector from rescanning it
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    floor_s = run_floor(bodies)
    pipeline_s, open_count, checksum = run_pipeline(bodies, args.keys)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    per_incident = memory_per_open_incident()
    result = {
        "case": "core_pipeline",
        "alerts": args.alerts,
        "keys": args.keys,
        "pipeline_alerts_per_s": args.alerts / pipeline_s,
        "floor_alerts_per_s": args.alerts / floor_s,
        "ratio_to_floor": floor_s / pipeline_s,
        "open_incidents_at_end": open_count,
        "peak_rss_mib": rss_peak / 1024,
        "rss_growth_mib": (rss_peak - rss_before) / 1024,
        "bytes_per_open_incident": per_incident,
        "checksum": checksum,
        "python": sys.version.split()[0],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
