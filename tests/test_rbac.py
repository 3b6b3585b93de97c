"""RBAC: every role, every action, in its own company, another company and no company."""

from __future__ import annotations

import attrs
import pytest

from alertwhisperer_core._models import Role, User
from alertwhisperer_core._rbac import (
    ROLE_ACTIONS,
    Access,
    Action,
    authorize,
    may_manage_user,
    role_allows,
    visible_company_ids,
)

A = Action
ALLOW, NOT_FOUND, FORBIDDEN = Access.ALLOW, Access.NOT_FOUND, Access.FORBIDDEN

MSP = User(id="msp", email="m@x", name="M", role=Role.MSP_ADMIN)
ADMIN = User(
    id="adm",
    email="a@x",
    name="A",
    role=Role.COMPANY_ADMIN,
    company_ids=frozenset({"acme", "initech"}),
)
TECH = User(id="tec", email="t@x", name="T", role=Role.TECHNICIAN, company_ids=frozenset({"acme"}))
USERS = {Role.MSP_ADMIN: MSP, Role.COMPANY_ADMIN: ADMIN, Role.TECHNICIAN: TECH}

# Written out from SPEC §8 and the guide's §6, not derived from the module's table.
TECHNICIAN_MAY = {
    A.VIEW_COMPANY,
    A.VIEW_ASSETS,
    A.VIEW_SETTINGS,
    A.VIEW_ALERTS,
    A.VIEW_INCIDENTS,
    A.UPDATE_INCIDENT,
    A.ADD_NOTE,
    A.VIEW_RUNBOOKS,
    A.EXECUTE_RUNBOOK,
    A.VIEW_EXECUTIONS,
    A.VIEW_APPROVALS,
    A.VIEW_KPIS,
    A.VIEW_COMPLIANCE,
    A.CHAT,
    A.VIEW_NOTIFICATIONS,
}
COMPANY_ADMIN_MAY = TECHNICIAN_MAY | {
    A.MANAGE_ASSETS,
    A.MANAGE_SETTINGS,
    A.MANAGE_HMAC,
    A.MANAGE_CLOUD_CREDENTIALS,
    A.VIEW_USERS,
    A.MANAGE_USERS,
    A.DECIDE_APPROVAL,
    A.VIEW_AUDIT,
    A.EXPORT_AUDIT,
    A.SYNC_COMPLIANCE,
}
MSP_ONLY = {
    A.CREATE_COMPANY,
    A.UPDATE_COMPANY,
    A.DELETE_COMPANY,
    A.REGENERATE_API_KEY,
    A.MANAGE_RUNBOOKS,
}
OPEN_WITHOUT_COMPANY = {A.VIEW_RUNBOOKS, A.VIEW_NOTIFICATIONS}


def expected(role: Role, action: Action, scope: str) -> Access:
    if role is Role.MSP_ADMIN:
        return ALLOW
    if scope == "none":
        return ALLOW if action in OPEN_WITHOUT_COMPANY else FORBIDDEN
    if scope == "foreign":
        return NOT_FOUND
    allowed = TECHNICIAN_MAY if role is Role.TECHNICIAN else COMPANY_ADMIN_MAY
    return ALLOW if action in allowed else FORBIDDEN


SCOPES = {"own": "acme", "foreign": "globex", "none": None}
CASES = [(role, action, scope) for role in Role for action in Action for scope in SCOPES]


@pytest.mark.parametrize(
    ("role", "action", "scope"), CASES, ids=[f"{r}-{a}-{s}" for r, a, s in CASES]
)
def test_access_matrix(role: Role, action: Action, scope: str) -> None:
    assert authorize(USERS[role], action, SCOPES[scope]) is expected(role, action, scope)


def test_matrix_sets_cover_every_action() -> None:
    assert set(Action) == COMPANY_ADMIN_MAY | MSP_ONLY
    assert not COMPANY_ADMIN_MAY & MSP_ONLY


def test_company_admin_reaches_each_of_their_companies() -> None:
    assert authorize(ADMIN, A.MANAGE_SETTINGS, "initech") is ALLOW


def test_another_tenant_is_not_found_even_for_actions_the_role_lacks() -> None:
    # A technician asking to delete another tenant learns only "no such company".
    assert authorize(TECH, A.DELETE_COMPANY, "globex") is NOT_FOUND


