"""What differs between SQLite and PostgreSQL: upserts, key locks, renumbering, lower-casing.

Everything else is portable SQLAlchemy Core. A :class:`Dialect` is built once per store and
holds the prepared statement objects, so the hot path never rebuilds a statement.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Numeric,
    Table,
    bindparam,
    cast,
    extract,
    func,
    insert,
    literal,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from . import _schema as s
from ._fast import Prepared
from ._types import UtcDateTime, to_micros

__all__ = ["Dialect", "key_lock_id"]

_SERIALS = frozenset({"seq", "member_seq"})
_MICROSECOND = timedelta(microseconds=1)


def _insert_columns(table: Table, skip: frozenset[str] | set[str] = frozenset()) -> Any:
    """A plain INSERT naming every column but ``skip`` (for executemany)."""
    return insert(table).values(
        {c.name: bindparam(c.name, type_=c.type) for c in table.c if c.name not in skip}
    )


def key_lock_id(company_id: str, key: str) -> int:
    """The signed 64-bit advisory lock id of one company's aggregation key.

    The company id's length is part of the hashed text, so no two (company, key) pairs hash
    the same text. A collision of the 64-bit hash only makes two keys share a lock.
    """
    text_ = f"{len(company_id)}:{company_id}:{key}".encode()
    digest = hashlib.blake2b(text_, digest_size=8, person=b"aw-key-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


class Dialect:
    """Statements for one back end (``sqlite`` or ``postgresql``)."""

    def __init__(self, name: str) -> None:
        if name not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported SQL dialect {name!r}: use SQLite or PostgreSQL")
        self.name = name
        self.is_sqlite = name == "sqlite"
        self.insert_alert = Prepared(_insert_columns(s.alerts, skip={"member_seq"}))
        self.insert_audit = Prepared(_insert_columns(s.audit))
        self.upsert_company = Prepared(self._upsert(s.companies, ["id"]))
        self.upsert_secret = Prepared(self._upsert(s.company_secrets, ["company_id"]))
        self.upsert_asset = Prepared(self._upsert(s.assets, ["id"]))
        self.upsert_incident = Prepared(self._upsert(s.incidents, ["id"]))
        self._incident_updates: dict[tuple[str, ...], Prepared] = {}
        self.upsert_user = Prepared(self._upsert(s.users, ["id"]))
        self.upsert_runbook = Prepared(self._upsert(s.runbooks, ["id"]))
        self.upsert_approval = Prepared(self._upsert(s.approvals, ["id"]))
        self.upsert_token = Prepared(self._upsert(s.tokens, ["token_hash"]))
        self.upsert_login_attempts = Prepared(self._upsert(s.login_attempts, ["email"]))
        self.claim_delivery = Prepared(self._claim(s.deliveries, ["company_id", "delivery_id"]))
        self.claim_replay = Prepared(self._claim(s.replay_guard, ["key"]))
        self.lock_key = Prepared(text("SELECT pg_advisory_xact_lock(CAST(:lock_id AS BIGINT))"))
        # Merged-in alerts go after the target's own, in their old order, and before any alert
        # added later: each takes the next value of the membership counter.
        if self.is_sqlite:
            renumber = (
                "UPDATE alerts SET incident_id = :to_id, "
                "member_seq = (SELECT max(member_seq) FROM alerts) + 1 WHERE id = :alert_id"
            )
        else:
            renumber = (
                "UPDATE alerts SET incident_id = :to_id, "
                "member_seq = nextval(pg_get_serial_sequence('alerts', 'member_seq')) "
                "WHERE id = :alert_id"
            )
        self.renumber_member = Prepared(text(renumber))

    def update_incident(self, columns: tuple[str, ...]) -> Prepared:
        """``UPDATE incidents SET`` just ``columns`` ``WHERE id = :id`` (parameters ``id`` and
        ``v_<column>``), built once per set of columns.

        An upsert rewrites every column, so SQLite rewrites the entry of every index on them;
        a storm's update changes two or three columns and so touches two or three indexes.
        """
        found = self._incident_updates.get(columns)
        if found is None:
            table = s.incidents
            stmt = (
                update(table)
                .where(table.c.id == bindparam("id"))
                .values({c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns})
            )
            found = self._incident_updates[columns] = Prepared(stmt)
        return found

    def _insert(self, table: Table) -> Any:
        if self.is_sqlite:
            return sqlite.insert(table)
        return postgresql.insert(table)

    def _upsert(self, table: Table, keys: list[str]) -> Any:
        """Insert, or overwrite every non-key column (the in-memory store's ``put``).

        A serial ``seq`` is never overwritten, so an update keeps the record's insertion rank.
        """
        stmt: Any = self._insert(table).values(
            {c.name: bindparam(c.name, type_=c.type) for c in table.c if c.name not in _SERIALS}
        )
        keep = {*keys, *_SERIALS}
        return stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in keep},
        )

    def _claim(self, table: Table, keys: list[str]) -> Any:
        """Insert unless a live (unexpired at ``:now``) row holds the key; RETURNING tells.

        An expired row is replaced in place. Under concurrency the unique key makes a second
        inserter wait for the first one's transaction, then see its row and return nothing.
        """
        stmt: Any = self._insert(table).values(
            {c.name: bindparam(c.name, type_=c.type) for c in table.c}
        )
        return stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in keys},
            where=table.c.expires_at <= bindparam("now", type_=UtcDateTime()),
        ).returning(*(table.c[k] for k in keys))

    def bucket_index(self, column: Any, since: datetime, width: timedelta) -> Any:
        """``(column - since) // width`` as an integer, for an instant column at or after
        ``since``: integer microseconds on SQLite (exact), epoch seconds on PostgreSQL (exact
        to the microsecond: ``extract`` answers ``numeric``)."""
        if self.is_sqlite:
            micros = type_coerce(column, BigInteger) - literal(to_micros(since), BigInteger)
            return micros // literal(width // _MICROSECOND, BigInteger)
        seconds = extract("epoch", column - literal(since, UtcDateTime()))
        return cast(func.floor(seconds / literal(width.total_seconds(), Numeric)), BigInteger)

    def lower(self, column: ColumnElement[str]) -> ColumnElement[str]:
        """Lower-cased text for ``q`` searches, as close to Python's ``str.lower`` as possible.

        SQLite's ``lower()`` is ASCII-only, so SQLite connections get ``aw_lower``, which *is*
        ``str.lower``. PostgreSQL's ``lower()`` follows the database's ctype, which agrees with
        Python for everything but a few special cases (for example a dotted capital I).
        """
        if self.is_sqlite:
            return func.aw_lower(column)
        return func.lower(column)

    def contains(self, column: ColumnElement[str], needle: str) -> ColumnElement[bool]:
        """``needle in column.lower()`` (``needle`` already lower-cased), without LIKE escapes."""
        finder = func.instr if self.is_sqlite else func.strpos
        return finder(self.lower(column), needle) > 0
