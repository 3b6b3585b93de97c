"""Seeded, reproducible MSP alert storms shared by the demo replay, benchmarks and tests.

A storm is what an MSP's webhook endpoint sees on a bad night: many companies, cascading
failures (one sick asset raises several signatures), flapping checks that fire and recover
several times over, the same problem reported by several tools (multi-tool duplicates, each in
its own tool's format, seconds apart), retried deliveries carrying the same delivery id, and
out-of-order arrival.

:func:`alertmanager_batches` turns a storm's alerts into label sets in fixed-size batches, for
comparing with Prometheus Alertmanager on the very same stream.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

__all__ = ["StormConfig", "StormDelivery", "alertmanager_batches", "generate_storm"]

_SIGNATURES = (
    "cpu_high",
    "disk_full",
    "memory_pressure",
    "service_down:nginx",
    "db_connections",
    "replication_lag",
    "http_5xx_rate",
    "ntp_drift",
    "swap_usage",
    "inode_exhaustion",
)
_SEVERITIES = ("critical", "high", "medium", "low")
_TOOLS = ("generic", "alertmanager", "datadog", "zabbix", "cloudwatch")
# The tool_source each format reports (generic payloads here say they come from Datadog).
_TOOL_NAMES = {
    "generic": "Datadog",
    "alertmanager": "Alertmanager",
    "datadog": "Datadog",
    "zabbix": "Zabbix",
    "cloudwatch": "CloudWatch",
}


@attrs.frozen
class StormConfig:
    alerts: int = 1000
    companies: int = 3
    assets_per_company: int = 20
    signatures: int = 6
    duration_minutes: int = 60
    start: datetime = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    cascade_size: int = 3  # signatures one failing asset raises together
    max_repeats: int = 6  # times a failing check re-fires before it stops
    flap_ratio: float = 0.15  # share of checks that recover, then flap (re-fire, recover)
    max_flaps: int = 3  # extra fire/recover cycles of a flapping check, at most
    duplicate_ratio: float = 0.1  # share of firings also reported by a second tool
    retry_ratio: float = 0.05  # share of deliveries sent twice with the same delivery id
    out_of_order: float = 0.2  # share of deliveries that arrive late
    tools: tuple[str, ...] = _TOOLS
    seed: int = 42


@attrs.frozen
class StormDelivery:
    company: int  # index of the company, 0 … companies-1
    body: bytes
    headers: dict[str, str]
    event_time: datetime
    # What the body says, for consumers that re-encode the storm (alertmanager_batches).
    asset: str = ""
    signature: str = ""
    severity: str = ""
    firing: bool = True
    tool: str = ""


def _stable(*parts: str) -> int:
    # Python's hash() is salted per process; storms must be identical across runs.
    return int.from_bytes(hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest(), "big")


def _generic(asset: str, sig: str, sev: str, at: datetime, firing: bool) -> dict[str, Any]:
    return {
        "asset_name": asset,
        "signature": sig,
        "severity": sev,
        "message": f"{sig} on {asset}",
        "tool_source": "Datadog",
        "timestamp": at.isoformat(),
        "status": "firing" if firing else "resolved",
    }


def _alertmanager(asset: str, sig: str, sev: str, at: datetime, firing: bool) -> dict[str, Any]:
    fingerprint = f"{_stable(asset, sig) % (1 << 48):012x}"
    start = at.isoformat().replace("+00:00", "Z")
    return {
        "version": "4",
        "status": "firing" if firing else "resolved",
        "receiver": "aw",
        "groupKey": f'{{}}:{{alertname="{sig}", instance="{asset}:9100"}}',
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": "firing" if firing else "resolved",
                "labels": {"alertname": sig, "instance": f"{asset}:9100", "severity": sev},
                "annotations": {"summary": f"{sig} on {asset}"},
                "startsAt": start,
                "endsAt": "0001-01-01T00:00:00Z" if firing else start,
                "fingerprint": fingerprint,
            }
        ],
    }


def _datadog(asset: str, sig: str, sev: str, at: datetime, firing: bool, n: int) -> dict[str, Any]:
    priority = {"critical": "P1", "high": "P2", "medium": "P3", "low": "P4"}[sev]
    return {
        "id": str(10**15 + n),
        "alert_id": str(_stable(asset, sig) % 10**6),
        "alert_transition": "Triggered" if firing else "Recovered",
        "alert_priority": priority,
        "alert_metric": sig,
        "alert_title": f"{sig} on {asset}",
        "host_name": asset,
        "alert_status": f"{sig} over host:{asset}",
        "tags": f"host:{asset},env:prod",
        "date": str(int(at.timestamp() * 1000)),
    }


def _zabbix(asset: str, sig: str, sev: str, at: datetime, firing: bool, n: int) -> dict[str, Any]:
    level = {"critical": "5", "high": "4", "medium": "3", "low": "1"}[sev]
    return {
        "eventid": str(40000 + n),
        "eventvalue": "1" if firing else "0",
        "eventupdate": "0",
        "eventname": f"{'Problem' if firing else 'Resolved'}: {sig}",
        "severity": level,
        "hostname": asset,
        "triggerid": str(_stable(asset, sig) % 10**5),
        "triggerdesc": f"{sig} on {asset}",
        "eventdate": at.strftime("%Y.%m.%d"),
        "eventtime": at.strftime("%H:%M:%S"),
    }


def _cloudwatch(
    asset: str, sig: str, sev: str, at: datetime, firing: bool, n: int
) -> dict[str, Any]:
    alarm = {
        "AlarmName": sig,
        "NewStateValue": "ALARM" if firing else "OK",
        "NewStateReason": f"{sig} threshold crossed on {asset}",
        "StateChangeTime": at.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "AlarmArn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{asset}-{sig}",
        "Trigger": {"Dimensions": [{"name": "InstanceId", "value": asset}]},
    }
    return {
        "Type": "Notification",
        "MessageId": f"msg-{n}",
        "Message": json.dumps(alarm),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:alarms",
    }


def _payload(
    tool: str, asset: str, sig: str, sev: str, at: datetime, firing: bool, n: int
) -> dict[str, Any]:
    if tool == "alertmanager":
        return _alertmanager(asset, sig, sev, at, firing)
    if tool == "datadog":
        return _datadog(asset, sig, sev, at, firing, n)
    if tool == "zabbix":
        return _zabbix(asset, sig, sev, at, firing, n)
    if tool == "cloudwatch":
        return _cloudwatch(asset, sig, sev, at, firing, n)
    return _generic(asset, sig, sev, at, firing)


def generate_storm(config: StormConfig = StormConfig()) -> list[StormDelivery]:
    """The storm's deliveries in arrival order (retries included, late ones shuffled in)."""
    rng = random.Random(config.seed)  # noqa: S311 - reproducible test data, not secrets
    span = timedelta(minutes=config.duration_minutes)
    signatures = _SIGNATURES[: max(1, min(config.signatures, len(_SIGNATURES)))]
    deliveries: list[tuple[float, StormDelivery]] = []
    n = 0
    while n < config.alerts:
        company = rng.randrange(config.companies)
        asset = f"c{company}-srv-{rng.randrange(config.assets_per_company):03d}"
        at = config.start + span * rng.random()
        # A cascade: one failing asset raises several related signatures within a minute.
        for sig in rng.sample(signatures, k=min(config.cascade_size, len(signatures))):
            if n >= config.alerts:
                break
            sev = rng.choices(_SEVERITIES, weights=(2, 3, 4, 2))[0]
            tool = rng.choice(config.tools)
            when = at + timedelta(seconds=rng.uniform(0, 60))
            # A failing check re-fires every few minutes until someone (or a recovery) stops it.
            events = []
            for _ in range(rng.randint(1, config.max_repeats)):
                events.append((when, True))
                when += timedelta(minutes=rng.uniform(0.5, 4))
            if rng.random() < config.flap_ratio:
                # It recovers; a flapping check then fires and recovers again a few times.
                when += timedelta(minutes=rng.uniform(1, 20))
                events.append((when, False))
                for _ in range(rng.randint(0, config.max_flaps)):
                    when += timedelta(minutes=rng.uniform(0.5, 3))
                    events.append((when, True))
                    when += timedelta(minutes=rng.uniform(0.5, 3))
                    events.append((when, False))
            for event_time, firing in events:
                # Another tool watching the same asset reports the same firing seconds later.
                reporters = [(tool, event_time)]
                others = [t for t in config.tools if _TOOL_NAMES[t] != _TOOL_NAMES[tool]]
                if firing and others and rng.random() < config.duplicate_ratio:
                    later = event_time + timedelta(seconds=rng.uniform(1, 20))
                    reporters.append((rng.choice(others), later))
                for reporter, at_time in reporters:
                    if n >= config.alerts:
                        break
                    n += 1
                    payload = _payload(reporter, asset, sig, sev, at_time, firing, n)
                    headers = {
                        "content-type": "application/json",
                        "x-delivery-id": f"storm-{config.seed}-{n}",
                    }
                    if reporter == "alertmanager":
                        headers["user-agent"] = "Alertmanager/0.25.0"
                    arrival = (at_time - config.start).total_seconds()
                    if rng.random() < config.out_of_order:
                        arrival += rng.uniform(30, 600)
                    delivery = StormDelivery(
                        company,
                        json.dumps(payload).encode(),
                        headers,
                        at_time,
                        asset=asset,
                        signature=sig,
                        severity=sev,
                        firing=firing,
                        tool=reporter,
                    )
                    deliveries.append((arrival, delivery))
                    if rng.random() < config.retry_ratio:
                        deliveries.append((arrival + rng.uniform(1, 30), delivery))
    deliveries.sort(key=lambda pair: pair[0])
    return [d for _, d in deliveries]


