"""Runbooks, executions and approvals over HTTP (SPEC §7, §11).

Executing answers 202 at once with the pending execution (or the approval request); the run
itself happens after the response, through the app's :class:`Remediator`, and its progress is
read back with ``GET /api/executions/{id}`` (or followed on the ``execution.*`` events).
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import ApprovalRequest, ApprovalStatus, Execution, Runbook
from alertwhisperer_core.service import (
    NewRunbook,
    RunbookChanges,
    create_runbook,
    decide_approval,
    decode_command,
    delete_runbook,
    execute_runbook,
    get_execution,
    get_runbook,
    import_runbooks,
    list_approvals,
    list_runbooks,
    page_sorted,
    update_runbook,
)

from ..runbook_yaml import dump_runbooks, load_runbooks
from ._auth import authenticate
from ._context import app_services
from ._io import CURSOR, LIMIT, EnumParam, TextParam, json_response, read_body
from ._routing import Endpoint

__all__ = ["ENDPOINTS"]

COMPANY = TextParam("company_id", "Only this company (its runbooks include the global ones).")
APPROVAL_STATUS = EnumParam("status", "Only requests in this status.", ApprovalStatus)
YAML = "application/yaml"


class HealthCheckOut(msgspec.Struct, frozen=True):
    kind: str
    url: str | None
    expected_status: int
    command: str | None


class RunbookOut(msgspec.Struct, frozen=True):
    id: str
    name: str
    description: str
    signature: str
    risk: str
    actions: list[str]
    health_check: HealthCheckOut | None
    timeout_seconds: int
    company_id: str | None


class RunbookList(msgspec.Struct, frozen=True):
    items: list[RunbookOut]
    next_cursor: str | None = None


class ExecutionOut(msgspec.Struct, frozen=True):
    id: str
    company_id: str
    incident_id: str
    runbook_id: str
    status: str
    created_at: datetime
    requested_by: str
    approval_id: str | None
    executor: str
    command_id: str | None
    output: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    health_check_passed: bool | None


class ApprovalOut(msgspec.Struct, frozen=True):
    id: str
    company_id: str
    incident_id: str
    runbook_id: str
    risk: str
    requested_by: str
    status: str
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    notes: str


class ApprovalList(msgspec.Struct, frozen=True):
    items: list[ApprovalOut]
    next_cursor: str | None = None


class ExecuteOut(msgspec.Struct, frozen=True):
    """Exactly one of the two is set: the run started, or approval is needed first."""

    execution: ExecutionOut | None
    approval: ApprovalOut | None


class DecisionIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    notes: str = ""


def runbook_out(runbook: Runbook) -> RunbookOut:
    check = runbook.health_check
    return RunbookOut(
        id=runbook.id,
        name=runbook.name,
        description=runbook.description,
        signature=runbook.signature,
        risk=runbook.risk.value,
        actions=list(runbook.actions),
        health_check=None
        if check is None
        else HealthCheckOut(check.kind, check.url, check.expected_status, check.command),
        timeout_seconds=runbook.timeout_seconds,
        company_id=runbook.company_id,
    )


def execution_out(e: Execution) -> ExecutionOut:
    duration = (
        (e.finished_at - e.started_at).total_seconds()
        if e.started_at is not None and e.finished_at is not None
        else None
    )
    return ExecutionOut(
        id=e.id,
        company_id=e.company_id,
        incident_id=e.incident_id,
        runbook_id=e.runbook_id,
        status=e.status.value,
        created_at=e.created_at,
        requested_by=e.requested_by,
        approval_id=e.approval_id,
        executor=e.executor,
        command_id=e.command_id,
        output=e.output,
        started_at=e.started_at,
        finished_at=e.finished_at,
        duration_seconds=duration,
        health_check_passed=e.health_check_passed,
    )


def approval_out(a: ApprovalRequest) -> ApprovalOut:
    return ApprovalOut(
        id=a.id,
        company_id=a.company_id,
        incident_id=a.incident_id,
        runbook_id=a.runbook_id,
        risk=a.risk.value,
        requested_by=a.requested_by,
        status=a.status.value,
        created_at=a.created_at,
        expires_at=a.expires_at,
        decided_by=a.decided_by,
        decided_at=a.decided_at,
        notes=a.notes,
    )


async def runbooks_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    runbooks = await list_runbooks(app.services, actor, COMPANY.get(request))
    page = page_sorted(runbooks, _by_name, CURSOR.get(request), LIMIT.get(request))
    items = [runbook_out(r) for r in page.items]
    return json_response(RunbookList(items=items, next_cursor=page.next_cursor))


def _by_name(runbook: Runbook) -> tuple[str, str]:
    return runbook.name, runbook.id


async def runbooks_create(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    new = decode_command(await read_body(request), NewRunbook)
    return json_response(runbook_out(await create_runbook(app.services, actor, new)), 201)


async def runbooks_import(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    created = await import_runbooks(app.services, actor, load_runbooks(await read_body(request)))
    return json_response(RunbookList(items=[runbook_out(r) for r in created]), 201)


async def runbooks_export(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    runbooks = await list_runbooks(app.services, actor, COMPANY.get(request))
    return Response(dump_runbooks(runbooks), media_type=YAML)


async def runbooks_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    runbook = await get_runbook(app.services, actor, request.path_params["id"])
    return json_response(runbook_out(runbook))


async def runbooks_update(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    changes = decode_command(await read_body(request), RunbookChanges)
    runbook = await update_runbook(app.services, actor, request.path_params["id"], changes)
    return json_response(runbook_out(runbook))


async def runbooks_delete(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    await delete_runbook(app.services, actor, request.path_params["id"])
    return Response(status_code=204)


async def runbook_execute(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    result = await execute_runbook(
        app.services, actor, request.path_params["id"], request.path_params["runbook_id"]
    )
    if isinstance(result, ApprovalRequest):
        return json_response(ExecuteOut(execution=None, approval=approval_out(result)), 202)
    run = BackgroundTask(app.remediator.run, app.services, result.id)
    return json_response(ExecuteOut(execution=execution_out(result), approval=None), 202,
                         background=run)  # fmt: skip


async def executions_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    execution = await get_execution(app.services, actor, request.path_params["id"])
    return json_response(execution_out(execution))


async def approvals_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    page = await list_approvals(
        app.services,
        actor,
        COMPANY.get(request),
        APPROVAL_STATUS.get(request),
        CURSOR.get(request),
        LIMIT.get(request),
    )
    items = [approval_out(a) for a in page.items]
    return json_response(ApprovalList(items=items, next_cursor=page.next_cursor))


async def _decide(request: Request, approve: bool) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    body = await read_body(request)
    notes = decode_command(body, DecisionIn).notes if body.strip() else ""
    decided = await decide_approval(app.services, actor, request.path_params["id"], approve, notes)
    return json_response(approval_out(decided))


async def approvals_approve(request: Request) -> Response:
    return await _decide(request, True)


async def approvals_reject(request: Request) -> Response:
    return await _decide(request, False)


_DECISION = (
    "Medium risk: a company admin of the request's company or an MSP admin; high risk: an MSP "
    "admin only; never the requester. A request already decided, or past its expiry (1 hour), "
    'is 409 and nothing changes. The body ({"notes": ...}) is optional.'
)

ENDPOINTS = (
    Endpoint("GET", "/api/runbooks", runbooks_list, "List runbooks", "runbooks",
             query=(COMPANY, CURSOR, LIMIT), response=RunbookList),
    Endpoint("POST", "/api/runbooks", runbooks_create, "Create a runbook", "runbooks",
             body=NewRunbook, status=201, response=RunbookOut,
             description="MSP admins only. company_id null makes a global runbook."),
    Endpoint("POST", "/api/runbooks/import", runbooks_import,
             "Import runbooks from YAML (the guide's format)", "runbooks", status=201,
             response=RunbookList, errors=(400,),
             description="Body: YAML, one runbook per document (Name, Description, Signature, "
             "Risk Level, Actions, Health Checks, Timeout, Company). All or none are created."),
    Endpoint("GET", "/api/runbooks/export", runbooks_export,
             "Export runbooks as YAML (the guide's format)", "runbooks", query=(COMPANY,),
             media_types=(YAML,)),
    Endpoint("GET", "/api/runbooks/{id}", runbooks_get, "Show a runbook", "runbooks",
             response=RunbookOut),
    Endpoint("PATCH", "/api/runbooks/{id}", runbooks_update, "Change a runbook", "runbooks",
             body=RunbookChanges, response=RunbookOut),
    Endpoint("DELETE", "/api/runbooks/{id}", runbooks_delete, "Delete a runbook", "runbooks",
             status=204, media_types=()),
    Endpoint("POST", "/api/incidents/{id}/runbooks/{runbook_id}/execute", runbook_execute,
             "Run a runbook for an incident, or ask for approval", "remediation", status=202,
             response=ExecuteOut, errors=(409,),
             description="Low risk with the company's auto-approval on, outside maintenance "
             "windows, or with an approved request: the execution starts (status Pending). "
             "Otherwise an approval request is created (or the pending one returned)."),
    Endpoint("GET", "/api/executions/{id}", executions_get, "Show an execution", "remediation",
             response=ExecutionOut),
    Endpoint("GET", "/api/approvals", approvals_list, "List approval requests, newest first",
             "remediation", query=(COMPANY, APPROVAL_STATUS, CURSOR, LIMIT),
             response=ApprovalList),
    Endpoint("POST", "/api/approvals/{id}/approve", approvals_approve, "Approve a request",
             "remediation", body=DecisionIn, response=ApprovalOut, errors=(409,),
             description=_DECISION),
    Endpoint("POST", "/api/approvals/{id}/reject", approvals_reject, "Reject a request",
             "remediation", body=DecisionIn, response=ApprovalOut, errors=(409,),
             description=_DECISION),
)  # fmt: skip
