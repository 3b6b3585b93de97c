"""SQL implementations of the core's repository ports (besides alerts and incidents).

They behave exactly like :mod:`alertwhisperer_core.memory`'s: the same filters, the same
sort orders (newest first, ties broken by id compared byte-wise), the same keyset cursors,
the same errors. Small lists the in-memory store sorts in Python (companies, users,
runbooks) are sorted here in Python too, with the same key, so ties come out identically.

Reads the ingest path repeats for every delivery (a company by API key, its runbooks, its
technicians, an asset by name) are remembered: for the rest of the unit of work on
PostgreSQL, and across units of work on SQLite while no other process has committed (see
:meth:`SqlUnitOfWork.read_cache`). A write to the table forgets them.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, insert, or_, select, update

from alertwhisperer_core import (
    ApprovalRequest,
    ApprovalStatus,
    Asset,
    AuditEntry,
    AwsCredentials,
    Company,
    Runbook,
    User,
)
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.ports import AuditQuery, DuplicateDelivery, Page

from . import _mapping as m
from . import _mapping_directory as dm
from . import _schema as s
from ._crypto import SecretStorageError, open_aws_credentials, seal_aws_credentials
from ._fast import Prepared
from ._incident_repos import SqlAlerts, SqlIncidents
from ._queries import after_cursor, param, row_limit, visible, within
from ._types import UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

T = TypeVar("T")

__all__ = [
    "SqlAlerts",
    "SqlApprovals",
    "SqlAssets",
    "SqlAudit",
    "SqlCompanies",
    "SqlDeliveries",
    "SqlIncidents",
    "SqlRunbooks",
    "SqlUsers",
]


def _first_company(rows: Sequence[Any]) -> Company | None:
    return dm.company_from_row(rows[0]) if rows else None


def _first_asset(rows: Sequence[Any]) -> Asset | None:
    return dm.asset_from_row(rows[0]) if rows else None


class _Repo:
    table = ""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow
        self.d = uow.dialect

    async def _memo(
        self,
        key: tuple[Any, ...],
        prepared: Prepared,
        params: dict[str, Any],
        decode: Callable[[list[Sequence[Any]]], T],
    ) -> T:
        """``decode(rows of prepared)``, remembered under ``key`` until this table is written.

        Records are immutable, so the decoded value itself is kept (decoding a company's
        validated settings costs more than reading them).
        """
        full = (self.table, *key)
        cache = await self.uow.read_cache(self.table)
        if full not in cache:
            cache[full] = decode(await self.uow.rows(prepared, params))
        value: T = cache[full]
        return value

    async def _write(self, prepared: Prepared, params: dict[str, Any]) -> None:
        self.uow.forget_table(self.table)
        await self.uow.rows(prepared, params)


# --- companies -------------------------------------------------------------------------------

_C = s.companies.c
_COMPANY_BY_ID = Prepared(select(*dm.COMPANY_COLUMNS).where(_C.id == param("id")))
_COMPANY_BY_KEY = Prepared(
    select(*dm.COMPANY_COLUMNS).where(_C.api_key_hash == param("h")).order_by(_C.id).limit(1)
)
_SECRETS = Prepared(
    select(s.company_secrets.c.ciphertext).where(s.company_secrets.c.company_id == param("id"))
)
_AWS = s.company_aws_credentials.c
_AWS_SEALED = Prepared(select(_AWS.ciphertext).where(_AWS.company_id == param("id")))
_AWS_FORGET = Prepared(delete(s.company_aws_credentials).where(_AWS.company_id == param("id")))
_aws_upserts: dict[str, Prepared] = {}


class SqlCompanies(_Repo):
    table = "companies"

    async def get(self, company_id: str) -> Company | None:
        params = {"id": company_id}
        return await self._memo(("id", company_id), _COMPANY_BY_ID, params, _first_company)

    async def by_api_key_hash(self, api_key_hash: str) -> Company | None:
        params = {"h": api_key_hash}
        return await self._memo(("key", api_key_hash), _COMPANY_BY_KEY, params, _first_company)

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Company]:
        stmt = select(*dm.COMPANY_COLUMNS).where(visible(_C.id, company_ids))
        rows = (await self.uow.execute(stmt)).all()
        return sorted(map(dm.company_from_row, rows), key=lambda c: (c.name, c.id))

    async def add(self, company: Company) -> None:
        await self._write(self.d.upsert_company, dm.company_row(company))

    async def update(self, company: Company) -> None:
        await self._write(self.d.upsert_company, dm.company_row(company))

    async def delete(self, company_id: str) -> None:
        self.uow.forget_table(self.table)
        await self.uow.execute(delete(s.companies).where(_C.id == company_id))
        await self.uow.execute(
            delete(s.company_secrets).where(s.company_secrets.c.company_id == company_id)
        )
        await self.uow.rows(_AWS_FORGET, {"id": company_id})

    async def hmac_secrets(self, company_id: str) -> builtins.list[str]:
        rows = await self.uow.rows(_SECRETS, {"id": company_id})
        if not rows:
            return []
        box = self.uow.store.secret_box
        if box is None:
            raise SecretStorageError(
                "HMAC secrets are stored but no secret key is configured to decrypt them"
            )
        return box.open(company_id, bytes(rows[0][0]))

    async def set_hmac_secrets(self, company_id: str, secrets: Sequence[str]) -> None:
        if not secrets:
            await self.uow.execute(
                delete(s.company_secrets).where(s.company_secrets.c.company_id == company_id)
            )
            return
        box = self.uow.store.secret_box
        if box is None:
            raise SecretStorageError(
                "refusing to store HMAC secrets unencrypted: open the SQL store with a "
                "secret_key (AW_SECRET_KEY) to enable HMAC"
            )
        blob = box.seal(company_id, builtins.list(secrets))
        await self.uow.rows(self.d.upsert_secret, {"company_id": company_id, "ciphertext": blob})

    async def aws_credentials(self, company_id: str) -> AwsCredentials | None:
        rows = await self.uow.rows(_AWS_SEALED, {"id": company_id})
        if not rows:
            return None
        box = self.uow.store.secret_box
        if box is None:
            raise SecretStorageError(
                "AWS credentials are stored but no secret key is configured to decrypt them"
            )
        return open_aws_credentials(box, company_id, bytes(rows[0][0]))

    async def set_aws_credentials(
        self, company_id: str, credentials: AwsCredentials | None
    ) -> None:
        if credentials is None:
            await self.uow.rows(_AWS_FORGET, {"id": company_id})
            return
        box = self.uow.store.secret_box
        if box is None:
            raise SecretStorageError(
                "refusing to store AWS credentials unencrypted: open the SQL store with a "
                "secret_key (AW_SECRET_KEY)"
            )
        blob = seal_aws_credentials(box, company_id, credentials)
        dialect = self.uow.dialect
        if dialect.name not in _aws_upserts:
            # Built on first use, per dialect, like the executions' upsert.
            upsert = dialect._upsert(s.company_aws_credentials, ["company_id"])
            _aws_upserts[dialect.name] = Prepared(upsert)
        await self.uow.rows(
            _aws_upserts[dialect.name], {"company_id": company_id, "ciphertext": blob}
        )


# --- assets ----------------------------------------------------------------------------------

_AS = s.assets.c
_ASSETS_OF = Prepared(
    select(*dm.ASSET_COLUMNS).where(_AS.company_id == param("c")).order_by(_AS.id)
)
_ASSET = Prepared(
    select(*dm.ASSET_COLUMNS).where(_AS.company_id == param("c"), _AS.id == param("id"))
)
_ASSET_BY_NAME = Prepared(
    select(*dm.ASSET_COLUMNS)
    .where(_AS.company_id == param("c"), _AS.name == param("name"))
    .order_by(_AS.id)
    .limit(1)
)


class SqlAssets(_Repo):
    table = "assets"

    async def list(self, company_id: str) -> builtins.list[Asset]:
        rows = await self.uow.rows(_ASSETS_OF, {"c": company_id})
        return sorted(map(dm.asset_from_row, rows), key=lambda a: a.name)

    async def get(self, company_id: str, asset_id: str) -> Asset | None:
        rows = await self.uow.rows(_ASSET, {"c": company_id, "id": asset_id})
        return dm.asset_from_row(rows[0]) if rows else None

    async def by_name(self, company_id: str, name: str) -> Asset | None:
        params = {"c": company_id, "name": name}
        return await self._memo(("name", company_id, name), _ASSET_BY_NAME, params, _first_asset)

    async def add(self, asset: Asset) -> None:
        await self._write(self.d.upsert_asset, dm.asset_row(asset))

    async def update(self, asset: Asset) -> None:
        await self._write(self.d.upsert_asset, dm.asset_row(asset))

    async def delete(self, company_id: str, asset_id: str) -> None:
        self.uow.forget_table(self.table)
        await self.uow.execute(
            delete(s.assets).where(_AS.company_id == company_id, _AS.id == asset_id)
        )


# --- deliveries ------------------------------------------------------------------------------

_D = s.deliveries.c
_DELIVERY = Prepared(
    select(*m.DELIVERY_COLUMNS).where(
        _D.company_id == param("c"),
        _D.delivery_id == param("id"),
        _D.expires_at > param("now", UtcDateTime()),
    )
)


class SqlDeliveries(_Repo):
    async def get(self, company_id: str, delivery_id: str, now: datetime) -> DeliveryRecord | None:
        rows = await self.uow.rows(_DELIVERY, {"c": company_id, "id": delivery_id, "now": now})
        return m.delivery_from_row(rows[0]) if rows else None

    async def add(self, record: DeliveryRecord, expires_at: datetime) -> None:
        now = record.first_seen_at
        if expires_at <= now:
            # Already expired: nothing to keep, but a live record still makes it a duplicate.
            if await self.get(record.company_id, record.delivery_id, now) is not None:
                raise DuplicateDelivery(record.delivery_id)
            return
        params = {**m.delivery_row(record, expires_at), "now": now}
        if not await self.uow.rows(self.d.claim_delivery, params):
            raise DuplicateDelivery(record.delivery_id)
        self.uow.note_delivery(now)


# --- users -----------------------------------------------------------------------------------

_U = s.users.c
_UC = s.user_companies.c
_USER = Prepared(select(*dm.USER_COLUMNS).where(_U.id == param("id")))
_USER_BY_EMAIL = Prepared(
    select(*dm.USER_COLUMNS).where(_U.email_lc == param("e")).order_by(_U.id).limit(1)
)
_MEMBERS_OF = select(_UC.user_id).where(_UC.company_id == param("c"))
# Users with their memberships in one statement (one round trip, not two): a row per
# membership, or one with a NULL company for a user without any.
_WITH_MEMBERSHIPS = select(*dm.USER_COLUMNS, _UC.company_id).select_from(
    s.users.outerjoin(s.user_companies, _UC.user_id == _U.id)
)
_USERS_OF = Prepared(_WITH_MEMBERSHIPS.where(_U.id.in_(_MEMBERS_OF)))
_ALL_USERS = Prepared(_WITH_MEMBERSHIPS)
_MEMBERSHIPS_OF_USER = Prepared(
    select(_UC.user_id, _UC.company_id).where(_UC.user_id == param("id"))
)
_INSERT_MEMBERSHIP = Prepared(
    insert(s.user_companies).values(user_id=param("user_id"), company_id=param("company_id"))
)


def _by_email(user: User) -> tuple[str, str]:
    return (user.email, user.id)


def _users_joined(rows: Sequence[Any]) -> builtins.list[User]:
    """Users from rows of ``_WITH_MEMBERSHIPS``, by email."""
    users: dict[str, Any] = {}
    companies: dict[str, set[str]] = {}
    for row in rows:
        users.setdefault(row[0], row[:-1])
        member_of = companies.setdefault(row[0], set())
        if row[-1] is not None:
            member_of.add(row[-1])
    found = [dm.user_from_row(r, frozenset(companies[r[0]])) for r in users.values()]
    return sorted(found, key=_by_email)


def _users(rows: Sequence[Any], memberships: Sequence[Any]) -> builtins.list[User]:
    companies: dict[str, set[str]] = {}
    for user_id, company_id in memberships:
        companies.setdefault(user_id, set()).add(company_id)
    return [dm.user_from_row(r, frozenset(companies.get(r[0], ()))) for r in rows]


class SqlUsers(_Repo):
    table = "users"

    async def _one(self, rows: Sequence[Any]) -> User | None:
        if not rows:
            return None
        memberships = await self.uow.rows(_MEMBERSHIPS_OF_USER, {"id": rows[0][0]})
        return _users(rows, memberships)[0]

    async def get(self, user_id: str) -> User | None:
        return await self._one(await self.uow.rows(_USER, {"id": user_id}))

    async def by_email(self, email: str) -> User | None:
        return await self._one(await self.uow.rows(_USER_BY_EMAIL, {"e": email.strip().lower()}))

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[User]:
        if company_ids is not None and len(company_ids) == 1:
            # The ingest path's question (the technicians of one company), remembered.
            (company_id,) = company_ids
            params = {"c": company_id}
            cache = await self.uow.read_cache(self.table)
            key = (self.table, "of", company_id)
            if key not in cache:
                cache[key] = tuple(_users_joined(await self.uow.rows(_USERS_OF, params)))
            return builtins.list(cache[key])
        if company_ids is None:
            # Everyone (the ingest path's notifications ask this), remembered the same way.
            cache = await self.uow.read_cache(self.table)
            key = (self.table, "all")
            if key not in cache:
                cache[key] = tuple(_users_joined(await self.uow.rows(_ALL_USERS)))
            return builtins.list(cache[key])
        # Several companies (or none): the members of any, in the same one statement.
        visible_ids = select(_UC.user_id).where(_UC.company_id.in_(sorted(company_ids)))
        stmt = _WITH_MEMBERSHIPS.where(_U.id.in_(visible_ids))
        return _users_joined((await self.uow.execute(stmt)).all())

    async def _save(self, user: User) -> None:
        await self._write(self.d.upsert_user, dm.user_row(user))
        await self.uow.execute(delete(s.user_companies).where(_UC.user_id == user.id))
        if user.company_ids:
            await self.uow.run_many(
                _INSERT_MEMBERSHIP,
                [{"user_id": user.id, "company_id": c} for c in sorted(user.company_ids)],
            )

    async def add(self, user: User) -> None:
        await self._save(user)

    async def update(self, user: User) -> None:
        await self._save(user)

    async def delete(self, user_id: str) -> None:
        self.uow.forget_table(self.table)
        await self.uow.execute(delete(s.user_companies).where(_UC.user_id == user_id))
        await self.uow.execute(delete(s.users).where(_U.id == user_id))


# --- runbooks --------------------------------------------------------------------------------

_R = s.runbooks.c
_RUNBOOK = Prepared(select(*dm.RUNBOOK_COLUMNS).where(_R.id == param("id")))
_RUNBOOKS_FOR = Prepared(
    select(*dm.RUNBOOK_COLUMNS).where(or_(_R.company_id.is_(None), _R.company_id == param("c")))
)


def _by_name(runbooks: builtins.list[Runbook]) -> builtins.list[Runbook]:
    return sorted(runbooks, key=lambda r: (r.name, r.id))


def _runbooks(rows: Sequence[Any]) -> tuple[Runbook, ...]:
    return tuple(_by_name([dm.runbook_from_row(r) for r in rows]))


class SqlRunbooks(_Repo):
    table = "runbooks"

    async def get(self, runbook_id: str) -> Runbook | None:
        rows = await self.uow.rows(_RUNBOOK, {"id": runbook_id})
        return dm.runbook_from_row(rows[0]) if rows else None

    async def for_company(self, company_id: str) -> builtins.list[Runbook]:
        found = await self._memo(("for", company_id), _RUNBOOKS_FOR, {"c": company_id}, _runbooks)
        return builtins.list(found)

    async def list(self, company_ids: frozenset[str] | None = None) -> builtins.list[Runbook]:
        stmt = select(*dm.RUNBOOK_COLUMNS)
        if company_ids is not None:
            stmt = stmt.where(or_(_R.company_id.is_(None), _R.company_id.in_(sorted(company_ids))))
        return _by_name([dm.runbook_from_row(r) for r in (await self.uow.execute(stmt)).all()])

    async def add(self, runbook: Runbook) -> None:
        await self._write(self.d.upsert_runbook, dm.runbook_row(runbook))

    async def update(self, runbook: Runbook) -> None:
        await self._write(self.d.upsert_runbook, dm.runbook_row(runbook))

    async def delete(self, runbook_id: str) -> None:
        self.uow.forget_table(self.table)
        await self.uow.execute(delete(s.runbooks).where(_R.id == runbook_id))


# --- approvals -------------------------------------------------------------------------------

_A = s.approvals.c
_APPROVAL = Prepared(select(*dm.APPROVAL_COLUMNS).where(_A.id == param("id")))
_PENDING_DUE = Prepared(
    select(*dm.APPROVAL_COLUMNS)
    .where(_A.status == ApprovalStatus.PENDING.value, _A.expires_at <= param("now", UtcDateTime()))
    .order_by(_A.seq)
)
# Conditional like the execution claim: under READ COMMITTED a second decision waits for the
# first one's row lock, then re-checks the status on the committed row and updates nothing.
_TRANSITION = Prepared(
    update(s.approvals)
    .where(_A.id == param("id"), _A.status == param("from_status"))
    .values(
        status=param("status"),
        decided_by=param("decided_by"),
        decided_at=param("decided_at", UtcDateTime()),
        notes=param("notes"),
    )
    .returning(_A.id)
)


class SqlApprovals(_Repo):
    async def get(self, approval_id: str) -> ApprovalRequest | None:
        rows = await self.uow.rows(_APPROVAL, {"id": approval_id})
        return dm.approval_from_row(rows[0]) if rows else None

    async def add(self, request: ApprovalRequest) -> None:
        await self.uow.rows(self.d.upsert_approval, dm.approval_row(request))

    async def update(self, request: ApprovalRequest) -> None:
        await self.uow.rows(self.d.upsert_approval, dm.approval_row(request))

    async def transition(self, request: ApprovalRequest, from_status: ApprovalStatus) -> bool:
        params = {
            "id": request.id,
            "from_status": from_status.value,
            "status": request.status.value,
            "decided_by": request.decided_by,
            "decided_at": request.decided_at,
            "notes": request.notes,
        }
        return bool(await self.uow.rows(_TRANSITION, params))

    async def list(
        self, company_ids: frozenset[str] | None, status: ApprovalStatus | None = None
    ) -> builtins.list[ApprovalRequest]:
        where = [visible(_A.company_id, company_ids)]
        if status is not None:
            where.append(_A.status == status.value)
        stmt = (
            select(*dm.APPROVAL_COLUMNS).where(*where).order_by(_A.created_at.desc(), _A.id.desc())
        )
        return [dm.approval_from_row(r) for r in (await self.uow.execute(stmt)).all()]

    async def page(
        self,
        company_ids: frozenset[str] | None,
        status: ApprovalStatus | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[ApprovalRequest]:
        where: builtins.list[Any] = [visible(_A.company_id, company_ids)]
        if status is not None:
            where.append(_A.status == status.value)
        after = after_cursor(cursor, _A.created_at, _A.id)
        if after is not None:
            where.append(after)
        limit = row_limit(limit)
        stmt = (
            select(*dm.APPROVAL_COLUMNS)
            .where(*where)
            .order_by(_A.created_at.desc(), _A.id.desc())
            .limit(limit + 1)
        )
        rows = [dm.approval_from_row(r) for r in (await self.uow.execute(stmt)).all()]
        page = rows[:limit]
        next_cursor = None
        if len(rows) > limit and page:
            next_cursor = encode_cursor(page[-1].created_at.isoformat(), page[-1].id)
        return Page(tuple(page), next_cursor)

    async def pending_due(self, now: datetime) -> builtins.list[ApprovalRequest]:
        rows = await self.uow.rows(_PENDING_DUE, {"now": now})
        return [dm.approval_from_row(r) for r in rows]


# --- audit -----------------------------------------------------------------------------------

_AU = s.audit.c


class SqlAudit(_Repo):
    """Append-only: there is no update or delete statement for the audit table anywhere."""

    async def append(self, entry: AuditEntry) -> None:
        self.uow.buffer_audit(m.audit_row(entry))

    async def list(self, query: AuditQuery) -> Page[AuditEntry]:
        await self.uow.flush_audit()
        where: builtins.list[Any] = [visible(_AU.company_id, query.company_ids)]
        if query.action is not None:
            where.append(_AU.action == query.action)
        if query.user_id is not None:
            where.append(_AU.user_id == query.user_id)
        where += within(_AU.timestamp, query.since, query.until)
        after = after_cursor(query.cursor, _AU.timestamp, _AU.id)
        if after is not None:
            where.append(after)
        limit = row_limit(query.limit)
        stmt = (
            select(*m.AUDIT_COLUMNS)
            .where(*where)
            .order_by(_AU.timestamp.desc(), _AU.id.desc())
            .limit(limit + 1)
        )
        rows = [m.audit_from_row(r) for r in (await self.uow.execute(stmt)).all()]
        page = rows[:limit]
        cursor = None
        if len(rows) > limit and page:
            cursor = encode_cursor(page[-1].timestamp.isoformat(), page[-1].id)
        return Page(tuple(page), cursor)
