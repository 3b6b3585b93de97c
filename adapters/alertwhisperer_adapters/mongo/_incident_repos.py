"""Alert and incident repositories: the correlation hot path.

Membership order: each alert of an incident carries ``member_seq``, its position among the
incident's alerts, taken from a per-incident counter in the same transaction. New alerts take
the next positions; alerts moved by a merge take fresh positions after the target's own, in
their old order, so ``ids_for_incident`` keeps the in-memory store's order. A counter per
incident (rather than one for all alerts) means two transactions only ever contend for a
counter when they correlate the same key, which they serialize on anyway.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pymongo import UpdateOne

from alertwhisperer_core import Alert, AlertStatus, Incident, IncidentStatus, Severity
from alertwhisperer_core.ports import AlertQuery, IncidentQuery, Page

from . import _schema as s
from ._codec import alert_from_doc, incident_from_doc, micros
from ._queries import after_cursor, all_of, contains, next_cursor, visible, within

if TYPE_CHECKING:
    from ._uow import MongoUnitOfWork

__all__ = ["MongoAlerts", "MongoIncidents", "key_lock_id"]

_NEWEST_ALERTS = [("received_at", -1), ("_id", -1)]
_NEWEST_INCIDENTS = [("last_event_at", -1), ("_id", -1)]
_BY_START = [("first_event_at", 1), ("_id", 1)]


def key_lock_id(company_id: str, key: str) -> str:
    """The lock document id of one company's aggregation key.

    The company id's length leads, so no two (company, key) pairs give the same text.
    """
    return f"{len(company_id)}:{company_id}|{key}"


class MongoAlerts:
    def __init__(self, uow: MongoUnitOfWork) -> None:
        self.uow = uow

    async def add(self, alert: Alert, incident_id: str | None) -> None:
        self.uow.buffer_alert(alert, incident_id)

    async def reassign(self, from_incident_id: str, to_incident_id: str) -> None:
        moved = await self.ids_for_incident(from_incident_id)
        if not moved:
            return
        position = (await self.uow.reserve_members({to_incident_id: len(moved)}))[to_incident_id]
        ops = [
            UpdateOne(
                {"_id": alert_id},
                {"$set": {"incident_id": to_incident_id, "member_seq": position + n}},
            )
            for n, alert_id in enumerate(moved, start=1)
        ]
        await self.uow.write(self.uow.collection(s.ALERTS).bulk_write, ops, ordered=True)

    async def get(self, alert_id: str) -> tuple[Alert, str | None] | None:
        await self.uow.flush_alerts()
        doc = await self.uow.find_one(s.ALERTS, {"_id": alert_id})
        return None if doc is None else alert_from_doc(doc)

    async def ids_for_incident(self, incident_id: str) -> builtins.list[str]:
        await self.uow.flush_alerts()
        docs = await self.uow.find(
            s.ALERTS,
            {"incident_id": incident_id},
            sort=[("member_seq", 1)],
            projection={"_id": 1},
        )
        return [doc["_id"] for doc in docs]

    @staticmethod
    def _where(query: AlertQuery, *more: dict[str, Any]) -> dict[str, Any]:
        clauses: dict[str, str] = {}
        if query.incident_id is not None:
            clauses["incident_id"] = query.incident_id
        if query.severity is not None:
            clauses["severity"] = query.severity.value
        if query.status is not None:
            clauses["status"] = str(query.status)
        return all_of(
            visible("company_id", query.company_ids),
            clauses,
            within("event_time", query.since, query.until),
            contains(query.q.lower(), "message_lc", "signature_lc") if query.q else {},
            *more,
        )

    async def list(self, query: AlertQuery) -> Page[tuple[Alert, str | None]]:
        await self.uow.flush_alerts()
        where = self._where(query, after_cursor(query.cursor, "received_at") or {})
        limit = max(query.limit, 0)
        docs = await self.uow.find(s.ALERTS, where, sort=_NEWEST_ALERTS, limit=limit + 1)
        page = tuple(alert_from_doc(d) for d in docs[:limit])
        return Page(page, next_cursor(docs, limit, "received_at"))

    async def count(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> int:
        await self.uow.flush_alerts()
        where = all_of(visible("company_id", company_ids), within("event_time", since, until))
        return await self.uow.read(self.uow.collection(s.ALERTS).count_documents, where)

    async def count_groups(self, query: AlertQuery) -> Mapping[tuple[Severity, AlertStatus], int]:
        await self.uow.flush_alerts()
        rows = await self.uow.aggregate(s.ALERTS, _grouped(self._where(query)))
        return {
            (Severity(row["_id"]["severity"]), AlertStatus(row["_id"]["status"])): row["n"]
            for row in rows
        }

    async def count_buckets(
        self,
        company_ids: frozenset[str] | None,
        since: datetime,
        until: datetime | None,
        width: timedelta,
    ) -> Mapping[int, int]:
        await self.uow.flush_alerts()
        where = all_of(visible("company_id", company_ids), within("event_time", since, until))
        # Integer arithmetic on the stored microseconds: (t - since) minus its remainder,
        # divided by the width, is exact (a double's floor could round at an edge).
        offset = {"$subtract": ["$event_time", micros(since)]}
        step = width // timedelta(microseconds=1)
        index = {"$divide": [{"$subtract": [offset, {"$mod": [offset, step]}]}, step]}
        pipeline: builtins.list[dict[str, Any]] = [
            {"$match": where},
            {"$group": {"_id": index, "n": {"$sum": 1}}},
        ]
        return {int(row["_id"]): row["n"] for row in await self.uow.aggregate(s.ALERTS, pipeline)}


def _grouped(where: dict[str, Any]) -> builtins.list[dict[str, Any]]:
    """Count the matching documents per severity and status."""
    return [
        {"$match": where},
        {"$group": {"_id": {"severity": "$severity", "status": "$status"}, "n": {"$sum": 1}}},
    ]


class MongoIncidents:
    def __init__(self, uow: MongoUnitOfWork) -> None:
        self.uow = uow

    async def get(self, incident_id: str) -> Incident | None:
        pending = self.uow.pending_incidents.get(incident_id)
        if pending is not None:
            return pending
        doc = await self.uow.find_one(s.INCIDENTS, {"_id": incident_id})
        return None if doc is None else incident_from_doc(doc)

    async def add(self, incident: Incident) -> None:
        self.uow.buffer_incident(incident)

    async def update(self, incident: Incident) -> None:
        self.uow.buffer_incident(incident)

    async def lock_key(self, company_id: str, key: str) -> None:
        await self.uow.lock_key(key_lock_id(company_id, key))

    async def _open(self, company_id: str, key: str, **ranges: object) -> builtins.list[Incident]:
        await self.uow.flush_incidents()
        where = {"company_id": company_id, "key": key, "is_open": True, **ranges}
        docs = await self.uow.find(s.INCIDENTS, where, sort=_BY_START)
        return [incident_from_doc(d) for d in docs]

    async def open_sessions(
        self, company_id: str, key: str, lo: datetime, hi: datetime
    ) -> builtins.list[Incident]:
        return await self._open(
            company_id,
            key,
            first_event_at={"$lte": micros(hi)},
            last_event_at={"$gte": micros(lo)},
        )

    async def open_for_key(self, company_id: str, key: str) -> builtins.list[Incident]:
        return await self._open(company_id, key)

    async def open_sessions_of_keys(
        self, company_id: str, ranges: Mapping[str, tuple[datetime, datetime] | None]
    ) -> Mapping[str, builtins.list[Incident]]:
        # One query for every key: ranged keys over the union of their ranges (a batch's
        # alerts are close in time), then each key's own range applied here.
        found: dict[str, builtins.list[Incident]] = {key: [] for key in ranges}
        spans = [span for span in ranges.values() if span is not None]
        where: dict[str, Any] = {"company_id": company_id, "key": {"$in": builtins.list(ranges)}}
        if len(spans) == len(ranges) and spans:
            where["first_event_at"] = {"$lte": micros(max(hi for _, hi in spans))}
            where["last_event_at"] = {"$gte": micros(min(lo for lo, _ in spans))}
        if ranges:
            await self.uow.flush_incidents()
            docs = await self.uow.find(s.INCIDENTS, {**where, "is_open": True}, sort=_BY_START)
            for incident in map(incident_from_doc, docs):
                span = ranges[incident.key]
                if span is None or (
                    incident.last_event_at >= span[0] and incident.first_event_at <= span[1]
                ):
                    found[incident.key].append(incident)
        return found

    async def open_counts(self, user_ids: Sequence[str]) -> Mapping[str, int]:
        counts = dict.fromkeys(user_ids, 0)
        if not counts:
            return counts
        await self.uow.flush_incidents()
        pipeline: builtins.list[dict[str, Any]] = [
            {"$match": {"is_open": True, "assigned_to": {"$in": builtins.list(counts)}}},
            {"$group": {"_id": "$assigned_to", "n": {"$sum": 1}}},
        ]
        for row in await self.uow.aggregate(s.INCIDENTS, pipeline):
            counts[row["_id"]] = row["n"]
        return counts

    async def last_assignee(self, company_id: str) -> str | None:
        await self.uow.flush_incidents()
        doc = await self.uow.find_one(
            s.INCIDENTS,
            {"company_id": company_id, "assigned_to": {"$ne": None}},
            # The latest assignment wins; on a tie, the incident stored first.
            sort=[("last_assigned_at", -1), ("seq", 1)],
        )
        return None if doc is None else doc["assigned_to"]

    @staticmethod
    def _where(query: IncidentQuery, *more: dict[str, Any]) -> dict[str, Any]:
        clauses: list[dict[str, object]] = [{"merged_into": None}]
        if not query.include_pending:
            clauses.append({"status": {"$ne": IncidentStatus.PENDING.value}})
        if query.status is not None:
            clauses.append({"status": query.status.value})
        if query.severity is not None:
            clauses.append({"severity": query.severity.value})
        if query.assigned_to is not None:
            clauses.append({"assigned_to": query.assigned_to})
        return all_of(
            visible("company_id", query.company_ids),
            *clauses,
            within("last_event_at", query.since, query.until),
            contains(query.q.lower(), "signature_lc", "asset_name_lc") if query.q else {},
            *more,
        )

    async def list(self, query: IncidentQuery) -> Page[Incident]:
        await self.uow.flush_incidents()
        where = self._where(query, after_cursor(query.cursor, "last_event_at") or {})
        limit = max(query.limit, 0)
        docs = await self.uow.find(s.INCIDENTS, where, sort=_NEWEST_INCIDENTS, limit=limit + 1)
        page = tuple(incident_from_doc(d) for d in docs[:limit])
        return Page(page, next_cursor(docs, limit, "last_event_at"))

    async def all_in_period(
        self, company_ids: frozenset[str] | None, since: datetime | None, until: datetime | None
    ) -> builtins.list[Incident]:
        await self.uow.flush_incidents()
        where = all_of(visible("company_id", company_ids), within("first_event_at", since, until))
        docs = await self.uow.find(s.INCIDENTS, where, sort=[("seq", 1)])
        return [incident_from_doc(d) for d in docs]

    async def count_groups(
        self, query: IncidentQuery
    ) -> Mapping[tuple[Severity, IncidentStatus], int]:
        await self.uow.flush_incidents()
        rows = await self.uow.aggregate(s.INCIDENTS, _grouped(self._where(query)))
        return {
            (Severity(row["_id"]["severity"]), IncidentStatus(row["_id"]["status"])): row["n"]
            for row in rows
        }
