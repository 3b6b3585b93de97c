"""Approval gates: who may decide, the transition table with its guards, expiry, routing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from alertwhisperer_core._approvals import (
    APPROVAL_TERMINAL_STATES,
    APPROVAL_TRANSITIONS,
    APPROVAL_TTL,
    NOTES_MAX_LENGTH,
    ApprovalEvent,
    approval_state_diagram,
    decide,
    expire_due,
    may_decide,
    remediation_route,
    request_approval,
)
from alertwhisperer_core._models import ApprovalRequest, ApprovalStatus, Risk, Role, User
from alertwhisperer_core._settings import Policy
from alertwhisperer_core.errors import InvalidTransition, PermissionDenied, ValidationError

S = ApprovalStatus
E = ApprovalEvent
T0 = datetime(2025, 1, 25, 10, 0, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[1] / "docs" / "state-machines.md"

MSP = User(id="u-msp", email="msp@x", name="MSP", role=Role.MSP_ADMIN)
ACME_ADMIN = User(
    id="u-acme-admin",
    email="a@x",
    name="Acme admin",
    role=Role.COMPANY_ADMIN,
    company_ids=frozenset({"acme"}),
)
MULTI_ADMIN = User(
    id="u-multi",
    email="m@x",
    name="Multi",
    role=Role.COMPANY_ADMIN,
    company_ids=frozenset({"globex", "acme"}),
)
OTHER_ADMIN = User(
    id="u-globex-admin",
    email="g@x",
    name="Globex admin",
    role=Role.COMPANY_ADMIN,
    company_ids=frozenset({"globex"}),
)
TECH = User(
    id="u-tech", email="t@x", name="Tech", role=Role.TECHNICIAN, company_ids=frozenset({"acme"})
)
INACTIVE_MSP = User(id="u-gone", email="g@x", name="Gone", role=Role.MSP_ADMIN, active=False)
REQUESTER_ADMIN = User(
    id="u-req",
    email="r@x",
    name="Requester",
    role=Role.COMPANY_ADMIN,
    company_ids=frozenset({"acme"}),
)
REQUESTER_MSP = attrs.evolve(MSP, id="u-req")


def make_request(risk: Risk = Risk.MEDIUM, requested_by: str = "u-req") -> ApprovalRequest:
    return request_approval(
        id="ap-1",
        company_id="acme",
        incident_id="inc-1",
        runbook_id="rb-1",
        risk=risk,
        requested_by=requested_by,
        now=T0,
    )


def approved(risk: Risk = Risk.MEDIUM) -> ApprovalRequest:
    return decide(make_request(risk), E.APPROVE, actor=MSP, now=T0 + timedelta(minutes=5))


def executing() -> ApprovalRequest:
    return decide(approved(), E.START, actor=None, now=T0 + timedelta(minutes=6))


# --- creating a request ------------------------------------------------------------------


def test_new_request_is_pending_and_expires_after_one_hour() -> None:
    request = make_request()
    assert request.status is S.PENDING
    assert request.created_at == T0
    assert request.expires_at == T0 + timedelta(hours=1) == T0 + APPROVAL_TTL
    assert (request.decided_by, request.decided_at, request.notes) == (None, None, "")


def test_new_request_keeps_what_it_is_about() -> None:
    request = make_request(Risk.HIGH, requested_by="u-tech")
    assert (request.id, request.company_id, request.incident_id, request.runbook_id) == (
        "ap-1",
        "acme",
        "inc-1",
        "rb-1",
    )
    assert (request.risk, request.requested_by) == (Risk.HIGH, "u-tech")


def test_new_request_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        request_approval(
            id="a",
            company_id="c",
            incident_id="i",
            runbook_id="r",
            risk=Risk.LOW,
            requested_by="u",
            now=datetime(2025, 1, 1),
        )


# --- who may decide ----------------------------------------------------------------------

MAY_DECIDE_CASES = [
    # (user, risk, expected)
    (MSP, Risk.LOW, True),
    (MSP, Risk.MEDIUM, True),
    (MSP, Risk.HIGH, True),
    (ACME_ADMIN, Risk.LOW, True),
    (ACME_ADMIN, Risk.MEDIUM, True),
    (ACME_ADMIN, Risk.HIGH, False),
    (MULTI_ADMIN, Risk.MEDIUM, True),
    (MULTI_ADMIN, Risk.HIGH, False),
    (OTHER_ADMIN, Risk.LOW, False),
    (OTHER_ADMIN, Risk.MEDIUM, False),
    (OTHER_ADMIN, Risk.HIGH, False),
    (TECH, Risk.LOW, False),
    (TECH, Risk.MEDIUM, False),
    (TECH, Risk.HIGH, False),
    (INACTIVE_MSP, Risk.LOW, False),
    (INACTIVE_MSP, Risk.HIGH, False),
    (attrs.evolve(ACME_ADMIN, active=False), Risk.MEDIUM, False),
    (REQUESTER_ADMIN, Risk.MEDIUM, False),
    (REQUESTER_MSP, Risk.MEDIUM, False),
    (REQUESTER_MSP, Risk.HIGH, False),
]


@pytest.mark.parametrize(
    ("user", "risk", "expected"),
    MAY_DECIDE_CASES,
    ids=[f"{u.id}-{'active' if u.active else 'inactive'}-{r}" for u, r, _ in MAY_DECIDE_CASES],
)
def test_who_may_decide(user: User, risk: Risk, expected: bool) -> None:
    assert may_decide(user, make_request(risk)) is expected


def test_nobody_decides_their_own_request_whatever_their_role() -> None:
    for role in Role:
        requester = User(
            id="u-req", email="r@x", name="R", role=role, company_ids=frozenset({"acme"})
        )
        assert not may_decide(requester, make_request(Risk.LOW))


# --- approve and reject ------------------------------------------------------------------


def test_approve_records_the_decision() -> None:
    at = T0 + timedelta(minutes=10)
    result = decide(make_request(), E.APPROVE, actor=ACME_ADMIN, now=at, notes="go ahead")
    assert result.status is S.APPROVED
    assert (result.decided_by, result.decided_at, result.notes) == ("u-acme-admin", at, "go ahead")


def test_reject_records_the_decision() -> None:
    at = T0 + timedelta(minutes=10)
    result = decide(make_request(Risk.HIGH), E.REJECT, actor=MSP, now=at, notes="not now")
    assert result.status is S.REJECTED
    assert (result.decided_by, result.decided_at, result.notes) == ("u-msp", at, "not now")


def test_decision_returns_a_new_request_and_leaves_the_old_one_alone() -> None:
    request = make_request()
    before = attrs.evolve(request)
    decide(request, E.APPROVE, actor=MSP, now=T0)
    assert request == before


@pytest.mark.parametrize("event", [E.APPROVE, E.REJECT])
@pytest.mark.parametrize("actor", [TECH, OTHER_ADMIN, INACTIVE_MSP, REQUESTER_ADMIN, None])
def test_decision_by_someone_not_allowed_is_permission_denied(
    event: ApprovalEvent, actor: User | None
) -> None:
    request = make_request()
    before = attrs.evolve(request)
    with pytest.raises(PermissionDenied) as info:
        decide(request, event, actor=actor, now=T0)
    assert info.value.error_status_hint == 403
    assert request == before


def test_company_admin_cannot_approve_high_risk() -> None:
    with pytest.raises(PermissionDenied):
        decide(make_request(Risk.HIGH), E.APPROVE, actor=ACME_ADMIN, now=T0)


def test_permission_is_checked_before_the_state() -> None:
    # A technician learns nothing about whether the request was already decided.
    with pytest.raises(PermissionDenied):
        decide(approved(), E.APPROVE, actor=TECH, now=T0)


def test_second_decision_is_an_invalid_transition() -> None:
    request = approved()
    with pytest.raises(InvalidTransition) as info:
        decide(request, E.REJECT, actor=MSP, now=T0 + timedelta(minutes=7))
    assert (info.value.machine, info.value.state, info.value.event) == (
        "approval",
        "approved",
        "reject",
    )
    assert info.value.error_status_hint == 409


def test_approve_just_before_expiry_is_accepted() -> None:
    request = make_request()
    result = decide(
        request, E.APPROVE, actor=MSP, now=request.expires_at - timedelta(microseconds=1)
    )
    assert result.status is S.APPROVED


@pytest.mark.parametrize("event", [E.APPROVE, E.REJECT])
@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(days=3)])
def test_decision_at_or_after_expiry_is_refused_as_expired(
    event: ApprovalEvent, late: timedelta
) -> None:
    request = make_request()
    with pytest.raises(InvalidTransition) as info:
        decide(request, event, actor=MSP, now=request.expires_at + late)
    assert (info.value.state, info.value.event) == ("expired", event)


def test_notes_at_the_limit_are_kept() -> None:
    notes = "n" * NOTES_MAX_LENGTH
    assert decide(make_request(), E.APPROVE, actor=MSP, now=T0, notes=notes).notes == notes


def test_notes_over_the_limit_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        decide(make_request(), E.REJECT, actor=MSP, now=T0, notes="n" * (NOTES_MAX_LENGTH + 1))
    assert info.value.errors[0]["field"] == "notes"


def test_decision_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(make_request(), E.APPROVE, actor=MSP, now=datetime(2025, 1, 25, 10, 5))


# --- expiry ------------------------------------------------------------------------------


def test_expire_event_at_expiry_expires_without_a_decider() -> None:
    request = make_request()
    result = decide(request, E.EXPIRE, actor=None, now=request.expires_at)
    assert result.status is S.EXPIRED
    assert (result.decided_by, result.decided_at) == (None, None)


def test_expire_event_before_expiry_is_refused() -> None:
    request = make_request()
    with pytest.raises(InvalidTransition) as info:
        decide(request, E.EXPIRE, actor=None, now=request.expires_at - timedelta(seconds=1))
    assert (info.value.state, info.value.event) == ("pending", "expire")


def test_expire_due_returns_nothing_before_expiry() -> None:
    request = make_request()
    assert expire_due(request, request.expires_at - timedelta(microseconds=1)) is None


@pytest.mark.parametrize("late", [timedelta(0), timedelta(hours=5)])
def test_expire_due_returns_the_expired_copy_once_due(late: timedelta) -> None:
    request = make_request()
    expired = expire_due(request, request.expires_at + late)
    assert expired == attrs.evolve(request, status=S.EXPIRED)


def test_expire_due_leaves_decided_requests_alone() -> None:
    request = approved()
    assert expire_due(request, request.expires_at + timedelta(days=1)) is None


def test_approved_request_can_start_after_the_approval_window() -> None:
    request = approved()
    result = decide(request, E.START, actor=None, now=request.expires_at + timedelta(hours=2))
    assert result.status is S.EXECUTING


# --- execution ---------------------------------------------------------------------------


def test_start_keeps_the_decision() -> None:
    request = decide(make_request(), E.APPROVE, actor=MSP, now=T0, notes="ok")
    result = decide(request, E.START, actor=TECH, now=T0 + timedelta(minutes=1), notes="ignored")
    assert result == attrs.evolve(request, status=S.EXECUTING)


@pytest.mark.parametrize(("event", "status"), [(E.SUCCEED, S.SUCCEEDED), (E.FAIL, S.FAILED)])
def test_execution_ends_in_success_or_failure(event: ApprovalEvent, status: ApprovalStatus) -> None:
    assert decide(executing(), event, actor=None, now=T0 + timedelta(minutes=8)).status is status


@pytest.mark.parametrize("event", [E.START, E.SUCCEED, E.FAIL])
def test_pending_request_cannot_execute(event: ApprovalEvent) -> None:
    with pytest.raises(InvalidTransition) as info:
        decide(make_request(), event, actor=MSP, now=T0)
    assert (info.value.state, info.value.event) == ("pending", event)


def test_execution_cannot_start_twice() -> None:
    with pytest.raises(InvalidTransition):
        decide(executing(), E.START, actor=None, now=T0 + timedelta(minutes=9))


def test_approved_request_cannot_finish_without_starting() -> None:
    with pytest.raises(InvalidTransition):
        decide(approved(), E.SUCCEED, actor=None, now=T0 + timedelta(minutes=9))


def _in_state(status: ApprovalStatus) -> ApprovalRequest:
    return attrs.evolve(make_request(Risk.LOW), status=status)


@pytest.mark.parametrize("status", sorted(APPROVAL_TERMINAL_STATES))
@pytest.mark.parametrize("event", list(ApprovalEvent))
def test_terminal_states_accept_no_event(status: ApprovalStatus, event: ApprovalEvent) -> None:
    request = _in_state(status)
    before = attrs.evolve(request)
    with pytest.raises(InvalidTransition):
        decide(request, event, actor=MSP, now=request.expires_at + timedelta(hours=1))
    assert request == before


# --- the table ---------------------------------------------------------------------------


def test_table_has_exactly_the_transitions_of_the_spec() -> None:
    edges = {
        (state, event, target)
        for state, table in APPROVAL_TRANSITIONS.items()
        for event, target in table.items()
    }
    assert edges == {
        (S.PENDING, E.APPROVE, S.APPROVED),
        (S.PENDING, E.REJECT, S.REJECTED),
        (S.PENDING, E.EXPIRE, S.EXPIRED),
        (S.APPROVED, E.START, S.EXECUTING),
        (S.EXECUTING, E.SUCCEED, S.SUCCEEDED),
        (S.EXECUTING, E.FAIL, S.FAILED),
    }


def test_table_lists_every_status() -> None:
    assert set(APPROVAL_TRANSITIONS) == set(ApprovalStatus)


def test_terminal_states_are_the_ones_without_exits() -> None:
    assert {S.REJECTED, S.EXPIRED, S.SUCCEEDED, S.FAILED} == APPROVAL_TERMINAL_STATES


def test_table_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        APPROVAL_TRANSITIONS[S.PENDING][E.START] = S.EXECUTING  # type: ignore[index]


def test_diagram_has_one_edge_per_table_entry() -> None:
    edges = [line.strip() for line in approval_state_diagram().splitlines() if " : " in line]
    assert edges == [
        f"{state} --> {target} : {event}"
        for state, table in APPROVAL_TRANSITIONS.items()
        for event, target in table.items()
    ]


def test_documented_approval_diagram_matches_the_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"approval_state_diagram\(\) -->\n```mermaid\n(.*?)```", text, re.DOTALL)
    assert match is not None
    assert match.group(1) == approval_state_diagram()


# --- remediation route -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("risk", "auto_low", "maintenance", "expected"),
    [
        (Risk.LOW, True, False, "auto"),
        (Risk.LOW, False, False, "approval"),
        (Risk.LOW, True, True, "approval"),
        (Risk.LOW, False, True, "approval"),
        (Risk.MEDIUM, True, False, "approval"),
        (Risk.MEDIUM, True, True, "approval"),
        (Risk.HIGH, True, False, "approval"),
        (Risk.HIGH, False, True, "approval"),
    ],
)
def test_remediation_route(risk: Risk, auto_low: bool, maintenance: bool, expected: str) -> None:
    policy = Policy(auto_approve_low_risk=auto_low)
    assert remediation_route(risk, policy, in_maintenance=maintenance) == expected


def test_low_risk_runs_automatically_under_the_default_policy() -> None:
    assert remediation_route(Risk.LOW, Policy(), in_maintenance=False) == "auto"
