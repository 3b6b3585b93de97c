"""absorb_alert, built field by field for speed, against the attrs.evolve it replaced."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core import IncidentStatus, Note, Resolution, Severity, TimelineEntry
from alertwhisperer_core._incidents import absorb_alert

from .contract.records import T0, alert, incident

_SEVERITIES = st.sampled_from(list(Severity))
_MINUTES = st.integers(-600, 600).map(lambda m: T0 + timedelta(minutes=m))


@given(
    incident_severity=_SEVERITIES,
    alert_severity=_SEVERITIES,
    first=_MINUTES,
    span=st.integers(0, 600),
    at=_MINUTES,
    sources=st.frozensets(st.sampled_from(["Datadog", "Zabbix", "CloudWatch"]), min_size=1),
    source=st.sampled_from(["Datadog", "Zabbix", "CloudWatch", "Prometheus"]),
    fingerprints=st.frozensets(st.sampled_from(["", "fp-1", "fp-2"])),
    fingerprint=st.sampled_from([None, "fp-1", "fp-3"]),
    status=st.sampled_from([IncidentStatus.NEW, IncidentStatus.PENDING]),
)
def test_absorb_alert_changes_exactly_the_counting_fields(
    incident_severity: Severity,
    alert_severity: Severity,
    first: datetime,
    span: int,
    at: datetime,
    sources: frozenset[str],
    source: str,
    fingerprints: frozenset[str],
    fingerprint: str | None,
    status: IncidentStatus,
) -> None:
    before = incident(
        "inc-1", severity=incident_severity, status=status, alert_count=3,
        tool_sources=sources, first_event_at=first,
        last_event_at=first + timedelta(minutes=span), created_at=T0, alert_ids=("a-0",),
        firing_fingerprints=fingerprints, resolution=Resolution.MANUAL, resolved_at=T0,
        assigned_to="u-1", notes=(Note("u-1", "Ada", "hi", T0),),
        timeline=(TimelineEntry(T0, "opened"),), merged_into=None, in_maintenance=True,
    )  # fmt: skip
    new = alert(
        "a-1", severity=alert_severity, tool_source=source, event_time=at, fingerprint=fingerprint
    )
    expected = attrs.evolve(
        before,
        alert_count=4,
        severity=max(incident_severity, alert_severity, key=lambda s: s.rank),
        tool_sources=sources | {source},
        first_event_at=min(before.first_event_at, at),
        last_event_at=max(before.last_event_at, at),
        firing_fingerprints=fingerprints | {fingerprint or ""},
    )
    assert absorb_alert(before, new) == expected