def test_technician_cannot_manage_users_or_settings() -> None:
    for action in (A.MANAGE_USERS, A.MANAGE_SETTINGS, A.MANAGE_HMAC, A.VIEW_AUDIT):
        assert authorize(TECH, action, "acme") is FORBIDDEN


def test_technician_works_incidents_and_runs_runbooks() -> None:
    for action in (A.VIEW_INCIDENTS, A.UPDATE_INCIDENT, A.ADD_NOTE, A.EXECUTE_RUNBOOK):
        assert authorize(TECH, action, "acme") is ALLOW


def test_only_msp_admin_creates_companies() -> None:
    assert authorize(MSP, A.CREATE_COMPANY) is ALLOW
    assert authorize(ADMIN, A.CREATE_COMPANY) is FORBIDDEN
    assert authorize(ADMIN, A.CREATE_COMPANY, "acme") is FORBIDDEN


def test_global_runbooks_are_managed_by_msp_admin_and_seen_by_all() -> None:
    assert authorize(MSP, A.MANAGE_RUNBOOKS) is ALLOW
    assert authorize(ADMIN, A.MANAGE_RUNBOOKS) is FORBIDDEN
    assert authorize(TECH, A.VIEW_RUNBOOKS) is ALLOW


def test_msp_admin_reaches_any_company() -> None:
    assert authorize(MSP, A.DELETE_COMPANY, "any-company-at-all") is ALLOW


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("action", [A.VIEW_NOTIFICATIONS, A.VIEW_INCIDENTS, A.CREATE_COMPANY])
def test_inactive_user_is_forbidden_everything(role: Role, scope: str, action: Action) -> None:
    user = attrs.evolve(USERS[role], active=False)
    assert authorize(user, action, SCOPES[scope]) is FORBIDDEN


def test_role_allows_matches_own_company_answers() -> None:
    for role, user in USERS.items():
        for action in Action:
            assert role_allows(role, action) is (authorize(user, action, "acme") is ALLOW)


def test_role_table_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        ROLE_ACTIONS[Role.TECHNICIAN] = frozenset(Action)  # type: ignore[index]


# --- visible companies -------------------------------------------------------------------


def test_msp_admin_sees_every_company() -> None:
    assert visible_company_ids(MSP) is None


def test_others_see_their_own_companies() -> None:
    assert visible_company_ids(ADMIN) == frozenset({"acme", "initech"})
    assert visible_company_ids(TECH) == frozenset({"acme"})


@pytest.mark.parametrize("role", list(Role))
def test_inactive_user_sees_no_company(role: Role) -> None:
    assert visible_company_ids(attrs.evolve(USERS[role], active=False)) == frozenset()


# --- managing users ----------------------------------------------------------------------


@pytest.mark.parametrize("target_role", list(Role))
def test_msp_admin_manages_anyone(target_role: Role) -> None:
    assert may_manage_user(MSP, target_role, frozenset({"globex"}))
    assert may_manage_user(MSP, target_role, frozenset())


@pytest.mark.parametrize(
    ("target_companies", "allowed"),
    [
        (frozenset({"acme"}), True),
        (frozenset({"acme", "initech"}), True),
        (frozenset({"acme", "globex"}), False),
        (frozenset({"globex"}), False),
        (frozenset(), False),
    ],
)
def test_company_admin_manages_technicians_of_own_companies_only(
    target_companies: frozenset[str], allowed: bool
) -> None:
    assert may_manage_user(ADMIN, Role.TECHNICIAN, target_companies) is allowed


@pytest.mark.parametrize("target_role", [Role.COMPANY_ADMIN, Role.MSP_ADMIN])
def test_company_admin_cannot_manage_admins(target_role: Role) -> None:
    assert not may_manage_user(ADMIN, target_role, frozenset({"acme"}))


@pytest.mark.parametrize("target_role", list(Role))
def test_technician_manages_nobody(target_role: Role) -> None:
    assert not may_manage_user(TECH, target_role, frozenset({"acme"}))


def test_inactive_admin_manages_nobody() -> None:
    assert not may_manage_user(attrs.evolve(MSP, active=False), Role.TECHNICIAN, frozenset({"a"}))
    assert not may_manage_user(
        attrs.evolve(ADMIN, active=False), Role.TECHNICIAN, frozenset({"acme"})
    )
