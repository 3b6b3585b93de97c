"""Execution requests, approval decisions and the expiry sweeper, over the in-memory store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alertwhisperer_core import (
    ApprovalRequest,
    ApprovalStatus,
    Execution,
    ExecutionStatus,
    HealthCheck,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    Policy,
    Risk,
    Role,
    Runbook,
    User,
    ValidationError,
)
from alertwhisperer_core.errors import Conflict
from alertwhisperer_core.service import (
    RemediationRequest,
    create_auto_execution,
    decide_approval,
    execute_runbook,
    expire_approvals,
    get_execution,
    list_approvals,
)

from .support.world import World, generic, make_world

ACTIONS = ("systemctl restart postgresql",)


async def _world(policy: Policy | None = None) -> tuple[World, dict[str, User], str]:
    world = make_world()
    await world.add_company("acme", policy=policy)
    await world.add_company("globex")
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "msp2": await world.add_user("msp2", Role.MSP_ADMIN),
        "admin": await world.add_user("admin", Role.COMPANY_ADMIN, "acme"),
        "tech": await world.add_user("tech", Role.TECHNICIAN, "acme"),
        "other": await world.add_user("other", Role.COMPANY_ADMIN, "globex"),
    }
    outcome = await world.post(generic("db-01", "db_down"))
    return world, users, str(outcome.body["incident_ids"][0])


async def _runbook(world: World, risk: Risk, company_id: str | None = None, **kw: object) -> str:
    runbook = Runbook(
        id=f"rb-{risk.value}-{company_id}",
        name=f"Restart ({risk.value})",
        signature="something_else",
        risk=risk,
        actions=ACTIONS,
        company_id=company_id,
        **kw,  # type: ignore[arg-type]
    )
    async with world.store() as uow:
        await uow.runbooks.add(runbook)
        await uow.commit()
    return runbook.id


def _audit(world: World, action: str) -> list[dict[str, object]]:
    return [e.details for e in world.store.audit if e.action == action]


async def test_low_risk_with_auto_approve_answers_a_pending_execution() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.LOW)
    result = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert isinstance(result, Execution)
    assert result.status is ExecutionStatus.PENDING
    assert result.requested_by == "tech"
    assert world.store.executions[result.id] == result
    assert [e.type for e in world.events.published][-1] == "execution.created"


async def test_low_risk_without_auto_approve_asks_for_approval() -> None:
    world, users, incident_id = await _world(Policy(auto_approve_low_risk=False))
    runbook_id = await _runbook(world, Risk.LOW)
    result = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert isinstance(result, ApprovalRequest)
    assert result.status is ApprovalStatus.PENDING
    assert result.requested_by == "tech"


async def test_low_risk_inside_a_maintenance_window_asks_for_approval() -> None:
    always = Policy(maintenance_windows=("Thu 00:00-23:59",))
    world, users, incident_id = await _world(always)
    runbook_id = await _runbook(world, Risk.LOW)
    result = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert isinstance(result, ApprovalRequest)


@pytest.mark.parametrize("risk", [Risk.MEDIUM, Risk.HIGH])
async def test_medium_and_high_risk_ask_for_approval_and_audit_it(risk: Risk) -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, risk)
    result = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert isinstance(result, ApprovalRequest)
    assert result.risk is risk
    assert _audit(world, "approval_requested")[-1]["approval_id"] == result.id
    assert not world.store.executions


async def test_asking_again_while_pending_answers_the_same_request() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.MEDIUM)
    first = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    again = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert again == first
    assert len(world.store.approvals) == 1


async def test_an_approved_request_is_used_by_the_next_execute() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.MEDIUM)
    request = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert isinstance(request, ApprovalRequest)
    await decide_approval(world.services, users["admin"], request.id, approve=True)
    execution = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert isinstance(execution, Execution)
    assert execution.approval_id == request.id
    assert world.store.approvals[request.id].status is ApprovalStatus.EXECUTING


async def test_another_tenants_incident_is_not_found() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.LOW)
    with pytest.raises(NotFound):
        await execute_runbook(world.services, users["other"], incident_id, runbook_id)


async def test_another_companys_runbook_is_not_found() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.LOW, company_id="globex")
    with pytest.raises(NotFound):
        await execute_runbook(world.services, users["msp"], incident_id, runbook_id)


async def test_an_unknown_runbook_is_not_found() -> None:
    world, users, incident_id = await _world()
    with pytest.raises(NotFound):
        await execute_runbook(world.services, users["tech"], incident_id, "nope")


async def test_a_resolved_incident_cannot_be_remediated() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.LOW)
    await world.post(generic("db-01", "db_down", status="resolved"))
    with pytest.raises(Conflict):
        await execute_runbook(world.services, users["tech"], incident_id, runbook_id)


async def test_an_inactive_user_may_not_execute() -> None:
    world, _users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.LOW)
    gone = User(id="gone", email="g@x", name="g", role=Role.TECHNICIAN,
                company_ids=frozenset({"acme"}), active=False)  # fmt: skip
    with pytest.raises(PermissionDenied):
        await execute_runbook(world.services, gone, incident_id, runbook_id)


async def _requested(risk: Risk, requester: str = "tech") -> tuple[World, dict[str, User], str]:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, risk)
    request = await execute_runbook(world.services, users[requester], incident_id, runbook_id)
    assert isinstance(request, ApprovalRequest)
    return world, users, request.id


async def test_a_company_admin_approves_medium_risk_with_notes_and_audit() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    decided = await decide_approval(
        world.services, users["admin"], approval_id, approve=True, notes="  go  "
    )
    assert decided.status is ApprovalStatus.APPROVED
    assert (decided.decided_by, decided.notes) == ("admin", "go")
    assert _audit(world, "approval_granted")[-1]["approval_id"] == approval_id
    assert world.events.published[-1].type == "approval.granted"


async def test_a_rejection_is_audited_as_denied() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    decided = await decide_approval(world.services, users["msp"], approval_id, approve=False)
    assert decided.status is ApprovalStatus.REJECTED
    assert _audit(world, "approval_denied")[-1]["approval_id"] == approval_id


async def test_a_company_admin_may_not_approve_high_risk() -> None:
    world, users, approval_id = await _requested(Risk.HIGH)
    with pytest.raises(PermissionDenied):
        await decide_approval(world.services, users["admin"], approval_id, approve=True)
    assert world.store.approvals[approval_id].status is ApprovalStatus.PENDING


async def test_nobody_approves_their_own_request() -> None:
    world, users, approval_id = await _requested(Risk.HIGH, requester="msp")
    with pytest.raises(PermissionDenied):
        await decide_approval(world.services, users["msp"], approval_id, approve=True)
    decided = await decide_approval(world.services, users["msp2"], approval_id, approve=True)
    assert decided.status is ApprovalStatus.APPROVED


async def test_a_technician_may_not_decide() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM, requester="admin")
    with pytest.raises(PermissionDenied):
        await decide_approval(world.services, users["tech"], approval_id, approve=True)


async def test_another_tenants_request_is_not_found() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    with pytest.raises(NotFound):
        await decide_approval(world.services, users["other"], approval_id, approve=True)
    with pytest.raises(NotFound):
        await decide_approval(world.services, users["msp"], "nope", approve=True)


async def test_a_second_decision_is_a_conflict_and_changes_nothing() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    first = await decide_approval(world.services, users["admin"], approval_id, approve=True)
    audit_size = len(world.store.audit)
    with pytest.raises(InvalidTransition):
        await decide_approval(world.services, users["msp"], approval_id, approve=False)
    assert world.store.approvals[approval_id] == first
    assert len(world.store.audit) == audit_size


async def test_a_decision_after_expiry_is_a_conflict_even_before_the_sweeper() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    world.clock.advance(timedelta(hours=1))
    with pytest.raises(InvalidTransition, match="expired"):
        await decide_approval(world.services, users["admin"], approval_id, approve=True)
    assert world.store.approvals[approval_id].status is ApprovalStatus.PENDING


async def test_over_long_notes_are_refused() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    with pytest.raises(ValidationError):
        await decide_approval(world.services, users["admin"], approval_id, True, "x" * 2001)
    assert world.store.approvals[approval_id].status is ApprovalStatus.PENDING


async def test_the_sweeper_expires_due_requests_only() -> None:
    world, _users, approval_id = await _requested(Risk.MEDIUM)
    world.clock.advance(timedelta(minutes=59))
    assert await expire_approvals(world.services) == []
    world.clock.advance(timedelta(minutes=1))
    expired = await expire_approvals(world.services)
    assert [a.id for a in expired] == [approval_id]
    assert world.store.approvals[approval_id].status is ApprovalStatus.EXPIRED
    assert _audit(world, "approval_expired")[-1]["approval_id"] == approval_id
    assert await expire_approvals(world.services) == []


async def test_after_expiry_a_new_request_can_be_made() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    request = world.store.approvals[approval_id]
    world.clock.advance(timedelta(hours=2))
    again = await execute_runbook(world.services, users["tech"], request.incident_id,
                                  request.runbook_id)  # fmt: skip
    assert isinstance(again, ApprovalRequest)
    assert again.id != approval_id


async def test_approvals_are_listed_per_tenant() -> None:
    world, users, approval_id = await _requested(Risk.MEDIUM)
    listed = await list_approvals(world.services, users["tech"])
    assert [a.id for a in listed.items] == [approval_id]
    assert (await list_approvals(world.services, users["other"])).items == ()
    pending = await list_approvals(world.services, users["msp"], "acme", ApprovalStatus.PENDING)
    assert [a.id for a in pending.items] == [approval_id]
    with pytest.raises(NotFound):
        await list_approvals(world.services, users["other"], "acme")


async def test_executions_are_shown_to_their_tenant_only() -> None:
    world, users, incident_id = await _world()
    runbook_id = await _runbook(world, Risk.LOW)
    execution = await execute_runbook(world.services, users["tech"], incident_id, runbook_id)
    assert await get_execution(world.services, users["admin"], execution.id) == execution
    with pytest.raises(NotFound):
        await get_execution(world.services, users["other"], execution.id)
    with pytest.raises(NotFound):
        await get_execution(world.services, users["msp"], "nope")


async def test_auto_execution_is_created_for_an_open_incident_only() -> None:
    world, _, incident_id = await _world()
    incident = world.store.incidents[incident_id]
    runbook = Runbook(id="rb", name="r", signature="db_down", risk=Risk.LOW, actions=ACTIONS,
                      health_check=HealthCheck(kind="command", command="true"))  # fmt: skip
    execution = await create_auto_execution(world.services, RemediationRequest(incident, runbook))
    assert execution is not None
    assert execution.requested_by == "system"
    await world.post(generic("db-01", "db_down", status="resolved"))
    assert (
        await create_auto_execution(world.services, RemediationRequest(incident, runbook)) is None
    )
