"""Approval gates for runbook execution (SPEC §7) as a transition table plus guards.

``APPROVAL_TRANSITIONS[status][event]`` is the status an event leads to. The table says which
transitions exist; :func:`decide` adds the guards the table cannot express:

- ``approve`` and ``reject`` need an actor who :func:`may_decide` (else
  :class:`PermissionDenied`), checked before the state so that a person without the right
  learns nothing about a request's progress. Then the request must be pending and not yet
  due to expire (``now < expires_at``), else :class:`InvalidTransition`.
- ``expire`` is refused before ``expires_at``: cancelling early is what ``reject`` is for.
- ``start``, ``succeed`` and ``fail`` are reported by the executor; the actor is not checked
  here (who may run an approved runbook is RBAC's ``EXECUTE_RUNBOOK``).

Every refusal raises and returns nothing, so a refused event never yields a changed request.
Tenant isolation (404 for another company's request) is RBAC's job and happens before this.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

import attrs

from ._lifecycle import mermaid_state_diagram
from ._models import ApprovalRequest, ApprovalStatus, Risk, Role, User
from ._settings import Policy
from .errors import InvalidTransition, PermissionDenied, ValidationError

__all__ = [
    "APPROVAL_TERMINAL_STATES",
    "APPROVAL_TRANSITIONS",
    "APPROVAL_TTL",
    "NOTES_MAX_LENGTH",
    "ApprovalEvent",
    "RemediationRoute",
    "approval_state_diagram",
    "decide",
    "expire_due",
    "may_decide",
    "remediation_route",
    "request_approval",
]


class ApprovalEvent(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    EXPIRE = "expire"
    START = "start"
    SUCCEED = "succeed"
    FAIL = "fail"


_S = ApprovalStatus
_E = ApprovalEvent

APPROVAL_TRANSITIONS: Mapping[ApprovalStatus, Mapping[ApprovalEvent, ApprovalStatus]] = (
    MappingProxyType(
        {
            _S.PENDING: MappingProxyType(
                {_E.APPROVE: _S.APPROVED, _E.REJECT: _S.REJECTED, _E.EXPIRE: _S.EXPIRED}
            ),
            _S.APPROVED: MappingProxyType({_E.START: _S.EXECUTING}),
            _S.REJECTED: MappingProxyType({}),
            _S.EXPIRED: MappingProxyType({}),
            _S.EXECUTING: MappingProxyType({_E.SUCCEED: _S.SUCCEEDED, _E.FAIL: _S.FAILED}),
            _S.SUCCEEDED: MappingProxyType({}),
            _S.FAILED: MappingProxyType({}),
        }
    )
)
"""Every approval status maps to the events it accepts; terminal states accept none."""

APPROVAL_TERMINAL_STATES: frozenset[ApprovalStatus] = frozenset(
    state for state, edges in APPROVAL_TRANSITIONS.items() if not edges
)

APPROVAL_TTL = timedelta(hours=1)
"""A pending request expires this long after it was created."""

NOTES_MAX_LENGTH = 2000
"""Decision notes go into the audit trail; longer text is refused rather than cut."""

RemediationRoute = Literal["auto", "approval"]

_MACHINE = "approval"
_DECISIONS = frozenset({_E.APPROVE, _E.REJECT})


def request_approval(
    *,
    id: str,
    company_id: str,
    incident_id: str,
    runbook_id: str,
    risk: Risk,
    requested_by: str,
    now: datetime,
) -> ApprovalRequest:
    """Create a pending request that expires :data:`APPROVAL_TTL` after ``now``."""
    _require_aware(now)
    return ApprovalRequest(
        id=id,
        company_id=company_id,
        incident_id=incident_id,
        runbook_id=runbook_id,
        risk=risk,
        requested_by=requested_by,
        status=ApprovalStatus.PENDING,
        created_at=now,
        expires_at=now + APPROVAL_TTL,
    )


def may_decide(user: User, request: ApprovalRequest) -> bool:
    """Whether ``user`` may approve or reject ``request``.

    Low and medium risk: an MSP admin, or a company admin of the request's company. High risk:
    an MSP admin only. Never the requester, never an inactive user, never a technician.
    """
    if not user.active or user.id == request.requested_by:
        return False
    if user.role is Role.MSP_ADMIN:
        return True
    if request.risk is Risk.HIGH:
        return False
    return user.role is Role.COMPANY_ADMIN and request.company_id in user.company_ids


def decide(
    request: ApprovalRequest,
    event: ApprovalEvent,
    *,
    actor: User | None,
    now: datetime,
    notes: str = "",
) -> ApprovalRequest:
    """Apply ``event`` to ``request`` at ``now`` and return the new request.

    ``approve`` and ``reject`` record ``actor``, ``now`` and ``notes`` as the decision; the
    other events keep the decision as it was and ignore ``notes``. Raises
    :class:`PermissionDenied` for a decision by someone who may not decide,
    :class:`InvalidTransition` for anything the table or the expiry guard refuses, and
    :class:`ValidationError` for notes over :data:`NOTES_MAX_LENGTH` characters.
    """
    _require_aware(now)
    is_decision = event in _DECISIONS
    if is_decision:
        if actor is None or not may_decide(actor, request):
            raise PermissionDenied(f"not allowed to {event} this approval request")
        if len(notes) > NOTES_MAX_LENGTH:
            raise ValidationError.for_field(
                "notes", f"must be at most {NOTES_MAX_LENGTH} characters"
            )
    target = APPROVAL_TRANSITIONS[request.status].get(event)
    if target is None:
        raise InvalidTransition(_MACHINE, request.status, event)
    due = now >= request.expires_at
    if request.status is ApprovalStatus.PENDING:
        if is_decision and due:
            # Reported as expired: that is what it is now, whatever the store still says.
            raise InvalidTransition(_MACHINE, ApprovalStatus.EXPIRED, event)
        if event is ApprovalEvent.EXPIRE and not due:
            raise InvalidTransition(_MACHINE, request.status, event)
    if is_decision:
        assert actor is not None  # checked above; narrows the type
        return attrs.evolve(
            request, status=target, decided_by=actor.id, decided_at=now, notes=notes
        )
    return attrs.evolve(request, status=target)


def expire_due(request: ApprovalRequest, now: datetime) -> ApprovalRequest | None:
    """The expired copy of ``request`` if it is pending and ``now >= expires_at``, else None."""
    _require_aware(now)
    if request.status is ApprovalStatus.PENDING and now >= request.expires_at:
        return attrs.evolve(request, status=ApprovalStatus.EXPIRED)
    return None


def remediation_route(
    runbook_risk: Risk, policy: Policy, *, in_maintenance: bool
) -> RemediationRoute:
    """How a new incident's matching runbook proceeds: run it now, or ask for approval.

    Only a low-risk runbook of a company whose policy auto-approves low risk runs by itself,
    and never inside a maintenance window (SPEC §6: nothing runs automatically there); every
    other case creates an approval request, which a person may still grant.
    """
    if runbook_risk is Risk.LOW and policy.auto_approve_low_risk and not in_maintenance:
        return "auto"
    return "approval"


def approval_state_diagram() -> str:
    """The approval state machine as a Mermaid ``stateDiagram-v2``, generated from the table."""
    return mermaid_state_diagram(ApprovalStatus.PENDING, APPROVAL_TRANSITIONS)


def _require_aware(now: datetime) -> None:
    # A naive time compared with the stored aware ones would raise deep inside; say why here.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
