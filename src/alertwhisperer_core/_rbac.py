"""Who may do what, for which company (SPEC §8, guide §6).

:func:`authorize` has three answers, decided by these checks in order:

1. An inactive user: ``FORBIDDEN`` for everything.
2. An MSP admin: ``ALLOW`` for everything.
3. ``company_id`` outside the user's companies: ``NOT_FOUND``. Another tenant's objects are
   answered as if they did not exist, whatever the action, so nothing about them leaks.
4. Inside the tenant: ``ALLOW`` if the role has the action, else ``FORBIDDEN``.

``company_id=None`` asks about something that belongs to no company: creating a company, the
global runbook library, one's own notifications, or a view across every tenant. Only
:data:`UNSCOPED_FOR_EVERYONE` is open to every role there; everything else is the MSP admin's.
Lists over "my companies" filter by :func:`visible_company_ids` instead.

Role decisions beyond the guide's lists, so they are written down once:

- Runbooks are shell commands run on clients' servers and a low-risk one runs unattended, so
  writing one is an approval in itself: only MSP admins manage runbooks.
- The guide lists regenerating API keys among the MSP admin's powers only; company admins
  configure their companies' settings, which includes turning HMAC signing on and setting
  the company's own AWS credentials (technicians never see or set those).
- Technicians see their companies' incidents, alerts, approvals, KPIs, compliance and
  settings, and may run runbooks (which asks for approval when the risk needs it); they do
  not manage users, settings, assets or audit logs.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from ._models import Role, User

__all__ = [
    "ROLE_ACTIONS",
    "UNSCOPED_FOR_EVERYONE",
    "Access",
    "Action",
    "authorize",
    "may_manage_user",
    "role_allows",
    "visible_company_ids",
]


class Action(enum.StrEnum):
    VIEW_COMPANY = "view_company"
    CREATE_COMPANY = "create_company"
    UPDATE_COMPANY = "update_company"
    DELETE_COMPANY = "delete_company"
    REGENERATE_API_KEY = "regenerate_api_key"
    VIEW_ASSETS = "view_assets"
    MANAGE_ASSETS = "manage_assets"
    VIEW_SETTINGS = "view_settings"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_HMAC = "manage_hmac"
    MANAGE_CLOUD_CREDENTIALS = "manage_cloud_credentials"
    VIEW_USERS = "view_users"
    MANAGE_USERS = "manage_users"
    VIEW_ALERTS = "view_alerts"
    VIEW_INCIDENTS = "view_incidents"
    UPDATE_INCIDENT = "update_incident"
    ADD_NOTE = "add_note"
    VIEW_RUNBOOKS = "view_runbooks"
    MANAGE_RUNBOOKS = "manage_runbooks"
    EXECUTE_RUNBOOK = "execute_runbook"
    VIEW_EXECUTIONS = "view_executions"
    VIEW_APPROVALS = "view_approvals"
    DECIDE_APPROVAL = "decide_approval"
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"
    VIEW_KPIS = "view_kpis"
    SYNC_COMPLIANCE = "sync_compliance"
    VIEW_COMPLIANCE = "view_compliance"
    CHAT = "chat"
    VIEW_NOTIFICATIONS = "view_notifications"


class Access(enum.StrEnum):
    ALLOW = "allow"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"


_A = Action

_TECHNICIAN = frozenset(
    {
        _A.VIEW_COMPANY,
        _A.VIEW_ASSETS,
        _A.VIEW_SETTINGS,
        _A.VIEW_ALERTS,
        _A.VIEW_INCIDENTS,
        _A.UPDATE_INCIDENT,
        _A.ADD_NOTE,
        _A.VIEW_RUNBOOKS,
        _A.EXECUTE_RUNBOOK,
        _A.VIEW_EXECUTIONS,
        _A.VIEW_APPROVALS,
        _A.VIEW_KPIS,
        _A.VIEW_COMPLIANCE,
        _A.CHAT,
        _A.VIEW_NOTIFICATIONS,
    }
)
_COMPANY_ADMIN = _TECHNICIAN | {
    _A.MANAGE_ASSETS,
    _A.MANAGE_SETTINGS,
    _A.MANAGE_HMAC,
    _A.MANAGE_CLOUD_CREDENTIALS,
    _A.VIEW_USERS,
    _A.MANAGE_USERS,
    _A.DECIDE_APPROVAL,
    _A.VIEW_AUDIT,
    _A.EXPORT_AUDIT,
    _A.SYNC_COMPLIANCE,
}

ROLE_ACTIONS: Mapping[Role, frozenset[Action]] = MappingProxyType(
    {
        Role.MSP_ADMIN: frozenset(Action),
        Role.COMPANY_ADMIN: _COMPANY_ADMIN,
        Role.TECHNICIAN: _TECHNICIAN,
    }
)
"""What each role may do inside its own companies."""

UNSCOPED_FOR_EVERYONE: frozenset[Action] = frozenset({_A.VIEW_RUNBOOKS, _A.VIEW_NOTIFICATIONS})
"""Actions on things of no company that every role may take (``company_id=None``)."""


def role_allows(role: Role, action: Action) -> bool:
    """Whether ``role`` has ``action`` inside its own companies (for lists and menus)."""
    return action in ROLE_ACTIONS[role]


def authorize(user: User, action: Action, company_id: str | None = None) -> Access:
    """Decide ``action`` by ``user`` on ``company_id`` (None: something of no company).

    See the module docstring for the order of the checks.
    """
    if not user.active:
        return Access.FORBIDDEN
    if user.role is Role.MSP_ADMIN:
        return Access.ALLOW
    if company_id is None:
        return Access.ALLOW if action in UNSCOPED_FOR_EVERYONE else Access.FORBIDDEN
    if company_id not in user.company_ids:
        return Access.NOT_FOUND
    return Access.ALLOW if role_allows(user.role, action) else Access.FORBIDDEN


def visible_company_ids(user: User) -> frozenset[str] | None:
    """The companies whose data ``user`` may see; None means every company (MSP admin)."""
    if not user.active:
        return frozenset()
    if user.role is Role.MSP_ADMIN:
        return None
    return user.company_ids


def may_manage_user(actor: User, target_role: Role, target_company_ids: frozenset[str]) -> bool:
    """Whether ``actor`` may create, edit or delete a user with this role and these companies.

    MSP admins manage anyone. Company admins manage technicians only, and only technicians
    all of whose companies are their own (at least one). For an edit, ask for the user as
    it is and as it will be: both must pass.
    """
    if not actor.active:
        return False
    if actor.role is Role.MSP_ADMIN:
        return True
    return (
        actor.role is Role.COMPANY_ADMIN
        and target_role is Role.TECHNICIAN
        and bool(target_company_ids)
        and target_company_ids <= actor.company_ids
    )
