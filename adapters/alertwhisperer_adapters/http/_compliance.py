"""Patch compliance over HTTP (SPEC §9, §11): sync a company from AWS Systems Manager, and read
its cached figures.

The source is the app's ``compliance_source`` (the composition root makes one from
``AW_AWS_REGION``); without one, sync answers 503 and says AWS is not configured. No response
carries credentials: the server's AWS credentials never leave the process.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import ComplianceSummary, InstancePatchState
from alertwhisperer_core.service import CompanyCompliance, get_compliance, sync_compliance

from ._auth import authenticate
from ._context import app_services
from ._io import json_response
from ._routing import Endpoint

__all__ = ["ENDPOINTS", "compliance_out"]


class InstanceComplianceOut(msgspec.Struct, frozen=True):
    instance_id: str
    environment: str
    compliant: bool
    installed: int
    missing: int
    critical_missing: int
    security_missing: int
    failed: int
    last_operation_at: datetime | None


class EnvironmentComplianceOut(msgspec.Struct, frozen=True):
    environment: str
    total: int
    compliant: int
    percent: float | None


class ComplianceOut(msgspec.Struct, frozen=True):
    company_id: str
    synced_at: datetime | None
    last_scan_at: datetime | None
    total: int
    compliant: int
    noncompliant: int
    percent: float | None
    missing: int
    critical_missing: int
    security_missing: int
    failed: int
    environments: list[EnvironmentComplianceOut]
    instances: list[InstanceComplianceOut]


def _instance(s: InstancePatchState) -> InstanceComplianceOut:
    return InstanceComplianceOut(
        instance_id=s.instance_id,
        environment=s.environment,
        compliant=s.compliant,
        installed=s.installed,
        missing=s.missing,
        critical_missing=s.critical_missing,
        security_missing=s.security_missing,
        failed=s.failed,
        last_operation_at=s.last_operation_at,
    )


def _environments(summary: ComplianceSummary) -> list[EnvironmentComplianceOut]:
    return [
        EnvironmentComplianceOut(name, e.total, e.compliant, e.percent)
        for name, e in summary.by_environment.items()
    ]


def compliance_out(c: CompanyCompliance) -> ComplianceOut:
    """The response body of both routes."""
    s = c.summary
    return ComplianceOut(
        company_id=c.company_id,
        synced_at=c.synced_at,
        last_scan_at=s.last_scan_at,
        total=s.total,
        compliant=s.compliant,
        noncompliant=s.noncompliant,
        percent=s.percent,
        missing=s.missing,
        critical_missing=s.critical_missing,
        security_missing=s.security_missing,
        failed=s.failed,
        environments=_environments(s),
        instances=[_instance(i) for i in c.instances],
    )


async def compliance_sync(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    synced = await sync_compliance(
        app.services, actor, request.path_params["id"], app.compliance_source
    )
    return json_response(compliance_out(synced))


async def compliance_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    cached = await get_compliance(app.services, actor, request.path_params["id"])
    return json_response(compliance_out(cached))


ENDPOINTS = (
    Endpoint("POST", "/api/companies/{id}/compliance/sync", compliance_sync,
             "Sync patch compliance from AWS Systems Manager", "compliance",
             response=ComplianceOut, errors=(502, 503),
             description="Company admins and MSP admins. Asks Patch Manager for the state of "
             "the company's instances (its assets' instance_id), replaces the cached figures "
             "and answers them. 503 when the server has no AWS region configured "
             "(AW_AWS_REGION); 502 when AWS refuses (for example a missing IAM permission)."),
    Endpoint("GET", "/api/companies/{id}/compliance", compliance_get,
             "Cached patch compliance of a company", "compliance", response=ComplianceOut,
             description="The figures of the last sync: per instance, per environment, "
             "critical and security patches missing, last scan time. Before the first sync "
             "everything is 0 and synced_at is null."),
)  # fmt: skip
