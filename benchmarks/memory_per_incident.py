"""Memory per open incident in the core ``Correlator``, measured two ways.

``tracemalloc``
    Bytes the correlator itself allocates per open incident (session, indexes, expiry entry),
    with the alerts built beforehand and excluded, at 10,000 and 100,000 incidents (the two
    should agree: the cost is per incident, not growing with the count).
``RSS``
    The process's resident set growth per open incident while 1,000,000 incidents are opened
    from alerts built on the fly and dropped: everything a server really holds per incident,
    ids and names and allocator overhead included.

    python -m benchmarks.memory_per_incident [--rss-incidents 1000000]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
from datetime import timedelta

from benchmarks.core_pipeline import memory_per_open_incident
from benchmarks.storm_scaling import START, _populate, _rss_kib

TARGET_BYTES = 1024


def rss_per_incident(n: int) -> float:
    from alertwhisperer_core import CorrelationSettings, Correlator

    correlator = Correlator(new_id=map(hex, itertools.count()).__next__,
                            settings=CorrelationSettings())  # fmt: skip
    gc.collect()
    before = _rss_kib()
    _populate(correlator, n, itertools.count(), START + timedelta(hours=1))
    gc.collect()
    assert correlator.open_count == n
    return (_rss_kib() - before) * 1024 / n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rss-incidents", type=int, default=1_000_000)
    parser.add_argument("--traced", default="10000,100000", help="tracemalloc sizes")
    args = parser.parse_args(argv)
    traced = {int(n): memory_per_open_incident(int(n)) for n in args.traced.split(",")}
    rss = rss_per_incident(args.rss_incidents)
    worst = max(traced.values())
    print(
        json.dumps({
            "case": "memory_per_incident",
            "tracemalloc_bytes": {str(n): round(b, 1) for n, b in traced.items()},
            "rss_incidents": args.rss_incidents, "rss_bytes": round(rss, 1),
            "target_bytes": TARGET_BYTES, "passed": worst <= TARGET_BYTES,
        })
    )  # fmt: skip


if __name__ == "__main__":
    main()
