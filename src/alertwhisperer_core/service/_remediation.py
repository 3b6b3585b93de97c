"""Approval gates and execution requests (SPEC §7): who may run what, and when it needs a yes.

- :func:`execute_runbook` is ``POST /api/incidents/{id}/runbooks/{runbook_id}/execute``. It
  answers an :class:`Execution` (status ``Pending``; the caller runs it with
  :func:`run_execution`) when the runbook may run now, else an :class:`ApprovalRequest`:

  1. an *approved* request for this incident and runbook is used up: the execution runs
     under it (the approval moves to ``executing``); while that run is in progress, another
     call is a 409;
  2. a *pending*, unexpired request is answered again rather than duplicated;
  3. otherwise :func:`remediation_route` decides: low risk, company policy
     ``auto_approve_low_risk`` on, and neither the incident nor now inside a maintenance
     window → run; anything else → a new request by the actor.

- :func:`decide_approval` approves or rejects; a decided or expired request is a 409 and
  nothing changes (the core's :func:`decide` guards; expiry is checked at decision time, not
  only by the sweeper). :func:`expire_approvals` is the sweeper's body.

Every move of a request is a conditional write on the status it was read in
(:meth:`ApprovalRepository.transition`), so of two decisions racing on one request (two
processes, PostgreSQL's READ COMMITTED), or of two ``execute`` calls consuming one approved
request, exactly one wins; the loser's unit of work is rolled back (no audit entry, no
execution) and it answers 409.

Runbooks need not match the incident's signature to be run by hand: the suggestion is the
matching one, but a technician may choose another; the approval gate is the same either way.
"""

from __future__ import annotations

from datetime import datetime

from .._approvals import ApprovalEvent, decide, expire_due, remediation_route, request_approval
from .._execution import Execution, ExecutionStatus
from .._maintenance import in_maintenance
from .._models import ApprovalRequest, ApprovalStatus, Incident, IncidentStatus, Runbook, User
from .._notifications import approval_notifications
from .._rbac import Action
from ..errors import Conflict
from ..ports import Event, Page, UnitOfWork
from ._access import audit, narrow_companies, not_found, require
from ._ingest import notification_event
from ._queries import DEFAULT_LIMIT, check_limit
from ._retry import retry_conflicts
from ._services import RemediationRequest, Services

__all__ = [
    "SYSTEM_ACTOR",
    "create_auto_execution",
    "decide_approval",
    "execute_runbook",
    "expire_approvals",
    "get_execution",
    "list_approvals",
]

SYSTEM_ACTOR = "system"
"""``requested_by`` of what the ingest pipeline starts on its own."""


async def _incident_and_runbook(
    uow: UnitOfWork, actor: User, incident_id: str, runbook_id: str
) -> tuple[Incident, Runbook]:
    incident = await uow.incidents.get(incident_id)
    if incident is None or incident.status is IncidentStatus.PENDING:
        raise not_found("Incident")
    require(actor, Action.EXECUTE_RUNBOOK, incident.company_id, kind="Incident")
    runbook = await uow.runbooks.get(runbook_id)
    if runbook is None or runbook.company_id not in (None, incident.company_id):
        raise not_found("Runbook")
    if incident.merged_into is not None:
        raise Conflict(f"Incident was merged into {incident.merged_into}; run it there")
    if not incident.is_open:
        raise Conflict("Incident is resolved; nothing to remediate")
    return incident, runbook


def new_execution(
    services: Services,
    incident: Incident,
    runbook: Runbook,
    requested_by: str,
    now: datetime,
    approval_id: str | None = None,
) -> Execution:
    """A pending execution of ``runbook`` for ``incident``."""
    return Execution(
        id=services.ids.new_id(),
        company_id=incident.company_id,
        incident_id=incident.id,
        runbook_id=runbook.id,
        status=ExecutionStatus.PENDING,
        created_at=now,
        requested_by=requested_by,
        approval_id=approval_id,
    )


def execution_event(kind: str, execution: Execution, now: datetime) -> Event:
    """An ``execution.*`` event for the execution's company."""
    return Event(
        kind,
        execution.company_id,
        {
            "id": execution.id,
            "incident_id": execution.incident_id,
            "runbook_id": execution.runbook_id,
            "status": execution.status.value,
            "command_id": execution.command_id,
        },
        now,
    )


