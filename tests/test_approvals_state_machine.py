"""Random decisions by random people at random times never break the approval gate.

The machine keeps its own model of where the request must be, written from SPEC §7 rather
than from the table, and checks after every step that the request agrees with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from alertwhisperer_core._approvals import ApprovalEvent, decide, expire_due, request_approval
from alertwhisperer_core._models import ApprovalRequest, ApprovalStatus, Risk, Role, User
from alertwhisperer_core.errors import InvalidTransition, PermissionDenied

S = ApprovalStatus
E = ApprovalEvent
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=1)
TERMINAL = {S.REJECTED, S.EXPIRED, S.SUCCEEDED, S.FAILED}
AFTER_APPROVAL = {S.APPROVED, S.EXECUTING, S.SUCCEEDED, S.FAILED}

DECIDERS = {
    "msp_admin": User(id="u-msp", email="m@x", name="M", role=Role.MSP_ADMIN),
    "company_admin": User(
        id="u-acme", email="a@x", name="A", role=Role.COMPANY_ADMIN, company_ids=frozenset({"acme"})
    ),
    "foreign_admin": User(
        id="u-globex",
        email="g@x",
        name="G",
        role=Role.COMPANY_ADMIN,
        company_ids=frozenset({"globex"}),
    ),
    "technician": User(
        id="u-tech", email="t@x", name="T", role=Role.TECHNICIAN, company_ids=frozenset({"acme"})
    ),
    "inactive_msp_admin": User(
        id="u-old", email="o@x", name="O", role=Role.MSP_ADMIN, active=False
    ),
}


def spec_allows(actor: User | None, risk: Risk, requester_id: str) -> bool:
    """SPEC §7 restated: medium by the company's admin or an MSP admin, high by MSP admins."""
    if actor is None or not actor.active or actor.id == requester_id:
        return False
    if actor.role is Role.MSP_ADMIN:
        return True
    return (
        actor.role is Role.COMPANY_ADMIN and "acme" in actor.company_ids and risk is not Risk.HIGH
    )


class ApprovalGate(RuleBasedStateMachine):
    request: ApprovalRequest
    requester: User
    now: datetime
    model: ApprovalStatus
    approval: tuple[User, datetime] | None
    first_terminal: ApprovalStatus | None

    @initialize(risk=st.sampled_from(Risk), requester_role=st.sampled_from(Role))
    def open_request(self, risk: Risk, requester_role: Role) -> None:
        self.requester = User(
            id="u-req", email="r@x", name="R", role=requester_role, company_ids=frozenset({"acme"})
        )
        self.now = T0
        self.request = request_approval(
            id="ap",
            company_id="acme",
            incident_id="inc",
            runbook_id="rb",
            risk=risk,
            requested_by=self.requester.id,
            now=T0,
        )
        self.model = S.PENDING
        self.approval = None
        self.first_terminal = None

    @rule(seconds=st.integers(min_value=0, max_value=40 * 60))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(
        who=st.sampled_from([*DECIDERS, "requester", "nobody"]),
        event=st.sampled_from([E.APPROVE, E.REJECT]),
        notes=st.text(max_size=5),
    )
    def someone_decides(self, who: str, event: ApprovalEvent, notes: str) -> None:
        actor = {"requester": self.requester, "nobody": None}.get(who) or DECIDERS.get(who)
        allowed = spec_allows(actor, self.request.risk, self.requester.id)
        open_for_decision = self.model is S.PENDING and self.now < T0 + TTL
        before = attrs.evolve(self.request)
        try:
            result = decide(self.request, event, actor=actor, now=self.now, notes=notes)
        except PermissionDenied:
            assert not allowed
            assert self.request == before
            return
        except InvalidTransition:
            assert allowed
            assert not open_for_decision
            assert self.request == before
            return
        assert allowed
        assert open_for_decision
        assert actor is not None
        assert (result.decided_by, result.decided_at, result.notes) == (actor.id, self.now, notes)
        self.request = result
        if event is E.APPROVE:
            self.model = S.APPROVED
            self.approval = (actor, self.now)
        else:
            self.model = S.REJECTED

    @rule(
        event=st.sampled_from([E.START, E.SUCCEED, E.FAIL, E.EXPIRE]),
        who=st.sampled_from([None, *DECIDERS.values()]),
    )
    def system_reports(self, event: ApprovalEvent, who: User | None) -> None:
        expected = {
            E.START: S.EXECUTING if self.model is S.APPROVED else None,
            E.SUCCEED: S.SUCCEEDED if self.model is S.EXECUTING else None,
            E.FAIL: S.FAILED if self.model is S.EXECUTING else None,
            E.EXPIRE: S.EXPIRED if self.model is S.PENDING and self.now >= T0 + TTL else None,
        }[event]
        before = attrs.evolve(self.request)
        try:
            result = decide(self.request, event, actor=who, now=self.now)
        except InvalidTransition:
            assert expected is None
            assert self.request == before
            return
        assert expected is not None
        assert result.status is expected
        self.request = result
        self.model = expected

    @rule()
    def expiry_sweep(self) -> None:
        expired = expire_due(self.request, self.now)
        if self.model is S.PENDING and self.now >= T0 + TTL:
            assert expired == attrs.evolve(self.request, status=S.EXPIRED)
            self.request = expired
            self.model = S.EXPIRED
        else:
            assert expired is None

    @invariant()
    def request_agrees_with_the_model(self) -> None:
        assert self.request.status is self.model

    @invariant()
    def nothing_runs_without_a_rightful_approval_in_time(self) -> None:
        if self.request.status not in AFTER_APPROVAL:
            return
        assert self.approval is not None
        approver, at = self.approval
        assert spec_allows(approver, self.request.risk, self.requester.id)
        assert approver.id != self.request.requested_by
        assert at < self.request.expires_at
        assert (self.request.decided_by, self.request.decided_at) == (approver.id, at)

    @invariant()
    def terminal_states_stay_terminal(self) -> None:
        if self.first_terminal is not None:
            assert self.request.status is self.first_terminal
        elif self.request.status in TERMINAL:
            self.first_terminal = self.request.status

    @invariant()
    def what_the_request_is_about_never_changes(self) -> None:
        assert (self.request.id, self.request.company_id, self.request.requested_by) == (
            "ap",
            "acme",
            "u-req",
        )
        assert (self.request.created_at, self.request.expires_at) == (T0, T0 + TTL)


TestApprovalGate = ApprovalGate.TestCase
