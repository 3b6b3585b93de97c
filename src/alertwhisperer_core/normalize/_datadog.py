"""Datadog webhook: a JSON template of Datadog's ``$VARIABLES``.

Recognised by ``alert_transition`` together with ``alert_id`` or ``id`` (see
``tests/fixtures/datadog-webhook-template.json`` for the template we document). Datadog sends
every value as a string; ``id``, ``alert_id`` and ``date`` are also accepted as numbers for
templates that leave those variables unquoted. A value that is still the literal variable
(``$HOSTNAME``: Datadog had nothing to put there), an empty string and ``null`` all count as
missing. Mapping:

- status and severity from ``alert_transition`` (any case): ``Triggered``, ``Re-Triggered``,
  ``Renotify`` → firing; ``Recovered`` → resolved; ``Warn``/``Re-Warn`` → firing at medium;
  ``No Data``/``Re-No Data`` → firing at low. Anything else is a 422; the transition is
  required.
- severity otherwise from ``alert_priority`` ``P1``..``P5`` (critical, high, medium, low, low;
  another value is a 422), else ``alert_type`` (``error`` → high, ``warning`` → medium,
  ``info``/``success`` → low, other values through the synonym table), else medium.
- asset: ``host_name``, else the ``host:`` tag of ``alert_scope``, else of ``tags``, else
  ``unknown``.
- signature: ``alert_metric``, else the monitor title (``alert_title``, else ``title``) with
  Datadog's leading ``[P1] [Triggered on {host:x}]`` brackets removed, so the firing and the
  recovery of one monitor share a signature. None of them → 422 naming ``alert_metric``.
- message: ``alert_status``, else the title, else the signature.
- event time: ``date`` in epoch milliseconds; missing → the moment of receipt.
- labels: ``tags`` (``"env:prod,host:web-01,monitor"``; a bare tag gets ``""``).
- fingerprint: ``alert_id``. Delivery id without a header: ``datadog:<id>:<alert_transition>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import msgspec

from .._models import Alert, AlertStatus, Severity
from ..errors import NormalizationError
from ._delivery import Delivery
from ._severity import parse_severity
from ._times import clamp, from_epoch_ms, with_clamp_flag
from ._wire import DECODE_FAILURES, body_error, echo, parse_tag_list

__all__ = ["normalize_datadog"]

UNKNOWN_ASSET = "unknown"


class _DatadogWire(msgspec.Struct, frozen=True, gc=False):
    id: str | int | None = None
    alert_id: str | int | None = None
    alert_transition: str | None = None
    alert_type: str | None = None
    alert_priority: str | None = None
    alert_title: str | None = None
    alert_status: str | None = None
    alert_metric: str | None = None
    alert_scope: str | None = None
    title: str | None = None
    host_name: str | None = None
    tags: str | None = None
    date: str | int | None = None


_DECODER = msgspec.json.Decoder(_DatadogWire)
_UNSET_VARIABLE = re.compile(r"\$[A-Z][A-Z0-9_]*")
_TITLE_BRACKETS = re.compile(r"^(?:\s*\[[^\]]*\])+\s*")
_DIGITS = re.compile(r"-?[0-9]+", re.ASCII)
_MAX_DIGITS = 18  # far beyond datetime's range; keeps int() away from giant strings

_FIRING, _RESOLVED = AlertStatus.FIRING, AlertStatus.RESOLVED
_TRANSITIONS: dict[str, tuple[AlertStatus, Severity | None]] = {
    "triggered": (_FIRING, None),
    "re-triggered": (_FIRING, None),
    "renotify": (_FIRING, None),
    "recovered": (_RESOLVED, None),
    "warn": (_FIRING, Severity.MEDIUM),
    "re-warn": (_FIRING, Severity.MEDIUM),
    "no data": (_FIRING, Severity.LOW),
    "re-no data": (_FIRING, Severity.LOW),
}
_PRIORITIES = {
    "p1": Severity.CRITICAL,
    "p2": Severity.HIGH,
    "p3": Severity.MEDIUM,
    "p4": Severity.LOW,
    "p5": Severity.LOW,
}
_ALERT_TYPES = {
    "error": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "info": Severity.LOW,
    "success": Severity.LOW,
}


def normalize_datadog(
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    """Normalize one Datadog webhook body into a one-alert :class:`Delivery`."""
    try:
        wire = _DECODER.decode(body)
    except DECODE_FAILURES as exc:
        raise body_error(exc, body) from None

    transition = _value(wire.alert_transition)
    if transition is None:
        raise NormalizationError("alert_transition", _absent(wire.alert_transition))
    rule = _TRANSITIONS.get(transition.lower())
    if rule is None:
        raise NormalizationError(
            "alert_transition",
            f"unknown transition {echo(transition)}; expected Triggered, Re-Triggered, "
            "Renotify, Recovered, Warn, Re-Warn or No Data",
        )
    status, forced_severity = rule
    severity = forced_severity or _severity(wire)

    title = _title(wire.alert_title) or _title(wire.title)
    signature = _value(wire.alert_metric) or title
    if signature is None:
        raise NormalizationError(
            "alert_metric", "missing; Datadog sent no alert_metric, alert_title or title"
        )

    tags = _value(wire.tags)
    labels = parse_tag_list(tags) if tags else {}
    asset = (
        _value(wire.host_name)
        or _host_tag(_value(wire.alert_scope))
        or labels.get("host")
        or UNKNOWN_ASSET
    )

    clamped = False
    date = _value(wire.date)
    if date is None:
        event_time = received_at
    else:
        event_time, clamped = clamp(_epoch_ms(date), received_at)

    event_id = _value(wire.id)
    if not delivery_id:
        delivery_id = f"datadog:{event_id}:{transition}" if event_id else ""

    alert = Alert(
        id=new_id(),
        company_id=company_id,
        asset_name=asset,
        signature=signature,
        severity=severity,
        status=status,
        message=_value(wire.alert_status) or _value(wire.title) or title or signature,
        tool_source="Datadog",
        event_time=event_time,
        received_at=received_at,
        labels=labels,
        delivery_id=delivery_id,
        fingerprint=_value(wire.alert_id),
        source="datadog",
        raw=body,
    )
    if clamped:
        alert = with_clamp_flag(alert)
    return Delivery("datadog", (alert,), delivery_id)


def _value(raw: str | int | None) -> str | None:
    """The value as text, or None when missing, empty or an unset ``$VARIABLE``."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        return str(raw)
    text = raw.strip()
    if not text or (text[0] == "$" and _UNSET_VARIABLE.fullmatch(text)):
        return None
    return text