def _approval_event(kind: str, request: ApprovalRequest, now: datetime) -> Event:
    return Event(
        kind,
        request.company_id,
        {
            "id": request.id,
            "incident_id": request.incident_id,
            "runbook_id": request.runbook_id,
            "risk": request.risk.value,
            "status": request.status.value,
        },
        now,
    )


async def execute_runbook(
    services: Services, actor: User, incident_id: str, runbook_id: str
) -> Execution | ApprovalRequest:
    """Run ``runbook_id`` for ``incident_id`` now, or ask for approval (module docstring).

    404 for an incident or runbook the actor may not see, 403 for a role without
    ``execute_runbook``, 409 for a resolved or merged incident, and for an approved request
    another call started a run under first.
    """
    now = services.clock.now()
    return await retry_conflicts(
        lambda: _execute_once(services, actor, incident_id, runbook_id, now)
    )


async def _execute_once(
    services: Services, actor: User, incident_id: str, runbook_id: str, now: datetime
) -> Execution | ApprovalRequest:
    async with services.uow() as uow:
        incident, runbook = await _incident_and_runbook(uow, actor, incident_id, runbook_id)
        company = await uow.companies.get(incident.company_id)
        if company is None:  # pragma: no cover - an incident outlives no company
            raise not_found("Incident")
        requests = [
            a
            for a in await uow.approvals.list(frozenset({incident.company_id}))
            if a.incident_id == incident.id and a.runbook_id == runbook.id
        ]
        approved = next((a for a in requests if a.status is ApprovalStatus.APPROVED), None)
        if approved is not None:
            started = decide(approved, ApprovalEvent.START, actor=None, now=now)
            if not await uow.approvals.transition(started, ApprovalStatus.APPROVED):
                # Another call (maybe another process) started a run under it since the read.
                raise Conflict("Approval request is already being executed")
            execution = new_execution(services, incident, runbook, actor.id, now, approved.id)
            await uow.executions.add(execution)
            await uow.commit()
            await services.events.publish(_approval_event("approval.executing", started, now))
            await services.events.publish(execution_event("execution.created", execution, now))
            return execution
        running = next((a for a in requests if a.status is ApprovalStatus.EXECUTING), None)
        if running is not None:
            # The same call made twice (or by two processes): the approved run is under way,
            # and a second request for it would only be a duplicate.
            raise Conflict(f"A run under approval request {running.id} is in progress")
        waiting = next(
            (a for a in requests if a.status is ApprovalStatus.PENDING and now < a.expires_at),
            None,
        )
        if waiting is not None:
            return waiting
        policy = company.settings.policy
        maintenance = incident.in_maintenance or in_maintenance(policy, now)
        if remediation_route(runbook.risk, policy, in_maintenance=maintenance) == "auto":
            execution = new_execution(services, incident, runbook, actor.id, now)
            await uow.executions.add(execution)
            await uow.commit()
            await services.events.publish(execution_event("execution.created", execution, now))
            return execution
        request = request_approval(
            id=services.ids.new_id(),
            company_id=incident.company_id,
            incident_id=incident.id,
            runbook_id=runbook.id,
            risk=runbook.risk,
            requested_by=actor.id,
            now=now,
        )
        await uow.approvals.add(request)
        await audit(
            services,
            uow,
            actor,
            "approval_requested",
            now,
            incident.company_id,
            {
                "approval_id": request.id,
                "incident_id": incident.id,
                "runbook_id": runbook.id,
                "runbook": runbook.name,
                "risk": runbook.risk.value,
            },
        )
        notes = approval_notifications(
            await uow.users.list(None), request, runbook.name, new_id=services.ids.new_id, now=now
        )
        await uow.notifications.add_many(notes)
        await uow.commit()
    await services.events.publish(_approval_event("approval.requested", request, now))
    for note in notes:
        await services.events.publish(notification_event(note))
    return request


