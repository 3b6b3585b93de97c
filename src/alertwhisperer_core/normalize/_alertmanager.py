"""Prometheus Alertmanager webhook (version 4): one alert per element of ``alerts``.

Recognised by ``version`` and ``alerts``; only version ``"4"`` is understood (every
Alertmanager since 2016 sends it). An empty ``alerts`` list is valid and yields no alerts. The
batch is all or nothing: the first bad element fails the request with an error naming it
(``alerts[3].startsAt``). Mapping of each element:

- asset: ``labels.instance`` with its port stripped (``web-01:9100`` → ``web-01``,
  ``[::1]:9100`` → ``::1``), else ``labels.host``, else ``labels.job``, else ``unknown``.
- signature: ``labels.alertname`` (required: an alert without it is a 422).
- severity: ``labels.severity`` through the synonym table; missing → medium.
- status: the element's ``status``. If a custom sender omits it, the alert is resolved when
  its ``endsAt`` is set and not after the moment of receipt (Alertmanager's own rule), else
  firing. The top-level ``status`` describes the group, not each alert, and is ignored.
- event time: ``startsAt`` when firing; ``endsAt`` when resolved, falling back to ``startsAt``
  when ``endsAt`` is missing or Go's zero time ``0001-01-01T00:00:00Z``; missing → receipt.
  Both are validated whatever the status.
- message: ``annotations.summary``, else ``annotations.description``, else the alertname.
- labels: all of the element's labels; ``fingerprint`` kept.
- raw: the element's own bytes, sliced from the body (never re-encoded).

Delivery id without a header: ``alertmanager:`` + the SHA-256 hex digest of the JSON array
``[groupKey, [[fingerprint, status, startsAt, endsAt], ...]]`` built from the values exactly
as sent (``null`` for missing ones): the same notification re-sent hashes the same, while a
changed status or time hashes differently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

import msgspec
from msgspec import UNSET, Raw, UnsetType

from .._models import Alert, AlertStatus, Severity
from ..errors import NormalizationError
from ._delivery import Delivery
from ._severity import parse_severity
from ._times import ZERO_TIME, clamp, parse_iso, with_clamp_flag
from ._wire import DECODE_FAILURES, body_error, echo, part_error

__all__ = ["normalize_alertmanager"]

UNKNOWN_ASSET = "unknown"


class _WebhookWire(msgspec.Struct, frozen=True, gc=False):
    version: str | int | UnsetType = UNSET
    alerts: list[Raw] | UnsetType = UNSET
    groupKey: str | None = None


class _AlertWire(msgspec.Struct, frozen=True, gc=False):
    status: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    startsAt: str | None = None
    endsAt: str | None = None
    fingerprint: str | None = None


_WEBHOOK_DECODER = msgspec.json.Decoder(_WebhookWire)
_ALERT_DECODER = msgspec.json.Decoder(_AlertWire)
_STATUS = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}
_SEVERITIES = {severity.value: severity for severity in Severity}
_ZERO_TEXT = "0001-01-01T00:00:00Z"  # as Alertmanager writes it; other spellings are parsed


def normalize_alertmanager(
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    """Normalize an Alertmanager webhook body (all alerts, or an error naming the bad one)."""
    try:
        webhook = _WEBHOOK_DECODER.decode(body)
    except DECODE_FAILURES as exc:
        raise body_error(exc, body) from None
    if webhook.version is UNSET:
        raise NormalizationError("version", "missing")
    if str(webhook.version) != "4":
        raise NormalizationError(
            "version", f"unsupported version {echo(str(webhook.version))}; only 4 is understood"
        )
    if webhook.alerts is UNSET:
        raise NormalizationError("alerts", "missing")

    elements = [_element(raw, i) for i, raw in enumerate(webhook.alerts)]
    if not delivery_id:
        delivery_id = _own_delivery_id(webhook.groupKey, elements)
    alerts = tuple(
        _alert(raw, wire, i, company_id, received_at, new_id, delivery_id)
        for i, (raw, wire) in enumerate(zip(webhook.alerts, elements, strict=True))
    )
    return Delivery("alertmanager", alerts, delivery_id)


def _element(raw: Raw, index: int) -> _AlertWire:
    try:
        return _ALERT_DECODER.decode(raw)
    except DECODE_FAILURES as exc:
        raise part_error(exc, bytes(raw), f"alerts[{index}]") from None


def _alert(
    raw: Raw,
    wire: _AlertWire,
    index: int,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str,
) -> Alert:
    labels = wire.labels or {}
    signature = labels.get("alertname")
    if not signature:
        raise NormalizationError(f"alerts[{index}].labels.alertname", "missing")

    # Error field names are formatted only when an error is raised: this loop is per alert.
    severity_name = labels.get("severity")
    if not severity_name:
        severity = Severity.MEDIUM
    else:
        severity = _SEVERITIES.get(severity_name) or parse_severity(
            severity_name, field=f"alerts[{index}].labels.severity"
        )

    starts = _time(wire.startsAt, index, "startsAt")
    ends = _time(wire.endsAt, index, "endsAt")
    if wire.status is None:
        resolved = ends is not None and ends <= received_at
        status = AlertStatus.RESOLVED if resolved else AlertStatus.FIRING
    else:
        found = _STATUS.get(wire.status) or _STATUS.get(wire.status.strip().lower())
        if found is None:
            raise NormalizationError(
                f"alerts[{index}].status",
                f"unknown status {echo(wire.status)}; use firing or resolved",
            )
        status = found
    chosen = ends if status is AlertStatus.RESOLVED and ends is not None else starts
    clamped = False
    if chosen is None:
        event_time = received_at
    else:
        event_time, clamped = clamp(chosen, received_at)

    annotations = wire.annotations or {}
    message = annotations.get("summary") or annotations.get("description") or signature

    alert = Alert(
        id=new_id(),
        company_id=company_id,
        asset_name=_asset(labels),
        signature=signature,
        severity=severity,
        status=status,
        message=message,
        tool_source="Alertmanager",
        event_time=event_time,
        received_at=received_at,
        labels=labels,
        delivery_id=delivery_id,
        fingerprint=wire.fingerprint or None,
        source="alertmanager",
        raw=bytes(raw),
    )
    return with_clamp_flag(alert) if clamped else alert


def _time(text: str | None, index: int, name: str) -> datetime | None:
    """A parsed time, or None when missing, empty or Go's zero time."""
    if not text or text == _ZERO_TEXT:
        return None
    try:
        parsed = parse_iso(text, name)
    except NormalizationError as error:
        raise NormalizationError(f"alerts[{index}].{name}", error.message) from None
    return None if parsed == ZERO_TIME else parsed


def _asset(labels: dict[str, str]) -> str:
    instance = labels.get("instance")
    if instance:
        return _strip_port(instance)
    return labels.get("host") or labels.get("job") or UNKNOWN_ASSET


def _strip_port(instance: str) -> str:
    if instance.startswith("["):
        host, bracket, _ = instance[1:].partition("]")
        return host if bracket and host else instance
    host, colon, port = instance.rpartition(":")
    # Exactly one colon and a numeric port: "host:9100". A bare IPv6 address or a URL
    # ("http://x:8080/") is left as it is.
    if colon and host and port.isdigit() and port.isascii() and ":" not in host:
        return host
    return instance


def _own_delivery_id(group_key: str | None, elements: list[_AlertWire]) -> str:
    material = msgspec.json.encode(
        [group_key, [[e.fingerprint, e.status, e.startsAt, e.endsAt] for e in elements]]
    )
    return "alertmanager:" + hashlib.sha256(material).hexdigest()
