"""Notifications (SPEC §10): the record, and who is told about what.

Each ``*_notifications`` function is pure: given the users and the thing that happened, it
returns one :class:`Notification` per recipient (sorted by user id, so ids are handed out in a
reproducible order). Who is told:

- **critical alert**: the active MSP admins, and the active company admins and technicians of
  the alert's company. MSP admins hear about critical alerts only, not the other kinds, so
  their bell is not a copy of every company's.
- **assignment**: the assignee, unless they assigned the incident to themselves.
- **approval requested**: every user who :func:`~._approvals.may_decide` the request.
- **execution failed**: the incident's assignee and the active company admins of its company.

The use cases decide *when* (not for incidents in maintenance or still pending); this module
decides *who* and *what it says*.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime

import attrs

from ._approvals import may_decide
from ._models import ApprovalRequest, Incident, Role, User

__all__ = [
    "Notification",
    "NotificationType",
    "approval_notifications",
    "assignment_notifications",
    "critical_alert_notifications",
    "critical_alert_recipients",
    "failed_execution_notifications",
    "failed_execution_recipients",
]


class NotificationType(enum.StrEnum):
    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


@attrs.frozen
class Notification:
    """One message for one user; ``read_at`` is None until they read it.

    ``link_type`` and ``link_id`` name the object it is about (``incident``, ``approval``,
    ``execution``), so a client can open it.
    """

    id: str
    user_id: str
    company_id: str | None
    type: NotificationType
    title: str
    body: str
    link_type: str
    link_id: str
    created_at: datetime
    read_at: datetime | None = None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


def _build(
    recipients: Iterable[str],
    *,
    new_id: Callable[[], str],
    company_id: str | None,
    type: NotificationType,
    title: str,
    body: str,
    link_type: str,
    link_id: str,
    now: datetime,
) -> tuple[Notification, ...]:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return tuple(
        Notification(
            id=new_id(),
            user_id=user_id,
            company_id=company_id,
            type=type,
            title=title,
            body=body,
            link_type=link_type,
            link_id=link_id,
            created_at=now,
        )
        for user_id in sorted(set(recipients))
    )


def critical_alert_recipients(users: Iterable[User], company_id: str) -> list[str]:
    """Ids of who hears about a critical alert of ``company_id`` (module docstring)."""
    chosen = {
        u.id
        for u in users
        if u.active
        and (
            u.role is Role.MSP_ADMIN
            or (u.role in (Role.COMPANY_ADMIN, Role.TECHNICIAN) and company_id in u.company_ids)
        )
    }
    return sorted(chosen)


def critical_alert_notifications(
    users: Iterable[User], incident: Incident, *, new_id: Callable[[], str], now: datetime
) -> tuple[Notification, ...]:
    """``critical`` notifications for a critical alert on ``incident``."""
    return _build(
        critical_alert_recipients(users, incident.company_id),
        new_id=new_id,
        company_id=incident.company_id,
        type=NotificationType.CRITICAL,
        title=f"Critical: {incident.signature} on {incident.asset_name}",
        body=f"{incident.alert_count} alert(s) in incident {incident.id}",
        link_type="incident",
        link_id=incident.id,
        now=now,
    )


def assignment_notifications(
    incident: Incident,
    assignee_id: str,
    *,
    assigned_by: str | None,
    new_id: Callable[[], str],
    now: datetime,
) -> tuple[Notification, ...]:
    """An ``info`` notification for the assignee (none for assigning oneself)."""
    recipients = () if assignee_id == assigned_by else (assignee_id,)
    return _build(
        recipients,
        new_id=new_id,
        company_id=incident.company_id,
        type=NotificationType.INFO,
        title=f"Assigned to you: {incident.signature} on {incident.asset_name}",
        body=f"Incident {incident.id} ({incident.severity.value}) is yours",
        link_type="incident",
        link_id=incident.id,
        now=now,
    )


def approval_notifications(
    users: Iterable[User],
    request: ApprovalRequest,
    runbook_name: str,
    *,
    new_id: Callable[[], str],
    now: datetime,
) -> tuple[Notification, ...]:
    """``warning`` notifications for everyone who may decide ``request``."""
    return _build(
        (u.id for u in users if may_decide(u, request)),
        new_id=new_id,
        company_id=request.company_id,
        type=NotificationType.WARNING,
        title=f"Approval needed: {runbook_name} ({request.risk.value} risk)",
        body=f"Runbook {runbook_name} for incident {request.incident_id} awaits a decision",
        link_type="approval",
        link_id=request.id,
        now=now,
    )


def failed_execution_recipients(users: Iterable[User], incident: Incident) -> list[str]:
    """Ids of who hears that a runbook failed on ``incident`` (module docstring)."""
    by_id = {u.id: u for u in users}
    chosen = {
        u.id
        for u in by_id.values()
        if u.active and u.role is Role.COMPANY_ADMIN and incident.company_id in u.company_ids
    }
    assignee = by_id.get(incident.assigned_to or "")
    if assignee is not None and assignee.active:
        chosen.add(assignee.id)
    return sorted(chosen)


def failed_execution_notifications(
    users: Iterable[User],
    incident: Incident,
    execution_id: str,
    runbook_name: str,
    *,
    new_id: Callable[[], str],
    now: datetime,
) -> tuple[Notification, ...]:
    """``warning`` notifications that a runbook did not heal ``incident``."""
    return _build(
        failed_execution_recipients(users, incident),
        new_id=new_id,
        company_id=incident.company_id,
        type=NotificationType.WARNING,
        title=f"Runbook failed: {runbook_name}",
        body=f"Incident {incident.id} on {incident.asset_name} is still open",
        link_type="execution",
        link_id=execution_id,
        now=now,
    )