async def create_auto_execution(
    services: Services, request: RemediationRequest
) -> Execution | None:
    """The pending execution of a low-risk runbook the ingest pipeline cleared to run.

    None when the incident closed or merged in the meantime (a recovery in the next delivery):
    there is nothing left to heal.
    """
    now = services.clock.now()
    async with services.uow() as uow:
        incident = await uow.incidents.get(request.incident.id)
        if incident is None or not incident.is_open:
            return None
        execution = new_execution(services, incident, request.runbook, SYSTEM_ACTOR, now)
        await uow.executions.add(execution)
        await uow.commit()
    await services.events.publish(execution_event("execution.created", execution, now))
    return execution


async def get_execution(services: Services, actor: User, execution_id: str) -> Execution:
    """One execution (404 for another tenant's)."""
    async with services.uow() as uow:
        execution = await uow.executions.get(execution_id)
    if execution is None:
        raise not_found("Execution")
    require(actor, Action.VIEW_EXECUTIONS, execution.company_id, kind="Execution")
    return execution


async def list_approvals(
    services: Services,
    actor: User,
    company_id: str | None = None,
    status: ApprovalStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[ApprovalRequest]:
    """The approval requests ``actor`` may see, newest first, one page at a time."""
    check_limit(limit)
    companies = narrow_companies(actor, Action.VIEW_APPROVALS, company_id)
    async with services.uow() as uow:
        return await uow.approvals.page(companies, status, cursor, limit)


async def decide_approval(
    services: Services, actor: User, approval_id: str, approve: bool, notes: str = ""
) -> ApprovalRequest:
    """Approve or reject a pending request, with notes for the audit trail.

    404 outside the actor's companies; 403 for a role that never decides, for a company admin
    on a high-risk request, and for the requester; 409 for a request already decided or
    expired (nothing is written); 422 for over-long notes.
    """
    now = services.clock.now()
    decided = await retry_conflicts(
        lambda: _decide_once(services, actor, approval_id, approve, notes, now)
    )
    kind = "approval.granted" if approve else "approval.rejected"
    await services.events.publish(_approval_event(kind, decided, now))
    return decided


async def _decide_once(
    services: Services, actor: User, approval_id: str, approve: bool, notes: str, now: datetime
) -> ApprovalRequest:
    async with services.uow() as uow:
        request = await uow.approvals.get(approval_id)
        if request is None:
            raise not_found("Approval request")
        require(actor, Action.VIEW_APPROVALS, request.company_id, kind="Approval request")
        require(actor, Action.DECIDE_APPROVAL, request.company_id, kind="Approval request")
        event = ApprovalEvent.APPROVE if approve else ApprovalEvent.REJECT
        decided = decide(request, event, actor=actor, now=now, notes=notes.strip())
        if not await uow.approvals.transition(decided, request.status):
            # Decided (or expired) by another unit of work, maybe another process, since the
            # read above: the first decision stands and this one writes nothing.
            raise Conflict("Approval request was decided by someone else in the meantime")
        await audit(
            services,
            uow,
            actor,
            "approval_granted" if approve else "approval_denied",
            now,
            request.company_id,
            {
                "approval_id": request.id,
                "incident_id": request.incident_id,
                "runbook_id": request.runbook_id,
                "risk": request.risk.value,
                "requested_by": request.requested_by,
                "notes": decided.notes,
            },
        )
        await uow.commit()
    return decided


async def expire_approvals(services: Services) -> list[ApprovalRequest]:
    """Expire every pending request past its ``expires_at`` (the sweeper); returns them."""
    now = services.clock.now()
    expired: list[ApprovalRequest] = []
    async with services.uow() as uow:
        for request in await uow.approvals.pending_due(now):
            done = expire_due(request, now)
            if done is None:  # pragma: no cover - pending_due returns due requests only
                continue
            if not await uow.approvals.transition(done, ApprovalStatus.PENDING):
                continue  # decided (or expired by another process) since the read
            await audit(
                services,
                uow,
                None,
                "approval_expired",
                now,
                request.company_id,
                {"approval_id": request.id, "incident_id": request.incident_id},
            )
            expired.append(done)
        await uow.commit()
    for done in expired:
        await services.events.publish(_approval_event("approval.expired", done, now))
    return expired