def alertmanager_batches(config: StormConfig, size: int = 100) -> list[list[dict[str, Any]]]:
    """The storm's alerts as Alertmanager label sets, in arrival order, ``size`` per batch.

    Each alert is a postable alert of Alertmanager's ``POST /api/v2/alerts`` (``labels``,
    ``annotations``, ``startsAt``, ``endsAt``), whatever tool the storm had send it: the
    company, asset and signature become the ``company``, ``instance`` and ``alertname``
    labels. Retried deliveries appear once; a recovery has ``endsAt`` at its event time.
    """
    alerts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for delivery in generate_storm(config):
        delivery_id = delivery.headers["x-delivery-id"]
        if delivery_id in seen:
            continue
        seen.add(delivery_id)
        d = delivery
        at = d.event_time.isoformat().replace("+00:00", "Z")
        alerts.append(
            {
                "labels": {
                    "alertname": d.signature,
                    "instance": f"{d.asset}:9100",
                    "company": f"c{d.company}",
                    "severity": d.severity,
                },
                "annotations": {"summary": f"{d.signature} on {d.asset}"},
                "startsAt": at,
                "endsAt": "0001-01-01T00:00:00Z" if d.firing else at,
            }
        )
    return [alerts[i : i + size] for i in range(0, len(alerts), size)]


def iter_bodies(config: StormConfig) -> Iterator[bytes]:
    """Just the bodies, for replay files."""
    for delivery in generate_storm(config):
        yield delivery.body
