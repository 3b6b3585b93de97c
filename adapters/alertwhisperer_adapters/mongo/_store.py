"""The MongoDB store: client set-up, the unit-of-work factory, the replay guard, health.

Construction is explicit (:func:`open_mongo_store`); nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from . import _schema as s
from ._codec import Doc, micros
from ._errors import is_duplicate_key
from ._uow import MongoUnitOfWork

if TYPE_CHECKING:
    from ..sql._crypto import SecretBox

__all__ = [
    "DEFAULT_DATABASE",
    "MongoReplayGuard",
    "MongoStore",
    "StorageSequence",
    "TransactionsUnavailable",
    "open_mongo_store",
]

DEFAULT_DATABASE = "alertwhisperer"
# The pause before retrying a unit of work that lost a write conflict: up to
# BASE · 2^(conflicts in a row), at most CAP, uniformly jittered.
_BACKOFF_BASE = 0.002
_BACKOFF_CAP = 0.1
_BACKOFF_MAX_STEP = 6


class TransactionsUnavailable(RuntimeError):
    """The MongoDB server is a standalone: multi-document transactions need a replica set
    (a one-node replica set is enough) or a sharded cluster."""


class StorageSequence:
    """Storage ranks for records whose lists keep insertion order (incidents, approvals).

    Microseconds of the wall clock, never repeating or going back within the process: ranks
    follow commit order within a process, and real time across processes (whose records,
    created at the same moment, have no order of their own). A shared counter document
    would be exact across hosts too, but every transaction creating an incident would then
    write the same document, and MongoDB aborts all but one of them.
    """

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> int:
        """The first of ``n`` consecutive ranks, all above any taken before."""
        with self._lock:
            first = max(self._last + 1, time.time_ns() // 1000)
            self._last = first + max(n, 1) - 1
            return first


_SEQUENCE = StorageSequence()


class MongoStore:
    """A :class:`~alertwhisperer_core.ports.UnitOfWorkFactory` over MongoDB.

    ``store()`` opens a unit of work (one transaction). One store per process and event loop;
    it owns the client and its connection pool.
    """

    def __init__(
        self,
        client: AsyncMongoClient[Doc],
        db: AsyncDatabase[Doc],
        *,
        secret_box: SecretBox | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.secret_box = secret_box
        self.sequence = _SEQUENCE
        self._conflicts = 0

    def __call__(self) -> MongoUnitOfWork:
        return MongoUnitOfWork(self)

    unit_of_work = __call__

    def replay_guard(self) -> MongoReplayGuard:
        """A replay guard in this database (for several processes without Redis)."""
        return MongoReplayGuard(self)

    async def pause_after_conflict(self) -> None:
        """Sleep before a unit of work that lost a write conflict runs again."""
        self._conflicts = min(self._conflicts + 1, _BACKOFF_MAX_STEP)
        ceiling = min(_BACKOFF_CAP, _BACKOFF_BASE * 2**self._conflicts)
        await asyncio.sleep(random.uniform(0, ceiling))  # noqa: S311 - jitter, not a secret

    def note_commit(self) -> None:
        self._conflicts = 0

    async def ping(self) -> bool:
        """True when the database answers (for ``/readyz``)."""
        try:
            await self.client.admin.command("ping")
        except PyMongoError:
            return False
        return True

    async def close(self) -> None:
        """Close every connection."""
        await self.client.close()


class MongoReplayGuard:
    """:class:`~alertwhisperer_core.ports.ReplayGuard` in the database, shared by processes.

    One atomic single-document upsert per signature: no transaction needed.
    """

    def __init__(self, store: MongoStore) -> None:
        self._coll = store.db[s.REPLAY_GUARD]

    async def remember(self, key: str, expires_at: datetime, now: datetime) -> bool:
        at = micros(now)
        if expires_at <= now:
            return await self._coll.find_one({"_id": key, "expires_at": {"$gt": at}}) is None
        fields = {"expires_at": micros(expires_at), "purge_at": s.purge_at(expires_at, now)}
        is_live = {"$gt": ["$expires_at", at]}
        claim = {k: {"$cond": [is_live, f"${k}", {"$literal": v}]} for k, v in fields.items()}
        try:
            before = await self._coll.find_one_and_update(
                {"_id": key},
                [{"$set": claim}],
                projection={"expires_at": 1},
                upsert=True,
                return_document=ReturnDocument.BEFORE,
            )
        except PyMongoError as error:
            if is_duplicate_key(error):
                return False  # another process inserted it a moment ago
            raise
        return before is None or before["expires_at"] <= at

    async def forget(self, key: str) -> None:
        await self._coll.delete_one({"_id": key})


async def _check_transactions(client: AsyncMongoClient[Doc]) -> None:
    hello = await client.admin.command("hello")
    if "setName" not in hello and hello.get("msg") != "isdbgrid":
        raise TransactionsUnavailable(
            "MongoDB at this URL is a standalone server; Alert Whisperer needs transactions, "
            "which need a replica set (a one-node replica set is enough) or a sharded cluster"
        )


async def open_mongo_store(
    url: str,
    *,
    secret_key: str | bytes | None = None,
    database: str | None = None,
    **client_options: Any,
) -> MongoStore:
    """Open the MongoDB store at ``url`` (``mongodb://`` or ``mongodb+srv://``).

    The database is ``database``, else the one named in the URL's path, else
    ``alertwhisperer``. Collections and indexes are created if missing. ``secret_key``
    encrypts webhook HMAC secrets at rest (the SQL adapter's scheme); without it, storing
    one is refused. The server must support transactions (:class:`TransactionsUnavailable`).
    """
    secret_box = None
    if secret_key is not None:
        from ..sql._crypto import SecretBox

        secret_box = SecretBox(secret_key)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(
        url, tz_aware=True, tzinfo=UTC, **client_options
    )
    try:
        await _check_transactions(client)
        db = (
            client.get_database(database)
            if database
            else client.get_default_database(DEFAULT_DATABASE)
        )
        await s.ensure_schema(db)
    except BaseException:
        await client.close()
        raise
    return MongoStore(client, db, secret_box=secret_box)
