"""`alertwhisperer replay`: JSON Lines of source payloads through the core, no server needed."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TextIO

import attrs

from alertwhisperer_core import (
    AlertWhispererError,
    CorrelationSettings,
    Correlator,
    Incident,
    compute_kpis,
    score_incident,
)
from alertwhisperer_core.normalize import normalize

from ._progress import Progress

__all__ = ["ReplayReport", "print_report", "replay_payloads"]


@attrs.frozen
class ReplayReport:
    alerts: int
    deliveries: int
    duplicates: int
    rejected: tuple[tuple[int, str], ...]  # (line number, error)
    incidents: tuple[Incident, ...]
    now: datetime


def replay_payloads(
    payloads: Iterable[bytes],
    *,
    now: datetime,
    total: int = 0,
    settings: CorrelationSettings | None = None,
    company_id: str = "replay",
) -> ReplayReport:
    """Normalize and correlate every payload as received at ``now``; bad lines are reported."""
    counter = itertools.count(1)

    def new_id() -> str:
        return f"r{next(counter)}"

    correlator = Correlator(new_id=new_id, settings=settings or CorrelationSettings())
    finished: dict[str, Incident] = {}
    seen_deliveries: set[str] = set()
    rejected: list[tuple[int, str]] = []
    alerts = deliveries = duplicates = 0
    progress = Progress(total, "replay")
    for line_no, body in enumerate(payloads, start=1):
        progress.advance()
        if not body.strip():
            continue
        try:
            delivery = normalize(body, company_id=company_id, received_at=now, new_id=new_id)
        except AlertWhispererError as exc:
            rejected.append((line_no, exc.detail))
            continue
        if delivery.delivery_id and delivery.delivery_id in seen_deliveries:
            duplicates += 1
            continue
        if delivery.delivery_id:
            seen_deliveries.add(delivery.delivery_id)
        deliveries += 1
        for alert in delivery.alerts:
            alerts += 1
            result = correlator.observe(alert, now)
            for incident in result.retired:
                finished[incident.id] = incident
    progress.close()
    for incident in correlator.open_incidents():
        finished[incident.id] = incident
    return ReplayReport(
        alerts, deliveries, duplicates, tuple(rejected), tuple(finished.values()), now
    )


def print_report(report: ReplayReport, out: TextIO, limit: int = 25) -> None:
    """Incidents by priority, then the KPIs, as plain text."""
    visible = [i for i in report.incidents if i.merged_into is None and i.status != "pending"]
    scored = sorted(
        ((score_incident(i, None, report.now).score, i) for i in visible),
        key=lambda pair: (-pair[0], pair[1].id),
    )
    out.write(
        f"{report.deliveries} deliveries, {report.alerts} alerts, "
        f"{report.duplicates} duplicate deliveries dropped, {len(report.rejected)} rejected\n"
    )
    for line_no, error in report.rejected[:10]:
        out.write(f"  line {line_no}: {error}\n")
    out.write(f"\n{len(visible)} incidents (top {min(limit, len(visible))} by priority)\n")
    out.write(f"{'priority':>8}  {'severity':<8}  {'alerts':>6}  {'status':<11}  key  [tools]\n")
    for score, incident in scored[:limit]:
        tools = ",".join(sorted(incident.tool_sources))
        out.write(
            f"{score:>8}  {incident.severity:<8}  {incident.alert_count:>6}  "
            f"{incident.status:<11}  {incident.company_id}/{incident.key}  [{tools}]\n"
        )
    kpis = compute_kpis(alert_count=report.alerts, incidents=visible, compliance=None)
    out.write("\nKPIs\n")
    for name in ("noise_reduction", "self_healed", "mttr_minutes"):
        kpi = getattr(kpis, name)
        value = "n/a" if kpi.value is None else f"{kpi.value:.1f}"
        band = f" ({kpi.band})" if kpi.band else ""
        out.write(f"  {name:<16} {value}{band}  target {kpi.target}\n")


def read_lines(paths: Sequence[str]) -> list[bytes]:
    lines: list[bytes] = []
    for path in paths:
        with open(path, "rb") as handle:
            lines.extend(handle.read().splitlines())
    return lines
