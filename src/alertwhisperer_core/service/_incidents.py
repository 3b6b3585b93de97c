"""Working an incident: show it, change its status or assignee, add notes (SPEC §6, §8).

Status changes go through the lifecycle table (:func:`transition_incident`): anything the table
lacks is a 409 and nothing changes; setting the current status again is a no-op, so a repeated
``PATCH`` is harmless. Resolving by hand records the resolution ``manual``. An incident can be
assigned to any active user who may see it (a technician, an admin of its company, an MSP
admin); ``null`` unassigns. Every change is audited and announced as ``incident.updated``.

Changes read the incident under its key's lock (:func:`locked_incident`), the lock the ingest
path takes, and a unit of work that lost a race is run again (:func:`retry_conflicts`): a
change never overwrites a concurrent one, nor alerts a delivery appended meanwhile.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._execution import Execution
from .._incidents import add_note, assign
from .._lifecycle import transition_incident
from .._models import Incident, IncidentStatus, Note, Resolution, TimelineEntry, User
from .._notifications import Notification, assignment_notifications
from .._rbac import Access, Action, authorize
from ..errors import Conflict, ValidationError
from ..ports import Event, Page, UnitOfWork
from ._access import audit, locked_incident, not_found, require
from ._commands import UNSET, IncidentChanges, NewNote
from ._ingest import notification_event
from ._queries import DEFAULT_LIMIT, IncidentView, check_limit, incident_view
from ._retry import retry_conflicts
from ._services import Services

__all__ = ["add_incident_note", "get_incident", "list_incident_executions", "update_incident"]


async def _load(
    uow: UnitOfWork, actor: User, action: Action, incident_id: str, *, for_update: bool = False
) -> Incident:
    if for_update:
        incident = await locked_incident(uow, incident_id)
    else:
        incident = await uow.incidents.get(incident_id)
    # A pending group is not listed anywhere yet, so it is not there to be fetched either.
    if incident is None or incident.status is IncidentStatus.PENDING:
        raise not_found("Incident")
    require(actor, action, incident.company_id, kind="Incident")
    return incident


async def _view(uow: UnitOfWork, incident: Incident, now: datetime) -> IncidentView:
    asset = await uow.assets.by_name(incident.company_id, incident.asset_name)
    return await incident_view(uow, incident, now, asset)


def _event(view: IncidentView, now: datetime) -> Event:
    incident = view.incident
    return Event(
        "incident.updated",
        incident.company_id,
        {
            "id": incident.id,
            "status": incident.status.value,
            "severity": incident.severity.value,
            "alert_count": incident.alert_count,
            "priority": view.priority.score,
            "merged_into": incident.merged_into,
            "assigned_to": incident.assigned_to,
        },
        now,
    )


async def get_incident(services: Services, actor: User, incident_id: str) -> IncidentView:
    """One incident with its alert ids, asset and priority breakdown."""
    async with services.uow() as uow:
        incident = await _load(uow, actor, Action.VIEW_INCIDENTS, incident_id)
        return await _view(uow, incident, services.clock.now())


async def list_incident_executions(
    services: Services,
    actor: User,
    incident_id: str,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Execution]:
    """The runbook executions of one incident, newest first, one page at a time (404 for an
    incident ``actor`` may not see, as for the incident itself)."""
    check_limit(limit)
    async with services.uow() as uow:
        incident = await _load(uow, actor, Action.VIEW_INCIDENTS, incident_id)
        require(actor, Action.VIEW_EXECUTIONS, incident.company_id, kind="Incident")
        return await uow.executions.for_incident(incident.id, cursor, limit)


def _change_status(incident: Incident, target: IncidentStatus, now: datetime) -> Incident:
    transition_incident(incident.status, target)
    entry = TimelineEntry(
        at=now, kind="status", detail=f"{incident.status.value} -> {target.value}"
    )
    if target is IncidentStatus.RESOLVED:
        return attrs.evolve(
            incident,
            status=target,
            resolution=Resolution.MANUAL,
            resolved_at=now,
            timeline=(*incident.timeline, entry),
        )
    return attrs.evolve(incident, status=target, timeline=(*incident.timeline, entry))


async def _assignee(uow: UnitOfWork, incident: Incident, user_id: str) -> User:
    user = await uow.users.get(user_id)
    if (
        user is None
        or not user.active
        or authorize(user, Action.VIEW_INCIDENTS, incident.company_id) is not Access.ALLOW
    ):
        raise ValidationError.for_field("assigned_to", "is not an active user of this company")
    return user


async def update_incident(
    services: Services, actor: User, incident_id: str, changes: IncidentChanges
) -> IncidentView:
    """Change status and/or assignee; audited as ``incident_status_changed`` and
    ``incident_assigned``."""
    now = services.clock.now()
    view, notes, changed = await retry_conflicts(
        lambda: _update_once(services, actor, incident_id, changes, now)
    )
    if not changed:
        return view
    await services.events.publish(_event(view, now))
    for note in notes:
        await services.events.publish(notification_event(note))
    return view


async def _update_once(
    services: Services, actor: User, incident_id: str, changes: IncidentChanges, now: datetime
) -> tuple[IncidentView, tuple[Notification, ...], bool]:
    async with services.uow() as uow:
        incident = await _load(uow, actor, Action.UPDATE_INCIDENT, incident_id, for_update=True)
        if incident.merged_into is not None:
            raise Conflict(f"Incident was merged into {incident.merged_into}; change that one")
        updated = incident
        notes: tuple[Notification, ...] = ()
        if changes.status is not UNSET and changes.status is not incident.status:
            updated = _change_status(updated, changes.status, now)
            await audit(
                services,
                uow,
                actor,
                "incident_status_changed",
                now,
                incident.company_id,
                {
                    "incident_id": incident.id,
                    "from": incident.status.value,
                    "to": changes.status.value,
                },
            )
        if changes.assigned_to is not UNSET and changes.assigned_to != incident.assigned_to:
            if changes.assigned_to is None:
                updated = attrs.evolve(
                    updated,
                    assigned_to=None,
                    timeline=(
                        *updated.timeline,
                        TimelineEntry(at=now, kind="unassigned"),
                    ),
                )
            else:
                assignee = await _assignee(uow, incident, changes.assigned_to)
                updated = assign(updated, assignee.id, now)
                notes = assignment_notifications(
                    updated, assignee.id, assigned_by=actor.id, new_id=services.ids.new_id, now=now
                )
            await audit(
                services,
                uow,
                actor,
                "incident_assigned",
                now,
                incident.company_id,
                {
                    "incident_id": incident.id,
                    "assigned_to": changes.assigned_to,
                    "previous": incident.assigned_to,
                },
            )
        view = await _view(uow, updated, now)
        if updated == incident:
            return view, (), False
        await uow.incidents.update(updated)
        await uow.notifications.add_many(notes)
        await uow.commit()
    return view, notes, True


async def add_incident_note(
    services: Services, actor: User, incident_id: str, note: NewNote
) -> IncidentView:
    """Append a note (also to a resolved incident: post-mortems happen after the fact)."""
    now = services.clock.now()
    text = note.text.strip()
    if not text:
        raise ValidationError.for_field("text", "must not be blank")
    view = await retry_conflicts(lambda: _add_note_once(services, actor, incident_id, text, now))
    await services.events.publish(_event(view, now))
    return view


async def _add_note_once(
    services: Services, actor: User, incident_id: str, text: str, now: datetime
) -> IncidentView:
    async with services.uow() as uow:
        incident = await _load(uow, actor, Action.ADD_NOTE, incident_id, for_update=True)
        updated = add_note(
            incident, Note(author_id=actor.id, author_name=actor.name, text=text, created_at=now)
        )
        await uow.incidents.update(updated)
        await audit(
            services,
            uow,
            actor,
            "incident_note_added",
            now,
            incident.company_id,
            {"incident_id": incident.id},
        )
        view = await _view(uow, updated, now)
        await uow.commit()
    return view
