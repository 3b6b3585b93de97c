"""``/api/alerts`` and ``/api/incidents``: lists with filters, counts, one incident, changes,
notes, and an incident's runbook executions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import AlertStatus, IncidentStatus, Severity
from alertwhisperer_core.service import (
    AlertFilter,
    IncidentChanges,
    IncidentFilter,
    NewNote,
    add_incident_note,
    count_alerts,
    count_incidents,
    decode_command,
    get_incident,
    list_alerts,
    list_incident_executions,
    list_incidents,
    update_incident,
)

from ._auth import authenticate
from ._context import app_services
from ._io import CURSOR, LIMIT, EnumParam, TextParam, TimeParam, json_response, read_body
from ._remediation import ExecutionOut, execution_out
from ._routing import Endpoint
from ._views import AlertPage, IncidentOut, IncidentPage, alert_out, incident_out

__all__ = ["ENDPOINTS"]

COMPANY = TextParam("company_id", "Only this company.")
SEVERITY = EnumParam("severity", "Only this severity.", Severity)
Q = TextParam("q", "Full-text search (case-insensitive) on signature and message or asset.")
SINCE = TimeParam("since", "From this time (inclusive), ISO 8601 with zone.")
UNTIL = TimeParam("until", "Before this time (exclusive), ISO 8601 with zone.")
ALERT_STATUS = EnumParam("status", "Only alerts in this status.", AlertStatus)
INCIDENT = TextParam("incident_id", "Only alerts of this incident.")
INCIDENT_STATUS = EnumParam("status", "Only incidents in this status.", IncidentStatus)
ASSIGNED = TextParam("assigned_to", "Only incidents assigned to this user id.")
SORT = TextParam("sort", "priority (default, highest first) or recent (latest activity first).")


class AlertCountsOut(msgspec.Struct, frozen=True):
    """Every severity and status is present (0 when none match)."""

    total: int
    by_severity: dict[str, int]
    by_status: dict[str, int]


class IncidentCountsOut(msgspec.Struct, frozen=True):
    """Every severity and listed status (new, in_progress, resolved) is present."""

    total: int
    by_severity: dict[str, int]
    by_status: dict[str, int]


class ExecutionPage(msgspec.Struct, frozen=True):
    items: list[ExecutionOut]
    next_cursor: str | None = None


def _by_value(counts: Mapping[Any, int]) -> dict[str, int]:
    return {key.value: n for key, n in counts.items()}


def _alert_filter(request: Request, *, paged: bool) -> AlertFilter:
    return AlertFilter(
        company_id=COMPANY.get(request),
        incident_id=INCIDENT.get(request),
        severity=SEVERITY.get(request),
        status=ALERT_STATUS.get(request),
        q=Q.get(request),
        since=SINCE.get(request),
        until=UNTIL.get(request),
        cursor=CURSOR.get(request) if paged else None,
        limit=LIMIT.get(request) if paged else LIMIT.default,
    )


def _incident_filter(request: Request, *, paged: bool) -> IncidentFilter:
    return IncidentFilter(
        company_id=COMPANY.get(request),
        status=INCIDENT_STATUS.get(request),
        severity=SEVERITY.get(request),
        assigned_to=ASSIGNED.get(request),
        q=Q.get(request),
        since=SINCE.get(request),
        until=UNTIL.get(request),
        sort=(SORT.get(request) or "priority") if paged else "priority",
        cursor=CURSOR.get(request) if paged else None,
        limit=LIMIT.get(request) if paged else LIMIT.default,
    )


async def alerts_counts(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    counts = await count_alerts(app.services, actor, _alert_filter(request, paged=False))
    return json_response(
        AlertCountsOut(counts.total, _by_value(counts.by_severity), _by_value(counts.by_status))
    )


async def incidents_counts(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    counts = await count_incidents(app.services, actor, _incident_filter(request, paged=False))
    return json_response(
        IncidentCountsOut(counts.total, _by_value(counts.by_severity), _by_value(counts.by_status))
    )


async def incident_executions_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    page = await list_incident_executions(
        app.services, actor, request.path_params["id"], CURSOR.get(request), LIMIT.get(request)
    )
    return json_response(
        ExecutionPage(items=[execution_out(e) for e in page.items], next_cursor=page.next_cursor)
    )


async def alerts_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    query = _alert_filter(request, paged=True)
    page = await list_alerts(app.services, actor, query)
    return json_response(
        AlertPage(
            items=[alert_out(a, incident_id) for a, incident_id in page.items],
            next_cursor=page.next_cursor,
        )
    )


async def incidents_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    query = _incident_filter(request, paged=True)
    page = await list_incidents(app.services, actor, query)
    return json_response(
        IncidentPage(items=[incident_out(v) for v in page.items], next_cursor=page.next_cursor)
    )


async def incidents_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    view = await get_incident(app.services, actor, request.path_params["id"])
    return json_response(incident_out(view))


async def incidents_update(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    changes = decode_command(await read_body(request), IncidentChanges)
    view = await update_incident(app.services, actor, request.path_params["id"], changes)
    return json_response(incident_out(view))


async def incident_notes_create(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    note = decode_command(await read_body(request), NewNote)
    view = await add_incident_note(app.services, actor, request.path_params["id"], note)
    return json_response(incident_out(view), 201)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/alerts",
        alerts_list,
        "List alerts, newest first",
        "alerts",
        query=(COMPANY, INCIDENT, SEVERITY, ALERT_STATUS, Q, SINCE, UNTIL, CURSOR, LIMIT),
        response=AlertPage,
    ),
    Endpoint(
        "GET",
        "/api/incidents",
        incidents_list,
        "List incidents, by priority",
        "incidents",
        query=(COMPANY, INCIDENT_STATUS, SEVERITY, ASSIGNED, Q, SINCE, UNTIL, SORT, CURSOR, LIMIT),
        response=IncidentPage,
    ),
    Endpoint(
        "GET",
        "/api/alerts/counts",
        alerts_counts,
        "Count alerts per severity and status",
        "alerts",
        query=(COMPANY, INCIDENT, SEVERITY, ALERT_STATUS, Q, SINCE, UNTIL),
        response=AlertCountsOut,
        description="How many alerts match the list's filters, counted by the database: "
        "the total, and per severity and status (every value present, 0 when none).",
    ),
    # Before /api/incidents/{id}, which would otherwise take "counts" for an id.
    Endpoint(
        "GET",
        "/api/incidents/counts",
        incidents_counts,
        "Count incidents per severity and status",
        "incidents",
        query=(COMPANY, INCIDENT_STATUS, SEVERITY, ASSIGNED, Q, SINCE, UNTIL),
        response=IncidentCountsOut,
        description="How many incidents the list would show for these filters, counted by "
        "the database: the total, and per severity and status (new, in_progress, resolved).",
    ),
    Endpoint(
        "GET",
        "/api/incidents/{id}/executions",
        incident_executions_list,
        "List an incident's runbook executions, newest first",
        "remediation",
        query=(CURSOR, LIMIT),
        response=ExecutionPage,
    ),
    Endpoint(
        "GET",
        "/api/incidents/{id}",
        incidents_get,
        "Show an incident",
        "incidents",
        response=IncidentOut,
    ),
    Endpoint(
        "PATCH",
        "/api/incidents/{id}",
        incidents_update,
        "Change an incident's status or assignee",
        "incidents",
        body=IncidentChanges,
        response=IncidentOut,
        errors=(409,),
        description="Status moves follow the incident lifecycle (new -> in_progress -> "
        "resolved, in_progress -> new); others are 409. assigned_to null unassigns.",
    ),
    Endpoint(
        "POST",
        "/api/incidents/{id}/notes",
        incident_notes_create,
        "Add a note",
        "incidents",
        body=NewNote,
        status=201,
        response=IncidentOut,
    ),
)
