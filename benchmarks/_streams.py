"""The alert streams the HTTP benchmarks send, all cut from the shared seeded storm generator.

One storm (many companies, cascades, flapping checks, multi-tool duplicates, late arrivals) is
generated per run, ending a minute before now, so nothing is clamped as a future timestamp:

* single deliveries: the storm's own bodies, in their own formats (generic, Alertmanager,
  Datadog, Zabbix, CloudWatch via SNS), one alert each;
* 100-alert batches: the storm's alerts as Alertmanager label sets
  (:func:`alertwhisperer_adapters.storm.alertmanager_batches`), encoded either as
  Alertmanager's ``POST /api/v2/alerts`` body (a JSON list) or as the webhook body Alertmanager
  sends to receivers (``version`` 4), which ours takes. Same keys, same batches, both ways.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from alertwhisperer_adapters.storm import StormConfig, alertmanager_batches, generate_storm

STORM_MINUTES = 60


def storm_config(alerts: int, seed: int = 7) -> StormConfig:
    """An MSP night: 20 companies, 50 assets each, 10 signatures (up to 10,000 keys)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=STORM_MINUTES * 2)
    return StormConfig(
        alerts=alerts, companies=20, assets_per_company=50, signatures=10,
        duration_minutes=STORM_MINUTES, start=start, seed=seed,
    )  # fmt: skip


def single_bodies(alerts: int) -> list[str]:
    """The storm's deliveries, one alert each, retries dropped (each request gets its own id)."""
    seen: set[str] = set()
    bodies = []
    for delivery in generate_storm(storm_config(alerts)):
        if delivery.headers["x-delivery-id"] not in seen:
            seen.add(delivery.headers["x-delivery-id"])
            bodies.append(delivery.body.decode())
    return bodies


def batches(alerts: int, size: int = 100) -> list[list[dict[str, Any]]]:
    """The storm's alerts as Alertmanager label sets, ``size`` per batch (full batches only)."""
    return [b for b in alertmanager_batches(storm_config(alerts), size) if len(b) == size]


def _fingerprint(labels: dict[str, str]) -> str:
    text = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def alertmanager_post_body(batch: list[dict[str, Any]]) -> str:
    """Alertmanager's ``POST /api/v2/alerts`` body: the postable alerts as they are."""
    return json.dumps(batch)


def webhook_body(batch: list[dict[str, Any]], n: int) -> str:
    """What Alertmanager's webhook receiver would post for this batch (payload version 4)."""
    alerts = [
        {
            "status": "firing" if a["endsAt"].startswith("0001") else "resolved",
            "labels": a["labels"], "annotations": a["annotations"],
            "startsAt": a["startsAt"], "endsAt": a["endsAt"],
            "fingerprint": _fingerprint(a["labels"]),
        }
        for a in batch
    ]  # fmt: skip
    firing = any(a["status"] == "firing" for a in alerts)
    return json.dumps({
        "version": "4", "groupKey": f"bench-{n}", "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved", "receiver": "aw",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.invalid", "alerts": alerts,
    })  # fmt: skip
