"""Running executions: actions, health checks, self-healing, assignment, recovery at startup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest

from alertwhisperer_core import (
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    CommandResult,
    Execution,
    ExecutionStatus,
    HealthCheck,
    IncidentStatus,
    Resolution,
    Risk,
    Role,
    Runbook,
    User,
)
from alertwhisperer_core.errors import Conflict, NotFound
from alertwhisperer_core.service import (
    decide_approval,
    execute_runbook,
    recover_executions,
    run_execution,
)

from .support.world import World, generic, make_world


class ScriptedExecutor:
    """Answers each run with the next scripted status, and records what it was asked."""

    name = "scripted"

    def __init__(self, *statuses: ExecutionStatus, error: Exception | None = None) -> None:
        self.statuses = list(statuses)
        self.error = error
        self.calls: list[tuple[str | None, tuple[str, ...], int]] = []

    async def run(
        self, *, instance_id: str | None, commands: Sequence[str], timeout_seconds: int
    ) -> CommandResult:
        self.calls.append((instance_id, tuple(commands), timeout_seconds))
        if self.error is not None:
            raise self.error
        status = self.statuses.pop(0)
        return CommandResult(status=status, command_id=f"cmd-{len(self.calls)}",
                             output=f"ran {commands[0]}")  # fmt: skip


class FakeProbe:
    def __init__(self, status: int | None) -> None:
        self.answer = status
        self.asked: list[tuple[str, str | None, float]] = []

    async def status(
        self, url: str, *, instance_id: str | None, timeout_seconds: float
    ) -> int | None:
        self.asked.append((url, instance_id, timeout_seconds))
        return self.answer


OK = ExecutionStatus.SUCCESS
FAILED = ExecutionStatus.FAILED


async def _world(
    health: HealthCheck | None = None, risk: Risk = Risk.LOW
) -> tuple[World, dict[str, User], Execution | ApprovalRequest]:
    world = make_world()
    await world.add_company("acme")
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "tech": await world.add_user("tech", Role.TECHNICIAN, "acme"),
    }
    async with world.store() as uow:
        await uow.assets.add(Asset(id="a1", company_id="acme", name="db-01", instance_id="i-0abc"))
        await uow.runbooks.add(
            Runbook(id="rb", name="Clean old logs", signature="disk_full", risk=risk,
                    actions=("rm -f /var/log/*.gz",), health_check=health, timeout_seconds=120)
        )  # fmt: skip
        await uow.commit()
    outcome = await world.post(generic("db-01", "db_up_but_slow"))
    incident_id = str(outcome.body["incident_ids"][0])
    # The technician got the new incident; unassign it to see the failure path assign it.
    incident = world.store.incidents[incident_id]
    async with world.store() as uow:
        await uow.incidents.update(attrs.evolve(incident, assigned_to=None))
        await uow.commit()
    result = await execute_runbook(world.services, users["msp"], incident_id, "rb")
    return world, users, result


def _incident(world: World, execution: Execution) -> object:
    return world.store.incidents[execution.incident_id]


def _runbook_executed(world: World) -> dict[str, object]:
    return [e for e in world.store.audit if e.action == "runbook_executed"][-1].details


async def test_success_with_a_passing_http_check_self_heals_the_incident() -> None:
    world, _, execution = await _world(HealthCheck(kind="http", url="http://db-01/healthz"))
    executor, probe = ScriptedExecutor(OK), FakeProbe(200)
    world.clock.advance(timedelta(seconds=45))
    done = await run_execution(world.services, executor, execution.id, probe=probe)
    assert done.status is ExecutionStatus.SUCCESS
    assert done.health_check_passed is True
    assert done.command_id == "cmd-1"
    assert done.executor == "scripted"
    assert "GET http://db-01/healthz -> 200 (expected 200): passed" in done.output
    assert executor.calls == [("i-0abc", ("rm -f /var/log/*.gz",), 120)]
    assert probe.asked == [("http://db-01/healthz", "i-0abc", 30)]
    incident = world.store.incidents[done.incident_id]
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.resolution is Resolution.SELF_HEALED
    details = _runbook_executed(world)
    assert details["result"] == "success"
    assert details["runbook"] == "Clean old logs"
    assert details["command_id"] == "cmd-1"


async def test_a_failing_http_check_leaves_the_incident_open_and_assigns_it() -> None:
    world, _, execution = await _world(HealthCheck(kind="http", url="http://db-01/healthz"))
    done = await run_execution(world.services, ScriptedExecutor(OK), execution.id,
                               probe=FakeProbe(503))  # fmt: skip
    assert done.status is ExecutionStatus.SUCCESS
    assert done.health_check_passed is False
    incident = world.store.incidents[done.incident_id]
    assert incident.status is IncidentStatus.NEW
    assert incident.assigned_to == "tech"
    assert _runbook_executed(world)["result"] == "failed"
    assigned = [e for e in world.store.audit if e.action == "incident_assigned"][-1]
    assert assigned.details["reason"] == "runbook did not heal the incident"


async def test_an_unanswered_http_check_fails() -> None:
    world, _, execution = await _world(HealthCheck(kind="http", url="http://db-01/"))
    done = await run_execution(world.services, ScriptedExecutor(OK), execution.id,
                               probe=FakeProbe(None))  # fmt: skip
    assert done.health_check_passed is False
    assert "no answer" in done.output


async def test_an_http_check_without_a_probe_fails() -> None:
    world, _, execution = await _world(HealthCheck(kind="http", url="http://db-01/"))
    done = await run_execution(world.services, ScriptedExecutor(OK), execution.id)
    assert done.health_check_passed is False
    assert "no HTTP probe" in done.output


async def test_a_command_check_runs_through_the_executor() -> None:
    world, _, execution = await _world(HealthCheck(kind="command", command="pg_isready"))
    executor = ScriptedExecutor(OK, OK)
    done = await run_execution(world.services, executor, execution.id)
    assert executor.calls[1] == ("i-0abc", ("pg_isready",), 30)
    assert done.health_check_passed is True
    assert world.store.incidents[done.incident_id].resolution is Resolution.SELF_HEALED


async def test_a_failing_command_check_does_not_heal() -> None:
    world, _, execution = await _world(HealthCheck(kind="command", command="pg_isready"))
    done = await run_execution(world.services, ScriptedExecutor(OK, FAILED), execution.id)
    assert done.health_check_passed is False
    assert world.store.incidents[done.incident_id].is_open


async def test_failed_actions_skip_the_health_check() -> None:
    world, _, execution = await _world(HealthCheck(kind="command", command="pg_isready"))
    executor = ScriptedExecutor(FAILED)
    done = await run_execution(world.services, executor, execution.id)
    assert done.status is ExecutionStatus.FAILED
    assert done.health_check_passed is None
    assert len(executor.calls) == 1
    assert world.store.incidents[done.incident_id].assigned_to == "tech"


async def test_no_health_check_means_the_actions_success_heals() -> None:
    world, _, execution = await _world()
    done = await run_execution(world.services, ScriptedExecutor(OK), execution.id)
    assert world.store.incidents[done.incident_id].resolution is Resolution.SELF_HEALED


async def test_a_dry_run_never_heals() -> None:
    world, _, execution = await _world(HealthCheck(kind="command", command="true"))
    executor = ScriptedExecutor(OK)
    done = await run_execution(world.services, executor, execution.id, dry_run=True)
    assert done.status is ExecutionStatus.SUCCESS
    assert len(executor.calls) == 1
    assert world.store.incidents[done.incident_id].is_open
    assert _runbook_executed(world)["result"] == "dry_run"


async def test_an_executor_error_fails_the_execution() -> None:
    world, _, execution = await _world()
    done = await run_execution(world.services, ScriptedExecutor(error=OSError("boom")),
                               execution.id)  # fmt: skip
    assert done.status is ExecutionStatus.FAILED
    assert "OSError: boom" in done.output
    assert world.store.executions[done.id].status is ExecutionStatus.FAILED


async def test_an_execution_runs_once() -> None:
    world, _, execution = await _world()
    await run_execution(world.services, ScriptedExecutor(OK), execution.id)
    with pytest.raises(Conflict):
        await run_execution(world.services, ScriptedExecutor(OK), execution.id)
    with pytest.raises(NotFound):
        await run_execution(world.services, ScriptedExecutor(OK), "nope")


async def test_a_deleted_runbook_fails_the_execution() -> None:
    world, _, execution = await _world()
    async with world.store() as uow:
        await uow.runbooks.delete("rb")
        await uow.commit()
    done = await run_execution(world.services, ScriptedExecutor(), execution.id)
    assert done.status is ExecutionStatus.FAILED
    assert "deleted" in done.output


async def test_an_incident_resolved_meanwhile_is_left_as_it_is() -> None:
    world, _, execution = await _world()
    await world.post(generic("db-01", "db_up_but_slow", status="resolved"))
    done = await run_execution(world.services, ScriptedExecutor(OK), execution.id)
    incident = world.store.incidents[done.incident_id]
    assert incident.resolution is Resolution.SOURCE_RECOVERED


async def test_an_approved_run_moves_its_approval_to_succeeded_or_failed() -> None:
    for status, expected in ((OK, ApprovalStatus.SUCCEEDED), (FAILED, ApprovalStatus.FAILED)):
        world, users, request = await _world(risk=Risk.MEDIUM)
        assert isinstance(request, ApprovalRequest)
        admin = await world.add_user("admin", Role.COMPANY_ADMIN, "acme")
        await decide_approval(world.services, admin, request.id, approve=True)
        execution = await execute_runbook(world.services, users["tech"], request.incident_id, "rb")
        await run_execution(world.services, ScriptedExecutor(status), execution.id)
        assert world.store.approvals[request.id].status is expected
        assert _runbook_executed(world)["approval_id"] == request.id


async def test_runbook_executed_names_the_requester() -> None:
    world, _, execution = await _world()
    await run_execution(world.services, ScriptedExecutor(OK), execution.id)
    entry = [e for e in world.store.audit if e.action == "runbook_executed"][-1]
    assert (entry.user_id, entry.user_name) == ("msp", "msp")


async def test_recovery_fails_executions_cut_off_by_a_restart() -> None:
    world, users, execution = await _world(risk=Risk.MEDIUM)
    assert isinstance(execution, ApprovalRequest)
    admin = await world.add_user("admin", Role.COMPANY_ADMIN, "acme")
    await decide_approval(world.services, admin, execution.id, approve=True)
    pending = await execute_runbook(world.services, users["tech"], execution.incident_id, "rb")
    recovered = await recover_executions(world.services)
    assert [e.id for e in recovered] == [pending.id]
    stored = world.store.executions[pending.id]
    assert stored.status is ExecutionStatus.FAILED
    assert stored.output == "interrupted by restart"
    assert world.store.approvals[execution.id].status is ApprovalStatus.FAILED
    assert _runbook_executed(world)["result"] == "interrupted"
    assert await recover_executions(world.services) == []
