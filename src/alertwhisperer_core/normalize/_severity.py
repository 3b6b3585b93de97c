"""Severity names: the four canonical ones and the synonyms senders use.

Monitoring tools name severities in their own words (syslog's ``emerg``, Zabbix's ``Disaster``,
paging tools' ``P1``). Rather than reject them, every spelling in :data:`SEVERITY_SYNONYMS`
maps to one of the four canonical severities; anything else is a 422 naming the field, because
guessing a severity would silently change an incident's priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._models import Severity
from ..errors import NormalizationError
from ._wire import echo, json_type

__all__ = ["SEVERITY_SYNONYMS", "parse_severity"]

_CRITICAL = Severity.CRITICAL
_HIGH = Severity.HIGH
_MEDIUM = Severity.MEDIUM
_LOW = Severity.LOW

_LOOKUP: dict[str, Severity] = {
    # canonical names
    "critical": _CRITICAL,
    "high": _HIGH,
    "medium": _MEDIUM,
    "low": _LOW,
    # critical: wake someone up
    "crit": _CRITICAL,
    "page": _CRITICAL,
    "fatal": _CRITICAL,
    "emergency": _CRITICAL,
    "emerg": _CRITICAL,
    "panic": _CRITICAL,
    "alert": _CRITICAL,
    "disaster": _CRITICAL,
    "p1": _CRITICAL,
    # high
    "error": _HIGH,
    "err": _HIGH,
    "major": _HIGH,
    "p2": _HIGH,
    # medium
    "warning": _MEDIUM,
    "warn": _MEDIUM,
    "minor": _MEDIUM,
    "average": _MEDIUM,
    "moderate": _MEDIUM,
    "p3": _MEDIUM,
    # low
    "info": _LOW,
    "information": _LOW,
    "informational": _LOW,
    "notice": _LOW,
    "debug": _LOW,
    "not classified": _LOW,
    "p4": _LOW,
    "p5": _LOW,
}

SEVERITY_SYNONYMS: Mapping[str, Severity] = MappingProxyType(_LOOKUP)
"""Every accepted severity spelling (lower case, canonical names included) and its meaning.

- critical: critical, crit, page, fatal, emergency, emerg, panic, alert, disaster, p1
- high: high, error, err, major, p2
- medium: medium, warning, warn, minor, average, moderate, p3
- low: low, info, information, informational, notice, debug, not classified, p4, p5

Matching ignores case and surrounding white space.
"""


def parse_severity(value: object, *, field: str) -> Severity:
    """Map a sender's severity name to a :class:`Severity`.

    Case-insensitive; canonical names and every spelling in :data:`SEVERITY_SYNONYMS` are
    accepted. Anything else (including a non-string) raises :class:`NormalizationError` naming
    ``field``.
    """
    if isinstance(value, str):
        found = _LOOKUP.get(value)
        if found is not None:
            return found
        found = _LOOKUP.get(value.strip().lower())
        if found is not None:
            return found
        raise NormalizationError(
            field, f"unknown severity {echo(value)}; use critical, high, medium, low or a synonym"
        )
    raise NormalizationError(field, f"expected a severity name, got {json_type(value)}")
