"""Incident priority score (SPEC §4): a pure function of the incident, its asset and ``now``.

::

    score = severity base (critical 90, high 60, medium 30, low 10)
          + 20 if the asset is marked critical
          + min(2 x (alert count - 1), 20)
          + 10 if two or more distinct tool sources reported
          - min(whole hours since the incident opened, 10)    (0 when now < opened)

The score lies in [0, 140]. ``docs/scoring.md`` recomputes the guide's worked examples, some of
which disagree with the guide's own formula; the formula wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

import attrs

from ._models import Asset, Incident, Severity

__all__ = [
    "AGE_DECAY_CAP",
    "CRITICAL_ASSET_BONUS",
    "DUPLICATE_CAP",
    "DUPLICATE_POINTS",
    "MAX_SCORE",
    "MULTI_TOOL_BONUS",
    "SEVERITY_BASE",
    "PriorityScore",
    "priority_score",
    "score_breakdown",
    "score_incident",
]

_BASE = {Severity.CRITICAL: 90, Severity.HIGH: 60, Severity.MEDIUM: 30, Severity.LOW: 10}
SEVERITY_BASE: Mapping[Severity, int] = MappingProxyType(_BASE)
"""Points for the most severe alert of the incident."""

CRITICAL_ASSET_BONUS = 20
DUPLICATE_POINTS = 2
DUPLICATE_CAP = 20
MULTI_TOOL_BONUS = 10
AGE_DECAY_CAP = 10
MAX_SCORE = _BASE[Severity.CRITICAL] + CRITICAL_ASSET_BONUS + DUPLICATE_CAP + MULTI_TOOL_BONUS
_CAPPED_COUNT = 1 - (-DUPLICATE_CAP // DUPLICATE_POINTS)  # the first count whose points are capped
_HOUR = timedelta(hours=1)
_CAPPED_AGE = AGE_DECAY_CAP * _HOUR


@attrs.frozen
class PriorityScore:
    """A score and the terms that make it up (their sum is the score).

    ``breakdown`` keys, in this order: ``severity_base``, ``critical_asset``, ``duplicates``,
    ``multi_tool``, ``age_decay`` (0 or negative).
    """

    score: int
    breakdown: Mapping[str, int]

    def as_dict(self) -> dict[str, object]:
        """The API shape: ``{"score": N, "breakdown": {...}}``."""
        return {"score": self.score, "breakdown": dict(self.breakdown)}


def priority_score(
    *,
    severity: Severity,
    asset_is_critical: bool,
    alert_count: int,
    tool_source_count: int,
    opened_at: datetime,
    now: datetime,
) -> int:
    """The score alone, for sorting many incidents (no objects built beyond the arithmetic).

    Raises ``ValueError`` for an ``alert_count`` below 1 (an incident has at least one alert)
    or a negative ``tool_source_count``.
    """
    # Called once per alert by the ingest path: the checks and the age decay are inlined
    # (score_breakdown calls _check_counts and _age_decay), and each count is checked only in
    # the branch a bad value would take, so a busy multi-tool incident costs no check at all.
    # Errors come in _check_counts' order: the counts are looked at before the severity.
    if alert_count >= _CAPPED_COUNT:
        score = DUPLICATE_CAP
    else:
        if alert_count < 1:
            _check_counts(alert_count, tool_source_count)
        score = (alert_count - 1) * DUPLICATE_POINTS
    if tool_source_count >= 2:
        score += MULTI_TOOL_BONUS
    elif tool_source_count < 0:
        _check_counts(alert_count, tool_source_count)
    score += _BASE[severity]
    if asset_is_critical:
        score += CRITICAL_ASSET_BONUS
    # Whole hours, floored; 0 while now < opened_at. Comparing timedeltas is cheaper than
    # reading their fields, and a fresh incident needs only the first comparison.
    age = now - opened_at
    if age < _HOUR:
        return score
    if age >= _CAPPED_AGE:
        return score - AGE_DECAY_CAP
    return score - age // _HOUR


def score_breakdown(
    *,
    severity: Severity,
    asset_is_critical: bool,
    alert_count: int,
    tool_source_count: int,
    opened_at: datetime,
    now: datetime,
) -> PriorityScore:
    """The score with its breakdown, as the API shows it; arguments as :func:`priority_score`."""
    _check_counts(alert_count, tool_source_count)
    breakdown = {
        "severity_base": _BASE[severity],
        "critical_asset": CRITICAL_ASSET_BONUS if asset_is_critical else 0,
        "duplicates": min((alert_count - 1) * DUPLICATE_POINTS, DUPLICATE_CAP),
        "multi_tool": MULTI_TOOL_BONUS if tool_source_count >= 2 else 0,
        "age_decay": -_age_decay(opened_at, now),
    }
    return PriorityScore(score=sum(breakdown.values()), breakdown=breakdown)


def score_incident(incident: Incident, asset: Asset | None, now: datetime) -> PriorityScore:
    """Score an incident; ``asset`` is its registered asset, or ``None`` when unregistered.

    The incident opened at ``created_at``: when it was opened here, not the event time of its
    first alert, so an incident opened now for an alert that arrived late does not start decayed.
    Raises ``ValueError`` if ``asset`` belongs to another company or another asset name.
    """
    if asset is not None and (
        asset.company_id != incident.company_id or asset.name != incident.asset_name
    ):
        raise ValueError(
            f"asset {asset.company_id}/{asset.name} is not the asset of incident {incident.id}"
        )
    return score_breakdown(
        severity=incident.severity,
        asset_is_critical=asset is not None and asset.is_critical,
        alert_count=incident.alert_count,
        tool_source_count=len(incident.tool_sources),
        opened_at=incident.created_at,
        now=now,
    )


def _check_counts(alert_count: int, tool_source_count: int) -> None:
    if alert_count < 1:
        raise ValueError(f"alert_count must be at least 1, got {alert_count}")
    if tool_source_count < 0:
        raise ValueError(f"tool_source_count must not be negative, got {tool_source_count}")


def _age_decay(opened_at: datetime, now: datetime) -> int:
    # A timedelta keeps 0 <= seconds < 86400 and carries the sign in days: negative days mean
    # now < opened_at, a whole day is past the cap, and otherwise seconds // 3600 is the floor
    # of the hours. Reading the fields avoids building another timedelta per call.
    age = now - opened_at
    if age.days < 0:
        return 0
    if age.days > 0:
        return AGE_DECAY_CAP
    hours = age.seconds // 3600
    return hours if hours < AGE_DECAY_CAP else AGE_DECAY_CAP
