"""Running an execution: actions, health check, outcome (SPEC §7), and recovery at startup.

:func:`run_execution` never holds a unit of work while the executor runs (minutes, for SSM):

1. One unit of work claims the execution (``Pending`` → ``InProgress``) with the store's
   conditional write (:meth:`ExecutionRepository.claim`); a second claim of the same
   execution, from this process or another, is a 409, so it never runs twice.
2. Outside any transaction: the executor runs the actions; if they succeed, the health check
   runs (``http`` through the :class:`HttpProbe`, ``command`` through the executor).
3. One unit of work records the outcome. Healed (actions ``Success`` and the check passed, or
   there is no check) → the incident resolves as ``self_healed``. Otherwise it stays open and,
   if nobody has it, goes to the least loaded technician (:func:`pick_technician`). The
   approval it ran under, if any, becomes ``succeeded`` or ``failed``. ``runbook_executed`` is
   audited with the result either way. The incident is read under its key's lock
   (:func:`locked_incident`), so the outcome never overwrites a concurrent change to it.

A dry run (``dry_run=True``) changes nothing anywhere, so it never counts as a heal: the
health check is skipped and the incident is handled as if the run had failed.

An execution still ``Pending`` or ``InProgress`` when the server starts was cut off by a
restart: :func:`recover_executions` fails it ("interrupted by restart") the same way, so it is
never forgotten. Call it once per deployment start, before any worker runs executions.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._approvals import ApprovalEvent, decide
from .._execution import CommandResult, Execution, ExecutionStatus, truncate_output
from .._incidents import assign
from .._lifecycle import IncidentEvent, apply_incident_event
from .._models import (
    ApprovalStatus,
    Asset,
    AuditEntry,
    HealthCheck,
    Incident,
    Resolution,
    Role,
    Runbook,
    TimelineEntry,
)
from .._notifications import failed_execution_notifications
from .._routing import pick_technician
from ..errors import Conflict
from ..ports import Event, HttpProbe, RunbookExecutor, UnitOfWork
from ._access import audit, locked_incident, not_found
from ._ingest import notification_event
from ._remediation import SYSTEM_ACTOR, execution_event
from ._retry import retry_conflicts
from ._services import Services

__all__ = ["HEALTH_CHECK_TIMEOUT", "INTERRUPTED", "recover_executions", "run_execution"]

HEALTH_CHECK_TIMEOUT = 30
"""Seconds a health check may take at most (less when the runbook's timeout is shorter)."""

INTERRUPTED = "interrupted by restart"


@attrs.frozen
class _Outcome:
    result: CommandResult
    health_check_passed: bool | None
    healed: bool
    label: str  # the audit's "result": success, failed, dry_run, interrupted


async def run_execution(
    services: Services,
    executor: RunbookExecutor,
    execution_id: str,
    *,
    probe: HttpProbe | None = None,
    dry_run: bool = False,
) -> Execution:
    """Run a pending execution to its end and apply the outcome (module docstring).

    Raises :class:`NotFound` for an unknown id and :class:`Conflict` for an execution that
    is not pending. Executor errors never escape: they fail the execution with the error as
    its output, so nothing stays in flight.
    """
    now = services.clock.now()
    execution, runbook, asset = await retry_conflicts(
        lambda: _claim(services, executor.name, execution_id, now)
    )
    await services.events.publish(execution_event("execution.started", execution, now))
    instance_id = asset.instance_id if asset is not None else None
    if runbook is None:
        outcome = _failed(services, "the runbook was deleted before it ran")
    else:
        outcome = await _perform(services, executor, probe, runbook, instance_id, dry_run)
    return await _finish(services, execution.id, outcome)


async def _claim(
    services: Services, executor_name: str, execution_id: str, now: datetime
) -> tuple[Execution, Runbook | None, Asset | None]:
    async with services.uow() as uow:
        execution = await uow.executions.get(execution_id)
        if execution is None:
            raise not_found("Execution")
        if execution.status is not ExecutionStatus.PENDING:
            raise Conflict(f"Execution is already {execution.status.value}")
        runbook = await uow.runbooks.get(execution.runbook_id)
        incident = await uow.incidents.get(execution.incident_id)
        asset = (
            await uow.assets.by_name(incident.company_id, incident.asset_name)
            if incident is not None
            else None
        )
        claimed = await uow.executions.claim(execution_id, now, executor_name)
        if claimed is None:
            # Another unit of work (maybe another process) claimed it since the read above.
            raise Conflict("Execution is already claimed")
        await uow.commit()
    return claimed, runbook, asset


def _failed(services: Services, message: str, label: str = "failed") -> _Outcome:
    now = services.clock.now()
    result = CommandResult(
        status=ExecutionStatus.FAILED,
        command_id="",
        output=message,
        started_at=now,
        finished_at=now,
    )
    return _Outcome(result, None, healed=False, label=label)


async def _perform(
    services: Services,
    executor: RunbookExecutor,
    probe: HttpProbe | None,
    runbook: Runbook,
    instance_id: str | None,
    dry_run: bool,
) -> _Outcome:
    try:
        result = await executor.run(
            instance_id=instance_id,
            commands=runbook.actions,
            timeout_seconds=runbook.timeout_seconds,
        )
    except Exception as error:
        # Whatever broke, the execution must end; the message is what the operator needs.
        return _failed(services, f"executor error: {type(error).__name__}: {error}")
    if result.status is not ExecutionStatus.SUCCESS:
        return _Outcome(result, None, healed=False, label="failed")
    if dry_run:
        return _Outcome(result, None, healed=False, label="dry_run")
    check = runbook.health_check
    if check is None:
        return _Outcome(result, None, healed=True, label="success")
    timeout = min(HEALTH_CHECK_TIMEOUT, runbook.timeout_seconds)
    passed, report = await _health_check(executor, probe, check, instance_id, timeout)
    output = truncate_output(f"{result.output}\n--- health check ---\n{report}")
    return _Outcome(
        attrs.evolve(result, output=output),
        passed,
        healed=passed,
        label="success" if passed else "failed",
    )


async def _health_check(
    executor: RunbookExecutor,
    probe: HttpProbe | None,
    check: HealthCheck,
    instance_id: str | None,
    timeout: int,
) -> tuple[bool, str]:
    if check.kind == "http":
        url = check.url or ""
        if probe is None:
            return False, f"GET {url}: no HTTP probe is configured"
        try:
            status = await probe.status(url, instance_id=instance_id, timeout_seconds=timeout)
        except Exception as error:
            return False, f"GET {url}: probe error: {type(error).__name__}: {error}"
        passed = status == check.expected_status
        seen = "no answer" if status is None else str(status)
        verdict = "passed" if passed else "failed"
        return passed, f"GET {url} -> {seen} (expected {check.expected_status}): {verdict}"
    command = check.command or ""
    try:
        result = await executor.run(
            instance_id=instance_id, commands=(command,), timeout_seconds=timeout
        )
    except Exception as error:
        return False, f"$ {command}: executor error: {type(error).__name__}: {error}"
    passed = result.status is ExecutionStatus.SUCCESS
    verdict = "passed" if passed else "failed"
    return passed, f"$ {command} -> {result.status.value}: {verdict}\n{result.output}".rstrip()


async def _finish(services: Services, execution_id: str, outcome: _Outcome) -> Execution:
    now = services.clock.now()
    finished, events = await retry_conflicts(
        lambda: _finish_once(services, execution_id, outcome, now)
    )
    for event in events:
        await services.events.publish(event)
    return finished


async def _finish_once(
    services: Services, execution_id: str, outcome: _Outcome, now: datetime
) -> tuple[Execution, list[Event]]:
    events: list[Event] = []
    async with services.uow() as uow:
        execution = await uow.executions.get(execution_id)
        if execution is None:  # pragma: no cover - executions are never deleted
            raise not_found("Execution")
        finished = await _record(services, uow, execution, outcome, now, events)
        await uow.commit()
    return finished, events


async def _record(
    services: Services,
    uow: UnitOfWork,
    execution: Execution,
    outcome: _Outcome,
    now: datetime,
    events: list[Event],
) -> Execution:
    """Write an execution's outcome and everything it implies, in the caller's unit of work."""
    result = outcome.result
    finished = attrs.evolve(
        execution,
        status=result.status,
        command_id=result.command_id or execution.command_id,
        output=result.output,
        started_at=result.started_at or execution.started_at,
        finished_at=result.finished_at or now,
        health_check_passed=outcome.health_check_passed,
    )
    await uow.executions.update(finished)
    events.append(execution_event("execution.finished", finished, now))
    if execution.approval_id is not None:
        request = await uow.approvals.get(execution.approval_id)
        if request is not None and request.status is ApprovalStatus.EXECUTING:
            event = ApprovalEvent.SUCCEED if outcome.healed else ApprovalEvent.FAIL
            done = decide(request, event, actor=None, now=now)
            await uow.approvals.transition(done, ApprovalStatus.EXECUTING)
            events.append(
                Event(
                    f"approval.{done.status.value}",
                    done.company_id,
                    {"id": done.id, "status": done.status.value},
                    now,
                )
            )
    runbook = await uow.runbooks.get(execution.runbook_id)
    incident = await locked_incident(uow, execution.incident_id)
    if incident is not None and incident.is_open:
        incident = await _settle_incident(services, uow, incident, outcome.healed, now, events)
        if not outcome.healed and outcome.label != "dry_run":
            # A failed run (or one a restart cut off) needs a person: notify (SPEC §10).
            notes = failed_execution_notifications(
                await uow.users.list(None),
                incident,
                execution.id,
                runbook.name if runbook is not None else execution.runbook_id,
                new_id=services.ids.new_id,
                now=now,
            )
            await uow.notifications.add_many(notes)
            events += [notification_event(n) for n in notes]
    requester = await uow.users.get(execution.requested_by)
    system = execution.requested_by == SYSTEM_ACTOR
    await uow.audit.append(
        AuditEntry(
            id=services.ids.new_id(),
            timestamp=now,
            user_id=None if system else execution.requested_by,
            # A user deleted since still has their id on record.
            user_name=requester.name if requester else execution.requested_by,
            action="runbook_executed",
            company_id=execution.company_id,
            details={
                "runbook": runbook.name if runbook is not None else None,
                "runbook_id": execution.runbook_id,
                "incident_id": execution.incident_id,
                "execution_id": execution.id,
                "approval_id": execution.approval_id,
                "executor": finished.executor,
                "command_id": finished.command_id,
                "status": finished.status.value,
                "duration_seconds": result.duration_seconds,
                "health_check_passed": outcome.health_check_passed,
                "result": outcome.label,
            },
        )
    )
    return finished


async def _settle_incident(
    services: Services,
    uow: UnitOfWork,
    incident: Incident,
    healed: bool,
    now: datetime,
    events: list[Event],
) -> Incident:
    """Resolve a healed incident, or give an unhealed one without an assignee to a
    technician; returns the incident as it now is."""
    if healed:
        updated = attrs.evolve(
            incident,
            status=apply_incident_event(incident.status, IncidentEvent.RESOLVE),
            resolution=Resolution.SELF_HEALED,
            resolved_at=now,
            timeline=(
                *incident.timeline,
                TimelineEntry(at=now, kind="resolved", detail=Resolution.SELF_HEALED.value),
            ),
        )
    elif incident.assigned_to is None:
        chosen = await _least_loaded_technician(uow, incident.company_id)
        if chosen is None:
            return incident
        updated = assign(incident, chosen, now)
        await audit(
            services,
            uow,
            None,
            "incident_assigned",
            now,
            incident.company_id,
            {
                "incident_id": incident.id,
                "assigned_to": chosen,
                "reason": "runbook did not heal the incident",
            },
        )
    else:
        return incident
    await uow.incidents.update(updated)
    events.append(
        Event(
            "incident.updated",
            incident.company_id,
            {
                "id": updated.id,
                "status": updated.status.value,
                "resolution": updated.resolution.value if updated.resolution else None,
                "assigned_to": updated.assigned_to,
            },
            now,
        )
    )
    return updated


async def _least_loaded_technician(uow: UnitOfWork, company_id: str) -> str | None:
    technicians = [
        u
        for u in await uow.users.list(frozenset({company_id}))
        if u.role is Role.TECHNICIAN and u.active
    ]
    if not technicians:
        return None
    counts = await uow.incidents.open_counts([u.id for u in technicians])
    return pick_technician(technicians, counts, await uow.incidents.last_assignee(company_id))


async def recover_executions(services: Services) -> list[Execution]:
    """Fail every execution a restart cut off (module docstring); returns them."""
    now = services.clock.now()
    recovered, events = await retry_conflicts(lambda: _recover_once(services, now))
    for event in events:
        await services.events.publish(event)
    return recovered


async def _recover_once(services: Services, now: datetime) -> tuple[list[Execution], list[Event]]:
    events: list[Event] = []
    recovered: list[Execution] = []
    async with services.uow() as uow:
        in_flight = await uow.executions.in_flight()
        # Lock every incident's key up front in one global order (as ingest does), so this
        # never deadlocks with a delivery or another update holding some of them.
        keys: set[tuple[str, str]] = set()
        for execution in in_flight:
            incident = await uow.incidents.get(execution.incident_id)
            if incident is not None:
                keys.add((incident.company_id, incident.key))
        for company_id, key in sorted(keys):
            await uow.incidents.lock_key(company_id, key)
        for execution in in_flight:
            result = CommandResult(
                status=ExecutionStatus.FAILED,
                command_id=execution.command_id or "",
                output=f"{execution.output}\n{INTERRUPTED}".lstrip("\n"),
                started_at=execution.started_at,
                finished_at=now,
            )
            outcome = _Outcome(result, None, healed=False, label="interrupted")
            recovered.append(await _record(services, uow, execution, outcome, now, events))
        await uow.commit()
    return recovered, events
