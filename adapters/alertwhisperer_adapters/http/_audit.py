"""``/api/audit`` (filtered pages and CSV / JSON Lines export), ``/api/kpis`` and its time
series ``/api/kpis/series``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from alertwhisperer_core import AuditEntry, ValidationError
from alertwhisperer_core.service import (
    AuditFilter,
    KpiFilter,
    KpiPeriod,
    KpiSeriesFilter,
    company_kpis,
    export_audit,
    kpi_series,
    list_audit,
)

from ._auth import authenticate
from ._context import app_services
from ._io import CURSOR, LIMIT, TextParam, TimeParam, json_response
from ._routing import Endpoint
from ._views import AuditPage, KpisOut, audit_out, kpis_out

__all__ = ["CSV_COLUMNS", "ENDPOINTS", "csv_cell"]

COMPANY = TextParam("company_id", "Only this company.")
ACTION = TextParam("action", "Only this action, e.g. config_changed.")
USER = TextParam("user_id", "Only entries by this user.")
SINCE = TimeParam("since", "From this time (inclusive).")
UNTIL = TimeParam("until", "Before this time (exclusive).")
FORMAT = TextParam("format", "csv or jsonl.")
BUCKET = TextParam("bucket", "hour (default) or day.")
KPI_SINCE = TimeParam("since", "Start of the period and of the first bucket (inclusive).")
KPI_UNTIL = TimeParam("until", "End of the period (exclusive); default now.")
CSV_COLUMNS = ("id", "timestamp", "user_id", "user_name", "action", "company_id", "details")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ENCODER = msgspec.json.Encoder()


def _filter(request: Request, *, paged: bool) -> AuditFilter:
    return AuditFilter(
        company_id=COMPANY.get(request),
        action=ACTION.get(request),
        user_id=USER.get(request),
        since=SINCE.get(request),
        until=UNTIL.get(request),
        cursor=CURSOR.get(request) if paged else None,
        limit=LIMIT.get(request) if paged else 50,
    )


async def audit_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    page = await list_audit(app.services, actor, _filter(request, paged=True))
    return json_response(
        AuditPage(items=[audit_out(e) for e in page.items], next_cursor=page.next_cursor)
    )


def csv_cell(value: str) -> str:
    """Neutralize spreadsheet formulas: a cell a user controls must not run when opened."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_row(entry: AuditEntry) -> str:
    out = io.StringIO()
    details = json.dumps(entry.details, sort_keys=True, default=str)
    csv.writer(out).writerow(
        [
            csv_cell(v)
            for v in (
                entry.id,
                entry.timestamp.isoformat(),
                entry.user_id or "",
                entry.user_name,
                entry.action,
                entry.company_id or "",
                details,
            )
        ]
    )
    return out.getvalue()


async def _csv(entries: AsyncIterator[AuditEntry]) -> AsyncIterator[bytes]:
    yield (",".join(CSV_COLUMNS) + "\r\n").encode()
    async for entry in entries:
        yield _csv_row(entry).encode()


async def _jsonl(entries: AsyncIterator[AuditEntry]) -> AsyncIterator[bytes]:
    async for entry in entries:
        yield _ENCODER.encode(audit_out(entry)) + b"\n"


async def audit_export(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    kind = FORMAT.get(request) or "csv"
    if kind not in ("csv", "jsonl"):
        raise ValidationError.for_field("format", "must be csv or jsonl")
    entries = await export_audit(app.services, actor, _filter(request, paged=False))
    if kind == "csv":
        body, media, suffix = _csv(entries), "text/csv; charset=utf-8", "csv"
    else:
        body, media, suffix = _jsonl(entries), "application/x-ndjson", "jsonl"
    return StreamingResponse(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="audit.{suffix}"',
        },
    )


class KpiSeriesOut(msgspec.Struct, frozen=True):
    """The KPIs of the whole period (``total``, as ``GET /api/kpis`` answers it) and of each
    bucket; a bucket's ``patch_compliance`` is null (it is a current state, not a series)."""

    company_id: str | None
    bucket: str
    since: datetime
    until: datetime
    total: KpisOut
    items: list[KpisOut]


async def kpis_series(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    company_id = COMPANY.get(request)
    query = KpiSeriesFilter(
        company_id=company_id,
        bucket=BUCKET.get(request) or "hour",
        since=KPI_SINCE.get(request),
        until=KPI_UNTIL.get(request),
    )
    series = await kpi_series(app.services, actor, query)
    total = series.total
    items = [
        kpis_out(KpiPeriod(b.report, b.since, b.until, total.company_ids), company_id)
        for b in series.buckets
    ]
    return json_response(
        KpiSeriesOut(
            company_id=company_id,
            bucket=series.bucket,
            since=total.since,
            until=total.until,
            total=kpis_out(total, company_id),
            items=items,
        )
    )


async def kpis_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    company_id = COMPANY.get(request)
    query = KpiFilter(company_id=company_id, since=SINCE.get(request), until=UNTIL.get(request))
    period = await company_kpis(app.services, actor, query)
    return json_response(kpis_out(period, company_id))


ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/audit",
        audit_list,
        "Audit log, newest first",
        "audit",
        query=(COMPANY, ACTION, USER, SINCE, UNTIL, CURSOR, LIMIT),
        response=AuditPage,
    ),
    Endpoint(
        "GET",
        "/api/audit/export",
        audit_export,
        "Export the audit log",
        "audit",
        query=(FORMAT, COMPANY, ACTION, USER, SINCE, UNTIL),
        media_types=("text/csv", "application/x-ndjson"),
        description="Every matching entry, streamed: CSV (details as JSON in one column; "
        "cells that would start a spreadsheet formula are prefixed with ') or JSON Lines.",
    ),
    Endpoint(
        "GET",
        "/api/kpis",
        kpis_get,
        "KPIs over a period",
        "kpis",
        query=(COMPANY, SINCE, UNTIL),
        response=KpisOut,
        description="Noise reduction, self-healed %, MTTR (overall, auto, manual) and "
        "patch compliance with their bands. The period defaults to the last 30 days.",
    ),
    Endpoint(
        "GET",
        "/api/kpis/series",
        kpis_series,
        "KPIs per hour or day over a period",
        "kpis",
        query=(COMPANY, BUCKET, KPI_SINCE, KPI_UNTIL),
        response=KpiSeriesOut,
        description="One request for a chart: the period's KPIs and those of each bucket, "
        "computed from one grouped count of alerts and one read of incidents. Buckets start "
        "at since (default: 24 hours or 30 days before until) and are an hour or a day wide, "
        "the last one cut at until; at most 1000 buckets.",
    ),
)
