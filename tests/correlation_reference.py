"""Brute-force reference for session-window correlation, and an alert factory for the tests.

The reference is deliberately naive: per key, sort the alerts by event time and cut wherever
the gap to the previous alert exceeds the window. It knows nothing of arrival order, merges,
retirement or ``max_span``; with those out of play the correlator must agree with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from alertwhisperer_core._models import Alert, AlertStatus, Severity

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

Key = Callable[[Alert], tuple[str, ...]]


def default_key(alert: Alert) -> tuple[str, ...]:
    """The default aggregation key, ``asset|signature``, within the alert's company."""
    return (alert.company_id, alert.asset_name, alert.signature)


def reference_groups(
    alerts: Iterable[Alert], window: timedelta, key: Key = default_key
) -> list[list[Alert]]:
    """Session windows by brute force: each group sorted by event time."""
    by_key: dict[tuple[str, ...], list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_key[key(alert)].append(alert)
    groups: list[list[Alert]] = []
    for members in by_key.values():
        members.sort(key=lambda a: a.event_time)
        current = [members[0]]
        for alert in members[1:]:
            if alert.event_time - current[-1].event_time > window:
                groups.append(current)
                current = []
            current.append(alert)
        groups.append(current)
    return groups


def reference_partition(
    alerts: Iterable[Alert], window: timedelta, key: Key = default_key
) -> set[frozenset[str]]:
    """The partition of alert ids into incidents, as a set of frozensets."""
    return {frozenset(a.id for a in group) for group in reference_groups(alerts, window, key)}


def groups_within_reach(
    seen: Sequence[Alert], alert: Alert, window: timedelta, key: Key = default_key
) -> int:
    """How many reference groups of ``alert``'s key (over ``seen``) lie within ``window`` of it."""
    same_key = [a for a in seen if key(a) == key(alert)]
    if not same_key:
        return 0
    t = alert.event_time
    return sum(
        1
        for group in reference_groups(same_key, window, key)
        if group[-1].event_time >= t - window and group[0].event_time <= t + window
    )


def make_alert(
    alert_id: str,
    at: datetime | timedelta,
    *,
    asset: str = "srv-app-01",
    signature: str = "disk_full",
    severity: Severity = Severity.CRITICAL,
    status: AlertStatus = AlertStatus.FIRING,
    company: str = "acme",
    tool: str = "prometheus",
    fingerprint: str | None = None,
    labels: dict[str, str] | None = None,
) -> Alert:
    """A normalized alert; ``at`` is an event time or an offset from :data:`T0`."""
    event_time = T0 + at if isinstance(at, timedelta) else at
    return Alert(
        id=alert_id,
        company_id=company,
        asset_name=asset,
        signature=signature,
        severity=severity,
        status=status,
        message=f"{signature} on {asset}",
        tool_source=tool,
        event_time=event_time,
        received_at=event_time,
        labels=labels or {},
        fingerprint=fingerprint,
    )
