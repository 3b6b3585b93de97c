"""MongoDB persistence: every store port on pymongo's async client, one transaction per unit
of work (the server must be a replica set; one node is enough).

See ``docs/persistence.md`` for the document model, the key locks and the indexes.
"""

from ._store import (
    DEFAULT_DATABASE,
    MongoReplayGuard,
    MongoStore,
    TransactionsUnavailable,
    open_mongo_store,
)
from ._uow import MongoUnitOfWork

__all__ = [
    "DEFAULT_DATABASE",
    "MongoReplayGuard",
    "MongoStore",
    "MongoUnitOfWork",
    "TransactionsUnavailable",
    "open_mongo_store",
]
