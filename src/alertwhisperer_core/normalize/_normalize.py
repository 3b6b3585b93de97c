"""One entry point: bytes of a webhook request in, a :class:`Delivery` out.

The generic format is tried first with a single typed decode, and a generic payload becomes its
alert right here (it is the hot path); only a payload that is not generic is decoded again: by
an untyped probe that finds which identifying keys it has, then by its own source's schema.
``normalize`` raises nothing but :class:`MalformedPayload` (not JSON, or JSON that is not an
object: 400) and :class:`NormalizationError` (no source fits, an unknown ``source``, or a bad
field: 422), whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from msgspec import UNSET

from .._models import Alert
from ..errors import NormalizationError
from ._alertmanager import normalize_alertmanager
from ._cloudwatch import normalize_cloudwatch
from ._datadog import normalize_datadog
from ._delivery import SOURCES, Delivery
from ._detect import PROBE_DECODER, detect_probe
from ._generic import (
    FIRING,
    GENERIC_DECODER,
    SEVERITY_OF,
    check_names,
    labels_of,
    own_delivery_id,
    status_of,
)
from ._severity import parse_severity
from ._times import FUTURE_TOLERANCE, as_utc, parse_timestamp
from ._wire import DECODE_FAILURES, body_error, echo
from ._zabbix import normalize_zabbix

__all__ = ["normalize"]

_Normalizer = Callable[[bytes, str, datetime, Callable[[], str], str | None], Delivery]
# Bound once: normalize runs for every request. (A method of an imported name is also looked
# up as a plain attribute, building a bound method on every call.)
_decode_generic = GENERIC_DECODER.decode
_canonical = SEVERITY_OF.get  # severity by canonical name (medium for None)
_fromisoformat = datetime.fromisoformat


def _normalize_generic(
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    """The generic source, named or detected after the generic decode failed."""
    try:
        wire = GENERIC_DECODER.decode(body)
    except DECODE_FAILURES as exc:
        raise body_error(exc, body) from None
    check_names(wire)
    # With both names, detection picks generic: normalize builds the alert (and decodes the
    # body once more, a cost only a named source pays).
    return normalize(
        body,
        company_id=company_id,
        received_at=received_at,
        new_id=new_id,
        delivery_id=delivery_id,
    )


_BY_SOURCE: dict[str, _Normalizer] = {
    "generic": _normalize_generic,
    "alertmanager": normalize_alertmanager,
    "datadog": normalize_datadog,
    "zabbix": normalize_zabbix,
    "cloudwatch": normalize_cloudwatch,
}
_FITS_NO_SOURCE = (
    "the payload fits no known source: expected asset_name and signature (generic), version "
    "and alerts (Alertmanager), alert_transition and alert_id (Datadog), eventid and "
    "eventvalue (Zabbix), or Type, TopicArn and Message (SNS); or name it with ?source="
)


def normalize(
    body: bytes,
    *,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    source: str | None = None,
    delivery_id: str | None = None,
) -> Delivery:
    """Parse a webhook body into normalized alerts.

    ``source`` (the ``?source=`` parameter) forces one format and its field names in errors;
    otherwise the format is detected. ``received_at`` is the moment of receipt (taken to be UTC
    when naive); ``new_id`` makes each alert's id; ``delivery_id`` is the ``X-Delivery-ID``
    header, if any (an empty one counts as none, and the source's own id is used).

    Raises :class:`MalformedPayload` for a body that is not a JSON object and
    :class:`NormalizationError` for everything else that cannot become alerts.
    """
    if type(body) is not bytes:
        body = bytes(body)
    if received_at.tzinfo is not UTC:
        received_at = as_utc(received_at)
    if source is not None:
        return _forced(source, body, company_id, received_at, new_id, delivery_id)

    try:
        wire = _decode_generic(body)
    except DECODE_FAILURES as exc:
        # Valid JSON that the generic schema rejects is detected below: a generic payload with
        # a bad field is detected as generic again, and the generic normalizer then raises the
        # error naming that field.
        if not isinstance(exc, msgspec.ValidationError):
            raise body_error(exc, body) from None
    else:
        asset_name = wire.asset_name
        signature = wire.signature
        if asset_name is not UNSET and signature is not UNSET:
            # A generic payload (the mapping is documented in _generic). The hot path of the
            # whole pipeline, written out here rather than in a function, whose call cost
            # ~2% of the core pipeline: the usual cases of parse_timestamp and
            # own_delivery_id are inlined, and each check is written so the common case costs
            # one comparison. Errors come in the order of the fields below.
            if not asset_name.strip() or not signature.strip():
                check_names(wire)
            severity = _canonical(wire.severity) or parse_severity(wire.severity, field="severity")
            status = FIRING if wire.status is None else status_of(wire.status)
            timestamp = wire.timestamp
            if timestamp is None:
                event_time = received_at
            # parse_timestamp's first step: a string in UTC is done; anything else takes the
            # general path, which parses again. A numeric string (epoch seconds) never parses
            # as a datetime with an offset, so it cannot be misread here; it rarely has a "-"
            # (only a negative one), which keeps it from paying for a failed parse. ("-" in s
            # costs a third of s[4:5] == "-", which builds a slice: 1.5% of the pipeline.)
            elif type(timestamp) is str and "-" in timestamp:
                try:
                    event_time = _fromisoformat(timestamp)
                except ValueError:
                    event_time = parse_timestamp(timestamp, "timestamp")
                else:
                    if event_time.tzinfo is not UTC:
                        event_time = parse_timestamp(timestamp, "timestamp")
            else:
                event_time = parse_timestamp(timestamp, "timestamp")
            labels = labels_of(wire.labels) if wire.labels else {}
            if not delivery_id:
                if wire.id is UNSET and wire.delivery_id is None:
                    delivery_id = ""
                else:
                    delivery_id = own_delivery_id(wire)
            # Clamped only when the event time lies after receipt: comparing first spares
            # building a timedelta for every alert from the past.
            clamped = event_time > received_at and event_time - received_at > FUTURE_TOLERANCE
            if clamped:
                event_time = received_at
            message = wire.message
            # Positional, in Alert's field order (see Alert's docstring for why).
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
    detected = _detect(body)
    if detected is None:
        raise NormalizationError("source", _FITS_NO_SOURCE)
    return _BY_SOURCE[detected](body, company_id, received_at, new_id, delivery_id)


def _forced(
    source: str,
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    normalizer = _BY_SOURCE.get(source) or _BY_SOURCE.get(source.strip().lower())
    if normalizer is None:
        raise NormalizationError(
            "source", f"unknown source {echo(source)}; use one of {', '.join(SOURCES)}"
        )
    return normalizer(body, company_id, received_at, new_id, delivery_id)


def _detect(body: bytes) -> str | None:
    """The source of a JSON document the generic schema did not take, by its keys."""
    try:
        probe = PROBE_DECODER.decode(body)
    except DECODE_FAILURES as exc:  # JSON, but not an object
        raise body_error(exc, body) from None
    return detect_probe(probe)
