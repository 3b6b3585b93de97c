"""Timestamps from senders, made into timezone-aware UTC datetimes.

Accepted: RFC 3339 / ISO 8601 strings (``Z``, ``+00:00`` and ``+0000`` offsets; up to nine
fractional digits, truncated to microseconds; a string without an offset is read as UTC; other
offsets are converted to UTC), and for the generic source also epoch seconds as a number or a
numeric string. Epoch values are turned into datetimes by arithmetic from 1970-01-01 UTC,
never through the platform's time functions. Anything out of datetime's range, NaN or infinite
is a :class:`NormalizationError` naming the field.

An event time more than :data:`FUTURE_TOLERANCE` after the moment the alert was received is a
sender clock error: :func:`clamp` replaces it with ``received_at`` and says so.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import msgspec

from .._models import Alert
from ..errors import NormalizationError
from ._wire import echo

__all__ = [
    "EPOCH",
    "FUTURE_TOLERANCE",
    "ZERO_TIME",
    "as_utc",
    "clamp",
    "from_epoch_ms",
    "from_epoch_seconds",
    "parse_iso",
    "parse_timestamp",
    "with_clamp_flag",
]

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far in the future (after ``received_at``) an event time may lie before it is clamped."""

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)
"""Go's zero time, which Alertmanager sends as ``endsAt`` of a firing alert."""

_fromisoformat = datetime.fromisoformat
_NUMERIC = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
_MAX_DIGITS = 24  # far beyond datetime's range; keeps int() away from giant strings


def parse_iso(text: str, field: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise NormalizationError(
            field, f"expected an ISO 8601 timestamp, got {echo(text)}"
        ) from None
    zone = parsed.tzinfo
    if zone is UTC:
        return parsed
    if zone is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise NormalizationError(field, f"timestamp {echo(text)} is out of range") from None


def from_epoch_seconds(value: int | float, field: str) -> datetime:
    """Epoch seconds (int or float) as an aware UTC datetime."""
    if isinstance(value, float) and not math.isfinite(value):
        raise NormalizationError(field, f"epoch seconds must be finite, got {value}")
    try:
        return EPOCH + timedelta(seconds=value)
    except OverflowError:
        raise NormalizationError(field, f"epoch seconds {value} are out of range") from None


def from_epoch_ms(value: int, field: str) -> datetime:
    """Epoch milliseconds as an aware UTC datetime."""
    try:
        return EPOCH + timedelta(milliseconds=value)
    except OverflowError:
        raise NormalizationError(field, f"epoch milliseconds {value} are out of range") from None


def parse_timestamp(value: str | int | float, field: str) -> datetime:
    """ISO 8601 string, epoch seconds, or epoch seconds as a numeric string."""
    if type(value) is str:
        # "YYYY-…" cannot be a number: the usual ISO 8601 string skips the regex and a call.
        if value[4:5] == "-":
            try:
                parsed = _fromisoformat(value)
            except ValueError:
                pass
            else:
                if parsed.tzinfo is UTC:
                    return parsed
        if _NUMERIC.fullmatch(value) is None:
            return parse_iso(value, field)
        if len(value) > _MAX_DIGITS:
            raise NormalizationError(field, f"epoch seconds {echo(value)} are out of range")
        number: int | float = float(value) if "." in value else int(value)
        return from_epoch_seconds(number, field)
    if isinstance(value, str):  # a str subclass: no fast path
        return parse_timestamp(str(value), field)
    return from_epoch_seconds(value, field)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    zone = moment.tzinfo
    if zone is UTC:
        return moment
    if zone is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def clamp(event_time: datetime, received_at: datetime) -> tuple[datetime, bool]:
    """``(event_time, False)``, or ``(received_at, True)`` when it lies too far in the future."""
    # Subtracting (rather than adding the tolerance to received_at) cannot overflow.
    if event_time - received_at > FUTURE_TOLERANCE:
        return received_at, True
    return event_time, False


def with_clamp_flag(alert: Alert) -> Alert:
    """``alert`` marked as carrying a clamped event time.

    Builders leave ``event_time_clamped`` out of the ``Alert(...)`` call and set it here, in
    the rare clamped case: CPython compiles a call with 16 or more keyword arguments into a
    dict-building call, which measured 0.93 µs against 0.26 µs for 15.
    """
    return msgspec.structs.replace(alert, event_time_clamped=True)
