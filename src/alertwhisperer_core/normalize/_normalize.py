"""One entry point: bytes of a webhook request in, a :class:`Delivery` out.

The generic format is tried first with a single typed decode (it is the hot path); only a
payload that is not generic is decoded again: by an untyped probe that finds which identifying
keys it has, then by its own source's schema. ``normalize`` raises nothing but
:class:`MalformedPayload` (not JSON, or JSON that is not an object: 400) and
:class:`NormalizationError` (no source fits, an unknown ``source``, or a bad field: 422),
whatever the bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
from msgspec import UNSET

from ..errors import NormalizationError
from ._alertmanager import normalize_alertmanager
from ._cloudwatch import normalize_cloudwatch
from ._datadog import normalize_datadog
from ._delivery import SOURCES, Delivery
from ._detect import PROBE_DECODER, detect_probe
from ._generic import GENERIC_DECODER, build_generic
from ._times import as_utc
from ._wire import DECODE_FAILURES, body_error, echo
from ._zabbix import normalize_zabbix

__all__ = ["normalize"]

_Normalizer = Callable[[bytes, str, datetime, Callable[[], str], str | None], Delivery]
_decode_generic = GENERIC_DECODER.decode  # bound once: normalize runs for every request


def _normalize_generic(
    body: bytes,
    company_id: str,
    received_at: datetime,
    new_id: Callable[[], str],
    delivery_id: str | None,
) -> Delivery:
    try:
        wire = GENERIC_DECODER.decode(body)
    except DECODE_FAILURES as exc:
        raise body_error(exc, body) from None
    return build_generic(wire, body, company_id, received_at, new_id, delivery_id)


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
        if wire.asset_name is not UNSET and wire.signature is not UNSET:
            return build_generic(wire, body, company_id, received_at, new_id, delivery_id)
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
