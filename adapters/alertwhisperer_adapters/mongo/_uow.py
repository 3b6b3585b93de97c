"""One MongoDB multi-document transaction behind the core's
:class:`~alertwhisperer_core.ports.UnitOfWork`.

- The transaction begins at the first write or key lock, not before: reads before that run in
  the unit of work's session outside a transaction and see the latest committed data (what
  the SQL adapter's READ COMMITTED reads see), and a read-only unit of work costs no
  ``commitTransaction`` or ``abortTransaction`` round trip.
- Inside it, reads see one snapshot (``readConcern: snapshot``) plus the transaction's own
  writes, and the commit waits for a majority of the replica set.
- A write to a document another live transaction wrote, or that changed since this
  transaction's snapshot, fails at once with a write conflict: the error becomes
  :class:`~alertwhisperer_core.ports.TransientConflict` (in :mod:`._errors`) and the use case
  runs the unit of work again, after a short random pause taken here on the way out.
- Writes nothing reads back before the end of the unit of work (new alerts, incident upserts,
  audit entries) are buffered and sent as one bulk write per collection before the next read
  of that collection, or at commit.
- Leaving the block without :meth:`commit` aborts the transaction. Nothing is written outside
  one.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import InvalidOperation, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from alertwhisperer_core import Alert, AuditEntry, Incident
from alertwhisperer_core.ports import (
    AlertRepository,
    ApprovalRepository,
    AssetRepository,
    AuditLog,
    ChatRepository,
    CompanyRepository,
    ComplianceRepository,
    DeliveryRepository,
    ExecutionRepository,
    IncidentRepository,
    LoginAttemptRepository,
    NotificationRepository,
    RunbookRepository,
    TokenRepository,
    TransientConflict,
    UserRepository,
)

from . import _schema as s
from ._chat import MongoChat
from ._codec import Doc, alert_doc, audit_doc, incident_doc
from ._compliance import MongoCompliance
from ._errors import mongo_errors
from ._incident_repos import MongoAlerts, MongoIncidents
from ._notifications import MongoNotifications
from ._repositories import (
    MongoApprovals,
    MongoAssets,
    MongoAudit,
    MongoCompanies,
    MongoDeliveries,
    MongoExecutions,
    MongoLoginAttempts,
    MongoRunbooks,
    MongoTokens,
    MongoUsers,
)

if TYPE_CHECKING:
    from ._store import MongoStore

__all__ = ["MongoUnitOfWork"]

T = TypeVar("T")
_READ_CONCERN = ReadConcern("snapshot")
_WRITE_CONCERN = WriteConcern("majority")
_COMMIT_ATTEMPTS = 3
_UNKNOWN_COMMIT = "UnknownTransactionCommitResult"


class MongoUnitOfWork:
    """A transaction over every repository; use as ``async with store() as uow``."""

    def __init__(self, store: MongoStore) -> None:
        self.store = store
        self._session: AsyncClientSession | None = None
        self.locked_keys: set[str] = set()
        self._pending_alerts: list[tuple[Alert, str | None]] = []
        # Latest version per incident id; a dict keeps first-write order, the insertion order.
        self.pending_incidents: dict[str, Incident] = {}
        self._pending_audit: list[AuditEntry] = []
        # Typed as the ports, so mypy checks each repository against its protocol.
        self.companies: CompanyRepository = MongoCompanies(self)
        self.assets: AssetRepository = MongoAssets(self)
        self.alerts: AlertRepository = MongoAlerts(self)
        self.incidents: IncidentRepository = MongoIncidents(self)
        self.deliveries: DeliveryRepository = MongoDeliveries(self)
        self.users: UserRepository = MongoUsers(self)
        self.runbooks: RunbookRepository = MongoRunbooks(self)
        self.approvals: ApprovalRepository = MongoApprovals(self)
        self.executions: ExecutionRepository = MongoExecutions(self)
        self.audit: AuditLog = MongoAudit(self)
        self.tokens: TokenRepository = MongoTokens(self)
        self.login_attempts: LoginAttemptRepository = MongoLoginAttempts(self)
        self.notifications: NotificationRepository = MongoNotifications(self)
        self.compliance: ComplianceRepository = MongoCompliance(self)
        self.chat: ChatRepository = MongoChat(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            session, self._session = self._session, None
            if session is not None:
                await session.end_session()
        if isinstance(exc, TransientConflict):
            # MongoDB does not queue the loser of a race: pause (growing, jittered) so the
            # winner can commit before the use case tries again.
            await self.store.pause_after_conflict()

    # --- the session and the transaction -------------------------------------------------------

    def collection(self, name: str) -> AsyncCollection[Doc]:
        return self.store.db[name]

    def _current(self) -> AsyncClientSession:
        if self._session is None:
            self._session = self.store.client.start_session()
        return self._session

    async def _in_transaction(self) -> AsyncClientSession:
        session = self._current()
        if not session.in_transaction:
            # Client-side only: the first operation carries ``startTransaction``.
            await session.start_transaction(
                read_concern=_READ_CONCERN, write_concern=_WRITE_CONCERN
            )
        return session

    async def read(self, op: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run a read in this unit of work (inside its transaction once one has begun)."""
        session = self._current()
        with mongo_errors():
            return await op(*args, session=session, **kwargs)

    async def write(self, op: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run a write inside this unit of work's transaction, beginning it if need be."""
        session = await self._in_transaction()
        with mongo_errors():
            return await op(*args, session=session, **kwargs)

    async def find(
        self,
        collection: str,
        query: Mapping[str, Any],
        *,
        sort: Sequence[tuple[str, int]] | None = None,
        limit: int = 0,
        projection: Mapping[str, Any] | None = None,
        locked: bool = False,
    ) -> list[Doc]:
        """The matching documents (``locked``: inside the transaction, begun if need be)."""
        session = await self._in_transaction() if locked else self._current()
        with mongo_errors():
            cursor = self.collection(collection).find(
                query, projection, sort=sort, limit=limit, session=session
            )
            return await cursor.to_list()

    async def aggregate(self, collection: str, pipeline: Sequence[Mapping[str, Any]]) -> list[Doc]:
        session = self._current()
        with mongo_errors():
            cursor = await self.collection(collection).aggregate(pipeline, session=session)
            return await cursor.to_list()

    async def find_one(
        self, collection: str, query: Mapping[str, Any], *, sort: Sequence[tuple[str, int]] = ()
    ) -> Doc | None:
        found = await self.find(collection, query, sort=list(sort) or None, limit=1)
        return found[0] if found else None

    async def lock_key(self, lock_id: str) -> None:
        """Hold ``lock_id`` until the transaction ends, by writing its lock document.

        Any other transaction that wrote it since this one's snapshot, or writes it before
        this one ends, hits a write conflict: correlation of one key is serialized.
        """
        if lock_id in self.locked_keys:
            return
        await self.write(
            self.collection(s.KEY_LOCKS).update_one,
            {"_id": lock_id},
            {"$inc": {"n": 1}, "$currentDate": {"touched_at": True}},
            upsert=True,
        )
        self.locked_keys.add(lock_id)

    # --- buffered writes ---------------------------------------------------------------------

    def buffer_alert(self, alert: Alert, incident_id: str | None) -> None:
        self._pending_alerts.append((alert, incident_id))

    def buffer_incident(self, incident: Incident) -> None:
        self.pending_incidents[incident.id] = incident

    def buffer_audit(self, entry: AuditEntry) -> None:
        self._pending_audit.append(entry)

    async def reserve_members(self, counts: Mapping[str, int]) -> dict[str, int]:
        """Take ``counts[i]`` positions among incident ``i``'s alerts; returns, per incident,
        the position before the first one taken (positions count from 1)."""
        members = self.collection(s.MEMBERS)
        if len(counts) == 1:
            ((incident_id, n),) = counts.items()
            after = await self.write(
                members.find_one_and_update,
                {"_id": incident_id},
                {"$inc": {"n": n}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            assert after is not None  # an upsert returning the document after it
            return {incident_id: after["n"] - n}
        if not counts:
            return {}
        ops = [UpdateOne({"_id": i}, {"$inc": {"n": n}}, upsert=True) for i, n in counts.items()]
        await self.write(members.bulk_write, ops, ordered=False)
        # Read back inside the transaction: its own increments, on the snapshot it holds.
        found = await self.find(s.MEMBERS, {"_id": {"$in": list(counts)}}, locked=True)
        return {doc["_id"]: doc["n"] - counts[doc["_id"]] for doc in found}

    async def flush_alerts(self) -> None:
        if not self._pending_alerts:
            return
        rows, self._pending_alerts = self._pending_alerts, []
        counts = Counter(incident_id for _, incident_id in rows if incident_id is not None)
        position = await self.reserve_members(counts)
        docs = []
        for alert, incident_id in rows:
            seq = None
            if incident_id is not None:
                seq = position[incident_id] = position[incident_id] + 1
            docs.append(alert_doc(alert, incident_id, seq))
        await self.write(self.collection(s.ALERTS).insert_many, docs, ordered=True)

    async def flush_incidents(self) -> None:
        if not self.pending_incidents:
            return
        pending, self.pending_incidents = self.pending_incidents, {}
        first = self.store.sequence.take(len(pending))
        ops = [
            UpdateOne(
                {"_id": incident.id},
                # ``seq`` is the storage rank: set on insert only, so updates keep it.
                {"$set": incident_doc(incident), "$setOnInsert": {"seq": first + n}},
                upsert=True,
            )
            for n, incident in enumerate(pending.values())
        ]
        await self.write(self.collection(s.INCIDENTS).bulk_write, ops, ordered=True)

    async def flush_audit(self) -> None:
        if not self._pending_audit:
            return
        docs = [audit_doc(e) for e in self._pending_audit]
        self._pending_audit = []
        await self.write(self.collection(s.AUDIT).insert_many, docs, ordered=True)

    async def flush(self) -> None:
        await self.flush_incidents()
        await self.flush_alerts()
        await self.flush_audit()

    # --- the transaction -----------------------------------------------------------------------

    async def commit(self) -> None:
        """Make everything written so far durable, atomically."""
        await self.flush()
        session = self._session
        if session is not None and session.in_transaction:
            for attempt in range(1, _COMMIT_ATTEMPTS + 1):
                try:
                    with mongo_errors():
                        await session.commit_transaction()
                    break
                except PyMongoError as error:
                    # The commit may or may not have happened: committing again is safe.
                    if not error.has_error_label(_UNKNOWN_COMMIT) or attempt == _COMMIT_ATTEMPTS:
                        raise
            self.store.note_commit()
        self._after_transaction()

    async def rollback(self) -> None:
        """Forget everything written since the last commit."""
        self._after_transaction()
        session = self._session
        if session is not None and session.in_transaction:
            # InvalidOperation: a failed commit already ended it.
            with contextlib.suppress(InvalidOperation):
                await session.abort_transaction()

    def _after_transaction(self) -> None:
        self.locked_keys.clear()
        self._pending_alerts.clear()
        self.pending_incidents.clear()
        self._pending_audit.clear()
