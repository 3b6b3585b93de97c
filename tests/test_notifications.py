"""Who is notified of what (SPEC §10): the pure recipient rules and the records they make."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core import (
    ApprovalRequest,
    ApprovalStatus,
    Incident,
    IncidentStatus,
    Risk,
    Role,
    Severity,
    User,
)
from alertwhisperer_core._notifications import (
    NotificationType,
    approval_notifications,
    assignment_notifications,
    critical_alert_notifications,
    critical_alert_recipients,
    failed_execution_recipients,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def ids() -> itertools.count[int]:
    return itertools.count(1)


def new_id_from(counter: itertools.count[int]) -> str:
    return f"n-{next(counter)}"


def user(uid: str, role: Role, *companies: str, active: bool = True) -> User:
    return User(
        id=uid, email=f"{uid}@x.test", name=uid, role=role,
        company_ids=frozenset(companies), active=active,
    )  # fmt: skip


USERS = [
    user("msp", Role.MSP_ADMIN),
    user("acme-admin", Role.COMPANY_ADMIN, "acme"),
    user("acme-tech", Role.TECHNICIAN, "acme"),
    user("globex-tech", Role.TECHNICIAN, "globex"),
    user("gone", Role.TECHNICIAN, "acme", active=False),
    user("gone-msp", Role.MSP_ADMIN, active=False),
]


def incident(assigned_to: str | None = None) -> Incident:
    return Incident(
        id="inc-1", company_id="acme", key="k", asset_name="web-01", signature="disk_full",
        severity=Severity.CRITICAL, status=IncidentStatus.NEW, alert_count=3,
        tool_sources=frozenset({"Datadog"}), first_event_at=NOW, last_event_at=NOW,
        created_at=NOW, assigned_to=assigned_to,
    )  # fmt: skip


def approval(risk: Risk, requested_by: str = "acme-tech") -> ApprovalRequest:
    return ApprovalRequest(
        id="ap-1", company_id="acme", incident_id="inc-1", runbook_id="rb-1", risk=risk,
        requested_by=requested_by, status=ApprovalStatus.PENDING, created_at=NOW,
        expires_at=NOW,
    )  # fmt: skip


def new_id() -> str:
    return "n"


def test_critical_alerts_reach_msp_admins_and_the_companys_active_people() -> None:
    assert critical_alert_recipients(USERS, "acme") == ["acme-admin", "acme-tech", "msp"]


def test_critical_alerts_of_another_company_reach_only_its_people_and_msp_admins() -> None:
    assert critical_alert_recipients(USERS, "globex") == ["globex-tech", "msp"]


def test_critical_notifications_link_the_incident_and_are_critical() -> None:
    counter = ids()
    notes = critical_alert_notifications(
        USERS, incident(), new_id=lambda: new_id_from(counter), now=NOW
    )
    assert [(n.id, n.user_id) for n in notes] == [
        ("n-1", "acme-admin"),
        ("n-2", "acme-tech"),
        ("n-3", "msp"),
    ]
    first = notes[0]
    assert first.type is NotificationType.CRITICAL
    assert (first.link_type, first.link_id, first.company_id) == ("incident", "inc-1", "acme")
    assert first.created_at == NOW
    assert first.read_at is None
    assert "disk_full" in first.title
    assert "web-01" in first.title


def test_assignment_notifies_the_assignee() -> None:
    (note,) = assignment_notifications(
        incident("acme-tech"), "acme-tech", assigned_by="acme-admin", new_id=new_id, now=NOW
    )
    assert note.user_id == "acme-tech"
    assert note.type is NotificationType.INFO


def test_assigning_oneself_notifies_nobody() -> None:
    notes = assignment_notifications(
        incident(), "acme-tech", assigned_by="acme-tech", new_id=new_id, now=NOW
    )
    assert notes == ()


@pytest.mark.parametrize(
    ("risk", "requested_by", "expected"),
    [
        (Risk.MEDIUM, "acme-tech", ["acme-admin", "msp"]),
        (Risk.LOW, "system", ["acme-admin", "msp"]),
        (Risk.HIGH, "acme-tech", ["msp"]),
        (Risk.MEDIUM, "acme-admin", ["msp"]),
    ],
)
def test_approval_requests_reach_exactly_who_may_decide(
    risk: Risk, requested_by: str, expected: list[str]
) -> None:
    notes = approval_notifications(
        USERS, approval(risk, requested_by), "Restart", new_id=new_id, now=NOW
    )
    assert [n.user_id for n in notes] == expected
    assert all(n.type is NotificationType.WARNING and n.link_type == "approval" for n in notes)


def test_failed_execution_reaches_the_assignee_and_company_admins() -> None:
    assert failed_execution_recipients(USERS, incident("acme-tech")) == ["acme-admin", "acme-tech"]


def test_failed_execution_without_assignee_reaches_company_admins_only() -> None:
    assert failed_execution_recipients(USERS, incident()) == ["acme-admin"]


def test_failed_execution_skips_an_inactive_assignee() -> None:
    assert failed_execution_recipients(USERS, incident("gone")) == ["acme-admin"]


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        critical_alert_notifications(USERS, incident(), new_id=new_id, now=NOW.replace(tzinfo=None))


@given(
    st.lists(
        st.builds(
            user,
            st.text("abcdef", min_size=1, max_size=4),
            st.sampled_from(list(Role)),
            st.sampled_from(["acme", "globex"]),
            active=st.booleans(),
        ),
        max_size=12,
    )
)
def test_critical_recipients_are_unique_active_and_never_another_tenants(
    users: list[User],
) -> None:
    chosen = critical_alert_recipients(users, "acme")
    assert chosen == sorted(set(chosen))
    by_id: dict[str, list[User]] = {}
    for u in users:
        by_id.setdefault(u.id, []).append(u)
    for uid in chosen:
        assert any(
            u.active and (u.role is Role.MSP_ADMIN or "acme" in u.company_ids) for u in by_id[uid]
        )