def _absent(raw: str | None) -> str:
    if raw is None:
        return "missing"
    if raw.strip():
        return f"unset template variable {echo(raw.strip())}"
    return "must not be empty"


def _severity(wire: _DatadogWire) -> Severity:
    priority = _value(wire.alert_priority)
    if priority is not None:
        found = _PRIORITIES.get(priority.lower())
        if found is None:
            raise NormalizationError(
                "alert_priority", f"unknown priority {echo(priority)}; use P1 to P5"
            )
        return found
    alert_type = _value(wire.alert_type)
    if alert_type is None:
        return Severity.MEDIUM
    return _ALERT_TYPES.get(alert_type.lower()) or parse_severity(alert_type, field="alert_type")


def _title(raw: str | None) -> str | None:
    text = _value(raw)
    if text is None:
        return None
    return _TITLE_BRACKETS.sub("", text) or None


def _host_tag(scope: str | None) -> str | None:
    if not scope:
        return None
    return parse_tag_list(scope).get("host") or None


def _epoch_ms(text: str) -> datetime:
    if _DIGITS.fullmatch(text) is None:
        raise NormalizationError("date", f"expected epoch milliseconds, got {echo(text)}")
    if len(text) > _MAX_DIGITS:
        raise NormalizationError("date", f"epoch milliseconds {echo(text)} are out of range")
    return from_epoch_ms(int(text), "date")
