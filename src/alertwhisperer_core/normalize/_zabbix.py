"""Zabbix webhook media type, with Zabbix's own parameter names.

Recognised by ``eventid`` and ``eventvalue`` (see ``tests/fixtures/zabbix-webhook-*.json``).
Zabbix sends strings; numbers are accepted too. A macro Zabbix could not resolve arrives
literally (``{EVENT.RECOVERY.DATE}``) or as ``*UNKNOWN*``; both, an empty string and ``null``
count as missing. Mapping:

- status: ``eventvalue`` 1 → firing, 0 → resolved; anything else (or missing) is a 422.
- asset: ``hostname``, else ``hostip``, else ``unknown``.
- signature: ``eventname`` without the prefix the media type's subject puts in front of it
  (``Problem: ``, ``Resolved: ``, ``Resolved in 5m 2s: ``, ``Updated problem: ``,
  ``Updated problem in 1h: ``), so a problem and its recovery share a signature. Missing → 422.
- severity: ``severity`` as 0 to 5 or Zabbix's name: 5/Disaster → critical, 4/High → high,
  3/Average and 2/Warning → medium, 1/Information and 0/Not classified → low; other names
  through the synonym table; missing → medium.
- event time: ``eventdate`` (``YYYY.MM.DD``) and ``eventtime`` (``HH:MM:SS``), read as **UTC**
  (the media type sends no offset: configure the Zabbix user the media type runs as with the
  UTC time zone); either missing → the moment of receipt.
- message: ``triggerdesc``, else the full ``eventname``.
- labels: ``eventtags`` (``"service:web, tenant:acme"``). fingerprint: ``triggerid``.
- Delivery id without a header: ``zabbix:<eventid>:<eventvalue>:<eventupdate>`` (an update
  that is missing leaves its slot empty).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time

import msgspec

from .._models import Alert, AlertStatus, Severity
from ..errors import NormalizationError
from ._delivery import Delivery
from ._severity import parse_severity
from ._times import clamp, with_clamp_flag
from ._wire import DECODE_FAILURES, body_error, echo, parse_tag_list

__all__ = ["normalize_zabbix"]

UNKNOWN_ASSET = "unknown"


class _ZabbixWire(msgspec.Struct, frozen=True, gc=False):
    eventid: str | int | None = None
    eventvalue: str | int | None = None
    eventupdate: str | int | None = None
    eventname: str | None = None
    severity: str | int | None = None
    hostname: str | None = None
    hostip: str | None = None
    triggerid: str | int | None = None
    triggerdesc: str | None = None
    eventtags: str | None = None
    eventdate: str | None = None
    eventtime: str | None = None


_DECODER = msgspec.json.Decoder(_ZabbixWire)
_UNRESOLVED = re.compile(r"\{[A-Z][A-Z0-9_.]*(?::[^}]*)?\}|\*UNKNOWN\*")
_PREFIX = re.compile(r"^(?:Problem|Resolved(?: in [^:]*)?|Updated problem(?: in [^:]*)?): ")
_DATE = re.compile(r"([0-9]{4})\.([0-9]{2})\.([0-9]{2})", re.ASCII)
_TIME = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2})", re.ASCII)
_STATUS = {"1": AlertStatus.FIRING, "0": AlertStatus.RESOLVED}
_SEVERITY_NUMBERS = {
    "5": Severity.CRITICAL,
    "4": Severity.HIGH,
    "3": Severity.MEDIUM,
    "2": Severity.MEDIUM,
    "1": Severity.LOW,
    "0": Severity.LOW,
}


def normalize_zabbix(
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    """Normalize one Zabbix webhook body into a one-alert :class:`Delivery`."""
    try:
        wire = _DECODER.decode(body)
    except DECODE_FAILURES as exc:
        raise body_error(exc, body) from None

    event_value = _value(wire.eventvalue)
    status = _STATUS.get(event_value or "")
    if status is None:
        shown = "missing" if event_value is None else f"got {echo(event_value)}"
        raise NormalizationError("eventvalue", f"expected 1 (problem) or 0 (resolved), {shown}")

    event_name = _value(wire.eventname)
    if event_name is None:
        raise NormalizationError("eventname", "missing; the signature is the event name")
    signature = _PREFIX.sub("", event_name, count=1).strip() or event_name

    severity_text = _value(wire.severity)
    if severity_text is None:
        severity = Severity.MEDIUM
    else:
        severity = _SEVERITY_NUMBERS.get(severity_text) or _severity_name(severity_text)

    clamped = False
    day = _date(_value(wire.eventdate))
    moment = _time(_value(wire.eventtime))
    if day is None or moment is None:
        event_time = received_at
    else:
        event_time, clamped = clamp(datetime.combine(day, moment, tzinfo=UTC), received_at)

    tags = _value(wire.eventtags)
    if not delivery_id:
        event_id = _value(wire.eventid)
        update = _value(wire.eventupdate) or ""
        delivery_id = f"zabbix:{event_id}:{event_value}:{update}" if event_id else ""

    alert = Alert(
        id=new_id(),
        company_id=company_id,
        asset_name=_value(wire.hostname) or _value(wire.hostip) or UNKNOWN_ASSET,
        signature=signature,
        severity=severity,
        status=status,
        message=_value(wire.triggerdesc) or event_name,
        tool_source="Zabbix",
        event_time=event_time,
        received_at=received_at,
        labels=parse_tag_list(tags) if tags else {},
        delivery_id=delivery_id,
        fingerprint=_value(wire.triggerid),
        source="zabbix",
        raw=body,
    )
    if clamped:
        alert = with_clamp_flag(alert)
    return Delivery("zabbix", (alert,), delivery_id)


def _value(raw: str | int | None) -> str | None:
    """The value as text, or None when missing, empty or an unresolved macro."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        return str(raw)
    text = raw.strip()
    if not text or (text[0] in "{*" and _UNRESOLVED.fullmatch(text)):
        return None
    return text


def _severity_name(text: str) -> Severity:
    if text.lstrip("-").isdigit():
        raise NormalizationError("severity", f"Zabbix severities are 0 to 5, got {echo(text)}")
    return parse_severity(text, field="severity")


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    found = _DATE.fullmatch(text)
    if found is not None:
        try:
            return date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            pass
    raise NormalizationError("eventdate", f"expected YYYY.MM.DD, got {echo(text)}")


def _time(text: str | None) -> time | None:
    if text is None:
        return None
    found = _TIME.fullmatch(text)
    if found is not None:
        try:
            return time(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            pass
    raise NormalizationError("eventtime", f"expected HH:MM:SS, got {echo(text)}")
