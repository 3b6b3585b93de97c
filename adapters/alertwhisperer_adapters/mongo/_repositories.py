"""MongoDB implementations of the core's repository ports (besides alerts and incidents).

They behave exactly like :mod:`alertwhisperer_core.memory`'s and the SQL adapter's: the same
filters, the same sort orders (newest first, ties broken by id compared byte-wise, which is
MongoDB's default string order), the same keyset cursors, the same errors. Small lists the
in-memory store sorts in Python (companies, users, runbooks) are sorted here in Python too,
with the same key, so ties come out identically.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.errors import PyMongoError

from alertwhisperer_core import (
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    AuditEntry,
    AwsCredentials,
    Company,
    Conflict,
    Execution,
    ExecutionStatus,
    Runbook,
    User,
)
from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.ports import AuditQuery, AuthToken, DuplicateDelivery, LoginAttempts, Page

from . import _codec as c
from . import _schema as s
from ._errors import is_duplicate_key
from ._queries import after_cursor, all_of, next_cursor, visible, within

if TYPE_CHECKING:
    from ._uow import MongoUnitOfWork

__all__ = [
    "MongoApprovals",
    "MongoAssets",
    "MongoAudit",
    "MongoCompanies",
    "MongoDeliveries",
    "MongoExecutions",
    "MongoLoginAttempts",
    "MongoRunbooks",
    "MongoTokens",
    "MongoUsers",
]


class _Repo:
    collection = ""

    def __init__(self, uow: MongoUnitOfWork) -> None:
        self.uow = uow

    async def _one(self, query: dict[str, Any], sort: Sequence[tuple[str, int]] = ()) -> Any:
        return await self.uow.find_one(self.collection, query, sort=sort)

    async def _replace(self, doc: c.Doc) -> None:
        coll = self.uow.collection(self.collection)
        await self.uow.write(coll.replace_one, {"_id": doc["_id"]}, doc, upsert=True)

    async def _delete(self, query: dict[str, Any]) -> int:
        coll = self.uow.collection(self.collection)
        result = await self.uow.write(coll.delete_many, query)
        return int(result.deleted_count)


# --- companies -------------------------------------------------------------------------------


def _missing_key() -> Exception:
    from ..sql._crypto import SecretStorageError

    return SecretStorageError(
        "refusing to store HMAC secrets unencrypted: open the MongoDB store with a "
        "secret_key (AW_SECRET_KEY) to enable HMAC"
    )


class MongoCompanies(_Repo):
    collection = s.COMPANIES

    async def get(self, company_id: str) -> Company | None:
        doc = await self._one({"_id": company_id})
        return None if doc is None else c.company_from_doc(doc)

    async def by_api_key_hash(self, api_key_hash: str) -> Company | None:
        if not api_key_hash:
            return None  # a company without an API key is never found by one
        doc = await self._one({"api_key_hash": api_key_hash})
        return None if doc is None else c.company_from_doc(doc)

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Company]:
        docs = await self.uow.find(self.collection, visible("_id", company_ids))
        return sorted(map(c.company_from_doc, docs), key=lambda co: (co.name, co.id))

    async def _put(self, company: Company) -> None:
        try:
            await self._replace(c.company_doc(company))
        except PyMongoError as error:
            if is_duplicate_key(error):
                raise Conflict("another company already has this API key") from None
            raise

    async def add(self, company: Company) -> None:
        await self._put(company)

    async def update(self, company: Company) -> None:
        await self._put(company)

    async def delete(self, company_id: str) -> None:
        await self._delete({"_id": company_id})
        secrets = self.uow.collection(s.COMPANY_SECRETS)
        await self.uow.write(secrets.delete_one, {"_id": company_id})
        aws = self.uow.collection(s.COMPANY_AWS_CREDENTIALS)
        await self.uow.write(aws.delete_one, {"_id": company_id})

    async def hmac_secrets(self, company_id: str) -> builtins.list[str]:
        doc = await self.uow.find_one(s.COMPANY_SECRETS, {"_id": company_id})
        if doc is None:
            return []
        box = self.uow.store.secret_box
        if box is None:
            from ..sql._crypto import SecretStorageError

            raise SecretStorageError(
                "HMAC secrets are stored but no secret key is configured to decrypt them"
            )
        return box.open(company_id, bytes(doc["ciphertext"]))

    async def set_hmac_secrets(self, company_id: str, secrets: Sequence[str]) -> None:
        coll = self.uow.collection(s.COMPANY_SECRETS)
        if not secrets:
            await self.uow.write(coll.delete_one, {"_id": company_id})
            return
        box = self.uow.store.secret_box
        if box is None:
            raise _missing_key()
        doc = {"_id": company_id, "ciphertext": box.seal(company_id, builtins.list(secrets))}
        await self.uow.write(coll.replace_one, {"_id": company_id}, doc, upsert=True)

    async def aws_credentials(self, company_id: str) -> AwsCredentials | None:
        from ..sql._crypto import SecretStorageError, open_aws_credentials

        doc = await self.uow.find_one(s.COMPANY_AWS_CREDENTIALS, {"_id": company_id})
        if doc is None:
            return None
        box = self.uow.store.secret_box
        if box is None:
            raise SecretStorageError(
                "AWS credentials are stored but no secret key is configured to decrypt them"
            )
        return open_aws_credentials(box, company_id, bytes(doc["ciphertext"]))

    async def set_aws_credentials(
        self, company_id: str, credentials: AwsCredentials | None
    ) -> None:
        from ..sql._crypto import SecretStorageError, seal_aws_credentials

        coll = self.uow.collection(s.COMPANY_AWS_CREDENTIALS)
        if credentials is None:
            await self.uow.write(coll.delete_one, {"_id": company_id})
            return
        box = self.uow.store.secret_box
        if box is None:
            raise SecretStorageError(
                "refusing to store AWS credentials unencrypted: open the MongoDB store with a "
                "secret_key (AW_SECRET_KEY)"
            )
        doc = {"_id": company_id, "ciphertext": seal_aws_credentials(box, company_id, credentials)}
        await self.uow.write(coll.replace_one, {"_id": company_id}, doc, upsert=True)


# --- assets ----------------------------------------------------------------------------------


class MongoAssets(_Repo):
    collection = s.ASSETS

    async def list(self, company_id: str) -> builtins.list[Asset]:
        docs = await self.uow.find(
            self.collection, {"company_id": company_id}, sort=[("name", 1), ("_id", 1)]
        )
        return [c.asset_from_doc(d) for d in docs]

    async def get(self, company_id: str, asset_id: str) -> Asset | None:
        doc = await self._one({"_id": asset_id, "company_id": company_id})
        return None if doc is None else c.asset_from_doc(doc)

    async def by_name(self, company_id: str, name: str) -> Asset | None:
        doc = await self._one({"company_id": company_id, "name": name}, sort=[("_id", 1)])
        return None if doc is None else c.asset_from_doc(doc)

    async def add(self, asset: Asset) -> None:
        await self._replace(c.asset_doc(asset))

    async def update(self, asset: Asset) -> None:
        await self._replace(c.asset_doc(asset))

    async def delete(self, company_id: str, asset_id: str) -> None:
        await self._delete({"_id": asset_id, "company_id": company_id})


# --- deliveries ------------------------------------------------------------------------------


class MongoDeliveries(_Repo):
    collection = s.DELIVERIES

    async def get(self, company_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        live = {"$gt": c.micros(now)}
        doc = await self._one(
            {"company_id": company_id, "delivery_id": delivery_id, "expires_at": live}
        )
        return None if doc is None else c.delivery_from_doc(doc)

    async def add(self, record: DeliveryRecord, expires_at: datetime) -> None:
        now = record.first_seen_at
        if expires_at <= now:
            # Already expired: nothing to keep, but a live record still makes it a duplicate.
            if await self.get(record.company_id, record.delivery_id, now) is not None:
                raise DuplicateDelivery(record.delivery_id)
            return
        fields = {**c.delivery_doc(record, expires_at), "purge_at": s.purge_at(expires_at, now)}
        # Claim the id unless a live record holds it, in one write that cannot fail on a live
        # duplicate: a failed write would abort the whole transaction, where the other back
        # ends let the caller go on. An expired record is replaced in place.
        is_live = {"$gt": ["$expires_at", c.micros(now)]}
        claim = {k: {"$cond": [is_live, f"${k}", {"$literal": v}]} for k, v in fields.items()}
        coll = self.uow.collection(self.collection)
        try:
            before = await self.uow.write(
                coll.find_one_and_update,
                {"company_id": record.company_id, "delivery_id": record.delivery_id},
                [{"$set": claim}],
                projection={"expires_at": 1},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )
        except PyMongoError as error:
            if is_duplicate_key(error):
                raise DuplicateDelivery(record.delivery_id) from None
            raise
        if before is not None and before["expires_at"] > c.micros(now):
            raise DuplicateDelivery(record.delivery_id)


# --- users -----------------------------------------------------------------------------------


class MongoUsers(_Repo):
    collection = s.USERS

    async def get(self, user_id: str) -> User | None:
        doc = await self._one({"_id": user_id})
        return None if doc is None else c.user_from_doc(doc)

    async def by_email(self, email: str) -> User | None:
        doc = await self._one({"email_lc": email.strip().lower()}, sort=[("_id", 1)])
        return None if doc is None else c.user_from_doc(doc)

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[User]:
        docs = await self.uow.find(self.collection, visible("company_ids", company_ids))
        return sorted(map(c.user_from_doc, docs), key=lambda u: (u.email, u.id))

    async def add(self, user: User) -> None:
        await self._replace(c.user_doc(user))

    async def update(self, user: User) -> None:
        await self._replace(c.user_doc(user))

    async def delete(self, user_id: str) -> None:
        await self._delete({"_id": user_id})


# --- runbooks --------------------------------------------------------------------------------


def _by_name(docs: builtins.list[c.Doc]) -> builtins.list[Runbook]:
    return sorted(map(c.runbook_from_doc, docs), key=lambda r: (r.name, r.id))


class MongoRunbooks(_Repo):
    collection = s.RUNBOOKS

    async def get(self, runbook_id: str) -> Runbook | None:
        doc = await self._one({"_id": runbook_id})
        return None if doc is None else c.runbook_from_doc(doc)

    async def for_company(self, company_id: str) -> builtins.list[Runbook]:
        query = {"company_id": {"$in": [None, company_id]}}
        return _by_name(await self.uow.find(self.collection, query))

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Runbook]:
        query = {} if company_ids is None else {"company_id": {"$in": [None, *sorted(company_ids)]}}
        return _by_name(await self.uow.find(self.collection, query))

    async def add(self, runbook: Runbook) -> None:
        await self._replace(c.runbook_doc(runbook))

    async def update(self, runbook: Runbook) -> None:
        await self._replace(c.runbook_doc(runbook))

    async def delete(self, runbook_id: str) -> None:
        await self._delete({"_id": runbook_id})


# --- approvals -------------------------------------------------------------------------------


class MongoApprovals(_Repo):
    collection = s.APPROVALS

    async def get(self, approval_id: str) -> ApprovalRequest | None:
        doc = await self._one({"_id": approval_id})
        return None if doc is None else c.approval_from_doc(doc)

    async def _put(self, request: ApprovalRequest) -> None:
        coll = self.uow.collection(self.collection)
        update = {
            "$set": c.approval_doc(request),
            # The storage rank, for ``pending_due``: set on insert only.
            "$setOnInsert": {"seq": self.uow.store.sequence.take(1)},
        }
        await self.uow.write(coll.update_one, {"_id": request.id}, update, upsert=True)

    async def add(self, request: ApprovalRequest) -> None:
        await self._put(request)

    async def update(self, request: ApprovalRequest) -> None:
        await self._put(request)

    async def transition(self, request: ApprovalRequest, from_status: ApprovalStatus) -> bool:
        # The status filter makes the write conditional (like the execution claim); a writer
        # racing another transaction gets a write conflict and, on its retry, no match.
        coll = self.uow.collection(self.collection)
        changes = {
            "status": request.status.value,
            "decided_by": request.decided_by,
            "decided_at": c.opt_micros(request.decided_at),
            "notes": request.notes,
        }
        doc = await self.uow.write(
            coll.find_one_and_update,
            {"_id": request.id, "status": from_status.value},
            {"$set": changes},
            projection={"_id": 1},
        )
        return doc is not None

    async def list(
        self, company_ids: frozenset[str] | None, status: ApprovalStatus | None = None
    ) -> builtins.list[ApprovalRequest]:
        where = all_of(
            visible("company_id", company_ids), {} if status is None else {"status": status.value}
        )
        docs = await self.uow.find(self.collection, where, sort=[("created_at", -1), ("_id", -1)])
        return [c.approval_from_doc(d) for d in docs]

    async def page(
        self,
        company_ids: frozenset[str] | None,
        status: ApprovalStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ApprovalRequest]:
        where = all_of(
            visible("company_id", company_ids),
            {} if status is None else {"status": status.value},
            after_cursor(cursor, "created_at") or {},
        )
        docs = await self.uow.find(
            self.collection, where, sort=[("created_at", -1), ("_id", -1)], limit=limit + 1
        )
        items = tuple(c.approval_from_doc(d) for d in docs[:limit])
        return Page(items, next_cursor(docs, limit, "created_at"))

    async def pending_due(self, now: datetime) -> builtins.list[ApprovalRequest]:
        where = {"status": ApprovalStatus.PENDING.value, "expires_at": {"$lte": c.micros(now)}}
        docs = await self.uow.find(self.collection, where, sort=[("seq", 1)])
        return [c.approval_from_doc(d) for d in docs]


# --- executions ----------------------------------------------------------------------------

_IN_FLIGHT = [status.value for status in ExecutionStatus if not status.terminal]


class MongoExecutions(_Repo):
    collection = s.EXECUTIONS

    async def get(self, execution_id: str) -> Execution | None:
        doc = await self._one({"_id": execution_id})
        return None if doc is None else c.execution_from_doc(doc)

    async def add(self, execution: Execution) -> None:
        await self._replace(c.execution_doc(execution))

    async def update(self, execution: Execution) -> None:
        await self._replace(c.execution_doc(execution))

    async def claim(
        self, execution_id: str, started_at: datetime, executor: str
    ) -> Execution | None:
        # The status filter makes the claim conditional; a claimer racing another transaction
        # gets a write conflict (TransientConflict), and on its retry finds nothing pending.
        coll = self.uow.collection(self.collection)
        doc = await self.uow.write(
            coll.find_one_and_update,
            {"_id": execution_id, "status": ExecutionStatus.PENDING.value},
            {
                "$set": {
                    "status": ExecutionStatus.IN_PROGRESS.value,
                    "started_at": c.micros(started_at),
                    "executor": executor,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else c.execution_from_doc(doc)

    async def in_flight(self) -> builtins.list[Execution]:
        docs = await self.uow.find(
            self.collection,
            {"status": {"$in": _IN_FLIGHT}},
            sort=[("created_at", 1), ("_id", 1)],
        )
        return [c.execution_from_doc(d) for d in docs]

    async def for_incident(
        self, incident_id: str, cursor: str | None = None, limit: int = 50
    ) -> Page[Execution]:
        where = all_of({"incident_id": incident_id}, after_cursor(cursor, "created_at") or {})
        limit = max(limit, 0)
        docs = await self.uow.find(
            self.collection, where, sort=[("created_at", -1), ("_id", -1)], limit=limit + 1
        )
        page = tuple(c.execution_from_doc(d) for d in docs[:limit])
        return Page(page, next_cursor(docs, limit, "created_at"))


# --- audit -----------------------------------------------------------------------------------


class MongoAudit(_Repo):
    """Append-only: nothing in this adapter updates or deletes an audit document."""

    collection = s.AUDIT

    async def append(self, entry: AuditEntry) -> None:
        self.uow.buffer_audit(entry)

    async def list(self, query: AuditQuery) -> Page[AuditEntry]:
        await self.uow.flush_audit()
        clauses: dict[str, str] = {}
        if query.action is not None:
            clauses["action"] = query.action
        if query.user_id is not None:
            clauses["user_id"] = query.user_id
        where = all_of(
            visible("company_id", query.company_ids),
            clauses,
            within("timestamp", query.since, query.until),
            after_cursor(query.cursor, "timestamp") or {},
        )
        limit = max(query.limit, 0)
        docs = await self.uow.find(
            self.collection, where, sort=[("timestamp", -1), ("_id", -1)], limit=limit + 1
        )
        page = tuple(c.audit_from_doc(d) for d in docs[:limit])
        return Page(page, next_cursor(docs, limit, "timestamp"))


# --- sign-in state ---------------------------------------------------------------------------


class MongoTokens(_Repo):
    """Bearer tokens, known only by hash; deleting one revokes it."""

    collection = s.TOKENS

    async def add(self, token: AuthToken) -> None:
        await self._replace(c.token_doc(token))

    async def get(self, token_hash: str) -> AuthToken | None:
        doc = await self._one({"_id": token_hash})
        return None if doc is None else c.token_from_doc(doc)

    async def delete(self, token_hash: str) -> None:
        await self._delete({"_id": token_hash})

    async def delete_for_user(self, user_id: str) -> None:
        await self._delete({"user_id": user_id})

    async def delete_expired(self, now: datetime) -> int:
        return await self._delete({"expires_at": {"$lte": c.micros(now)}})


class MongoLoginAttempts(_Repo):
    """Failed logins per e-mail address, shared by every server process."""

    collection = s.LOGIN_ATTEMPTS

    async def get(self, email: str) -> LoginAttempts | None:
        doc = await self._one({"_id": email})
        return None if doc is None else c.login_attempts_from_doc(doc)

    async def put(self, attempts: LoginAttempts) -> None:
        await self._replace(c.login_attempts_doc(attempts))

    async def delete(self, email: str) -> None:
        await self._delete({"_id": email})
