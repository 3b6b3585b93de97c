"""Per-company settings with the accepted ranges of SPEC §3, §5.3 and §6.

Every constructor validates, so a settings object that exists is a valid one. Violations raise
:class:`~alertwhisperer_core.errors.ValidationError` naming the field by its API path.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import attrs

from .errors import ValidationError

__all__ = [
    "AGGREGATION_FIELDS",
    "Company",
    "CompanySettings",
    "CorrelationSettings",
    "Policy",
    "RateLimitSettings",
]

# Normalized alert fields an aggregation key may name (besides ``label:NAME``). ``asset`` is
# the guide's short name for ``asset_name``.
AGGREGATION_FIELDS = frozenset(
    {
        "asset",
        "asset_name",
        "signature",
        "severity",
        "status",
        "tool_source",
        "tool",
        "source",
        "company_id",
        "fingerprint",
    }
)


def _in_range(field: str, lo: int, hi: int) -> Any:
    def check(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError.for_field(field, "must be an integer")
        if not lo <= value <= hi:
            raise ValidationError.for_field(field, f"must be between {lo} and {hi}")

    return check


def _is_bool(field: str) -> Any:
    def check(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, bool):
            raise ValidationError.for_field(field, "must be a boolean")

    return check


def _check_aggregation_key(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    field = "correlation.aggregation_key"
    if not isinstance(value, str) or not value.strip():
        raise ValidationError.for_field(field, "must be a non-empty string like 'asset|signature'")
    for part in value.split("|"):
        if part.startswith("label:") and len(part) > len("label:"):
            continue
        if part not in AGGREGATION_FIELDS:
            allowed = ", ".join(sorted(AGGREGATION_FIELDS))
            raise ValidationError.for_field(
                field, f"unknown field {part!r}; use one of {allowed} or label:NAME"
            )


@attrs.frozen
class CorrelationSettings:
    window_minutes: int = attrs.field(
        default=15, validator=_in_range("correlation.window_minutes", 1, 1440)
    )
    aggregation_key: str = attrs.field(default="asset|signature", validator=_check_aggregation_key)
    auto_correlate: bool = attrs.field(
        default=True, validator=_is_bool("correlation.auto_correlate")
    )
    min_alerts: int = attrs.field(
        default=1, validator=_in_range("correlation.min_alerts", 1, 10_000)
    )
    max_span_minutes: int = attrs.field(
        default=1440, validator=_in_range("correlation.max_span_minutes", 1, 525_600)
    )

    @property
    def window(self) -> timedelta:
        return _minutes(self.window_minutes)

    @property
    def max_span(self) -> timedelta:
        return _minutes(self.max_span_minutes)


@functools.lru_cache(maxsize=256)
def _minutes(minutes: int) -> timedelta:
    """``timedelta(minutes=...)``, shared: correlation asks for the window several times per
    alert, and building a timedelta from keywords cost more than the comparisons it served."""
    return timedelta(minutes=minutes)


@attrs.frozen
class RateLimitSettings:
    requests_per_minute: int = attrs.field(
        default=60, validator=_in_range("rate_limit.requests_per_minute", 1, 1000)
    )
    burst: int = attrs.field(default=100, validator=_in_range("rate_limit.burst", 1, 100_000))

    @property
    def rate_per_second(self) -> float:
        return self.requests_per_minute / 60.0


def _check_windows(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    # Parsed here so a bad window is refused when settings are saved, not at alert time.
    from ._maintenance import parse_window  # local: _maintenance imports nothing from here

    if not isinstance(value, tuple):
        raise ValidationError.for_field("policy.maintenance_windows", "must be a list of strings")
    for i, spec in enumerate(value):
        field = f"policy.maintenance_windows[{i}]"
        if not isinstance(spec, str):
            raise ValidationError.for_field(field, "must be a string like 'Sat 22:00-02:00'")
        parse_window(spec, field=field)


def _check_timezone(_inst: object, _attr: attrs.Attribute[Any], value: object) -> None:
    from ._maintenance import load_timezone

    if not isinstance(value, str):
        raise ValidationError.for_field("policy.timezone", "must be an IANA time zone name")
    load_timezone(value, field="policy.timezone")


def _tuple_of_list(value: Any) -> Any:
    # The API sends a list; anything else is left for the validator to name.
    return tuple(value) if isinstance(value, list) else value


@attrs.frozen
class Policy:
    auto_approve_low_risk: bool = attrs.field(
        default=True, validator=_is_bool("policy.auto_approve_low_risk")
    )
    maintenance_windows: tuple[str, ...] = attrs.field(
        default=(), converter=_tuple_of_list, validator=_check_windows
    )
    timezone: str = attrs.field(default="UTC", validator=_check_timezone)


@attrs.frozen
class CompanySettings:
    correlation: CorrelationSettings = attrs.field(factory=CorrelationSettings)
    rate_limit: RateLimitSettings = attrs.field(factory=RateLimitSettings)
    policy: Policy = attrs.field(factory=Policy)


@attrs.frozen
class Company:
    """A client of the MSP. Secrets appear here only as hashes (API key) or not at all."""

    id: str
    name: str
    created_at: datetime
    settings: CompanySettings = attrs.field(factory=CompanySettings)
    api_key_hash: str = ""
    hmac_enabled: bool = False
