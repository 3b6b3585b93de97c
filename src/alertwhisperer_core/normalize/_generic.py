"""The generic format (the product guide's own): one alert per request, mapped as is.

Recognised by ``asset_name`` and ``signature``. Optional fields:

- ``severity``: a canonical name or a synonym (see ``SEVERITY_SYNONYMS``); missing → medium.
- ``status``: ``firing`` or ``resolved`` (any case); missing → firing.
- ``message``: missing → the signature, so every alert has something to show.
- ``tool_source``: the display name of the reporting tool; missing or empty → ``Generic``.
- ``timestamp``: ISO 8601, or epoch seconds as a number or a numeric string; missing → the
  moment the request was received.
- ``labels``: an object whose values are strings, numbers or booleans (kept as their text;
  booleans as ``true``/``false``); a nested value is a 422.
- ``fingerprint``: kept as the alert's fingerprint (pairs a resolved alert with its firing one).
- ``delivery_id``, else ``id``: the sender's stable id for the request (``generic:<id>``).

``null`` counts as missing for every optional field; ``asset_name`` and ``signature`` must be
non-empty strings. This is the hot path: :func:`~._normalize.normalize` decodes every payload
with :data:`GENERIC_DECODER` first, and a payload that has both names is generic, whatever
else it has. The wire struct holds only the generic fields (every field the payload lacks is a
default msgspec fills in and frees again, ~45 machine instructions each); other payloads are
detected by a second, untyped probe (``_detect.Probe``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from msgspec import UNSET, UnsetType

from .._models import Alert, AlertStatus, Severity
from ..errors import NormalizationError
from ._delivery import Delivery
from ._severity import parse_severity
from ._times import FUTURE_TOLERANCE, parse_timestamp
from ._wire import echo

__all__ = ["GENERIC_DECODER", "GenericWire", "build_generic"]

_LabelValue = str | int | float | bool


class GenericWire(msgspec.Struct, frozen=True, gc=False):
    """A generic alert as sent."""

    asset_name: str | UnsetType = UNSET
    signature: str | UnsetType = UNSET
    severity: str | None = None
    status: str | None = None
    message: str | None = None
    tool_source: str | None = None
    timestamp: str | int | float | None = None
    labels: dict[str, _LabelValue] | None = None
    fingerprint: str | None = None
    delivery_id: str | None = None
    id: str | int | UnsetType | None = UNSET


GENERIC_DECODER = msgspec.json.Decoder(GenericWire)

_STATUS = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}
_FIRING = AlertStatus.FIRING
# A missing severity (None) is medium: one lookup serves the usual cases.
_SEVERITIES: dict[str | None, Severity] = {None: Severity.MEDIUM}
_SEVERITIES.update((severity.value, severity) for severity in Severity)
_fromisoformat = datetime.fromisoformat


def build_generic(
    wire: GenericWire,
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    """Turn a decoded generic payload into a one-alert :class:`Delivery`."""
    # The hot path of the whole pipeline: lookups and the usual cases of parse_timestamp and
    # _own_delivery_id are inlined, and each check is written so the common case costs one
    # comparison.
    asset_name = wire.asset_name
    signature = wire.signature
    # strip() is empty exactly for an empty or all-whitespace name, and returns the string
    # itself (no copy) for the usual name.
    if asset_name is UNSET or not asset_name.strip():
        raise NormalizationError("asset_name", _missing_or_empty(asset_name))
    if signature is UNSET or not signature.strip():
        raise NormalizationError("signature", _missing_or_empty(signature))

    severity_name = wire.severity
    severity = _SEVERITIES.get(severity_name) or parse_severity(severity_name, field="severity")
    status = _FIRING if wire.status is None else _status(wire.status)

    timestamp = wire.timestamp
    if timestamp is None:
        event_time = received_at
    else:
        # parse_timestamp's first step, inlined: a string in UTC is done. Anything else takes
        # the general path, which parses again. A numeric string (epoch seconds) never parses
        # as a datetime with an offset, so it cannot be misread here; it rarely has a "-" (only
        # a negative one), which keeps it from paying for a failed parse. ("-" in s costs a
        # third of s[4:5] == "-", which built a slice: 1.5% of the whole pipeline.)
        if type(timestamp) is str and "-" in timestamp:
            try:
                event_time = _fromisoformat(timestamp)
            except ValueError:
                event_time = parse_timestamp(timestamp, "timestamp")
            else:
                if event_time.tzinfo is not UTC:
                    event_time = parse_timestamp(timestamp, "timestamp")
        else:
            event_time = parse_timestamp(timestamp, "timestamp")

    labels: dict[str, str]
    raw_labels = wire.labels
    if not raw_labels:
        labels = {}
    else:
        labels = {k: v if type(v) is str else _label_text(v) for k, v in raw_labels.items()}

    if not delivery_id:
        if wire.id is UNSET and wire.delivery_id is None:
            delivery_id = ""
        else:
            delivery_id = _own_delivery_id(wire)

    # Clamped only when the event time lies after receipt: comparing first spares building a
    # timedelta for every alert from the past.
    clamped = event_time > received_at and event_time - received_at > FUTURE_TOLERANCE
    if clamped:
        event_time = received_at
    message = wire.message
    # Positional, in Alert's field order (see Alert's docstring for why it is not keywords).
    alert = Alert(
        new_id(),  # id
        company_id,
        asset_name,
        signature,
        severity,
        status,
        signature if message is None else message,  # message
        wire.tool_source or "Generic",  # tool_source
        event_time,
        received_at,
        labels,
        delivery_id,
        wire.fingerprint or None,  # fingerprint
        "generic",  # source
        clamped,  # event_time_clamped
        body,  # raw
    )
    return Delivery("generic", (alert,), delivery_id)


def _missing_or_empty(value: str | UnsetType) -> str:
    return "missing" if value is UNSET else "must not be empty"


def _status(text: str) -> AlertStatus:
    found = _STATUS.get(text) or _STATUS.get(text.strip().lower())
    if found is None:
        raise NormalizationError("status", f"unknown status {echo(text)}; use firing or resolved")
    return found


def _label_text(value: _LabelValue) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _own_delivery_id(wire: GenericWire) -> str:
    if wire.id is UNSET and wire.delivery_id is None:
        return ""
    if wire.delivery_id:
        return f"generic:{wire.delivery_id}"
    own = wire.id
    if own is None or own is UNSET or own == "":
        return ""
    return f"generic:{own}"
