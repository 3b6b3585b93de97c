"""Rows ↔ records for the directory: companies, assets, users, runbooks, approvals.

The same conventions as :mod:`._mapping` (the alert and incident side): ``*_COLUMNS`` is what
a read selects, ``*_row`` gives insert parameters, ``*_from_row`` unpacks a row in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cattrs
import msgspec

from alertwhisperer_core import (
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    Company,
    CompanySettings,
    HealthCheck,
    Risk,
    Role,
    Runbook,
    User,
)

from . import _schema as s
from ._mapping import columns, json_text, strings

__all__ = [
    "APPROVAL_COLUMNS",
    "ASSET_COLUMNS",
    "COMPANY_COLUMNS",
    "RUNBOOK_COLUMNS",
    "USER_COLUMNS",
    "approval_from_row",
    "approval_row",
    "asset_from_row",
    "asset_row",
    "company_from_row",
    "company_row",
    "runbook_from_row",
    "runbook_row",
    "user_from_row",
    "user_row",
]

_settings = cattrs.Converter()


class _HealthCheckJson(msgspec.Struct):
    kind: str
    url: str | None
    expected_status: int
    command: str | None


_health = msgspec.json.Decoder(_HealthCheckJson)


# --- companies -------------------------------------------------------------------------------

COMPANY_COLUMNS = columns(
    s.companies, "id", "name", "created_at", "settings", "api_key_hash", "hmac_enabled"
)


def company_row(company: Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "name": company.name,
        "created_at": company.created_at,
        "settings": json_text(_settings.unstructure(company.settings)),
        "api_key_hash": company.api_key_hash,
        "hmac_enabled": company.hmac_enabled,
    }


def company_from_row(row: Sequence[Any]) -> Company:
    id_, name, created_at, settings, api_key_hash, hmac_enabled = row
    return Company(
        id=id_,
        name=name,
        created_at=created_at,
        settings=_settings.structure(msgspec.json.decode(settings), CompanySettings),
        api_key_hash=api_key_hash,
        hmac_enabled=bool(hmac_enabled),
    )


# --- assets ----------------------------------------------------------------------------------

ASSET_COLUMNS = columns(
    s.assets,
    "id",
    "company_id",
    "name",
    "type",
    "os",
    "environment",
    "is_critical",
    "instance_id",
    "tags",
)


def asset_row(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "company_id": asset.company_id,
        "name": asset.name,
        "type": asset.type,
        "os": asset.os,
        "environment": asset.environment,
        "is_critical": asset.is_critical,
        "instance_id": asset.instance_id,
        "tags": json_text(asset.tags),
    }


def asset_from_row(row: Sequence[Any]) -> Asset:
    id_, company_id, name, type_, os_, environment, is_critical, instance_id, tags = row
    return Asset(
        id=id_,
        company_id=company_id,
        name=name,
        type=type_,
        os=os_,
        environment=environment,
        is_critical=bool(is_critical),
        instance_id=instance_id,
        tags=tuple(strings.decode(tags)),
    )


# --- users -----------------------------------------------------------------------------------

USER_COLUMNS = columns(s.users, "id", "email", "name", "role", "password_hash", "active")


def user_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        # Python's lower(), not the database's: lookups match the in-memory store exactly.
        "email_lc": user.email.lower(),
        "name": user.name,
        "role": user.role.value,
        "password_hash": user.password_hash,
        "active": user.active,
    }


def user_from_row(row: Sequence[Any], company_ids: frozenset[str]) -> User:
    id_, email, name, role, password_hash, active = row
    return User(
        id=id_,
        email=email,
        name=name,
        role=Role(role),
        company_ids=company_ids,
        password_hash=password_hash,
        active=bool(active),
    )


# --- runbooks --------------------------------------------------------------------------------

RUNBOOK_COLUMNS = columns(
    s.runbooks,
    "id",
    "name",
    "signature",
    "risk",
    "actions",
    "description",
    "health_check",
    "timeout_seconds",
    "company_id",
)


def runbook_row(runbook: Runbook) -> dict[str, Any]:
    check = runbook.health_check
    return {
        "id": runbook.id,
        "company_id": runbook.company_id,
        "name": runbook.name,
        "signature": runbook.signature,
        "risk": runbook.risk.value,
        "actions": json_text(runbook.actions),
        "description": runbook.description,
        "health_check": None
        if check is None
        else json_text(
            _HealthCheckJson(check.kind, check.url, check.expected_status, check.command)
        ),
        "timeout_seconds": runbook.timeout_seconds,
    }


def runbook_from_row(row: Sequence[Any]) -> Runbook:
    (
        id_,
        name,
        signature,
        risk,
        actions,
        description,
        health_check,
        timeout_seconds,
        company_id,
    ) = row
    check = None
    if health_check is not None:
        h = _health.decode(health_check)
        check = HealthCheck(
            kind=h.kind, url=h.url, expected_status=h.expected_status, command=h.command
        )
    return Runbook(
        id=id_,
        name=name,
        signature=signature,
        risk=Risk(risk),
        actions=tuple(strings.decode(actions)),
        description=description,
        health_check=check,
        timeout_seconds=timeout_seconds,
        company_id=company_id,
    )


# --- approvals -------------------------------------------------------------------------------

APPROVAL_COLUMNS = columns(
    s.approvals,
    "id",
    "company_id",
    "incident_id",
    "runbook_id",
    "risk",
    "requested_by",
    "status",
    "created_at",
    "expires_at",
    "decided_by",
    "decided_at",
    "notes",
)


def approval_row(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "company_id": request.company_id,
        "incident_id": request.incident_id,
        "runbook_id": request.runbook_id,
        "risk": request.risk.value,
        "requested_by": request.requested_by,
        "status": request.status.value,
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "decided_by": request.decided_by,
        "decided_at": request.decided_at,
        "notes": request.notes,
    }


def approval_from_row(row: Sequence[Any]) -> ApprovalRequest:
    (
        id_,
        company_id,
        incident_id,
        runbook_id,
        risk,
        requested_by,
        status,
        created_at,
        expires_at,
        decided_by,
        decided_at,
        notes,
    ) = row
    return ApprovalRequest(
        id=id_,
        company_id=company_id,
        incident_id=incident_id,
        runbook_id=runbook_id,
        risk=Risk(risk),
        requested_by=requested_by,
        status=ApprovalStatus(status),
        created_at=created_at,
        expires_at=expires_at,
        decided_by=decided_by,
        decided_at=decided_at,
        notes=notes,
    )
