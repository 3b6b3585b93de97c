"""The one place where MongoDB's errors become the ports' errors.

A multi-document transaction does not wait for another transaction's write to the same
document: the second writer gets ``WriteConflict`` (code 112) at once, labelled
``TransientTransactionError``, and its transaction is aborted. Network errors inside a
transaction carry the same label. Both mean "run the whole unit of work again", which is what
:class:`~alertwhisperer_core.ports.TransientConflict` tells the use case.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from alertwhisperer_core.ports import TransientConflict

__all__ = [
    "WRITE_CONFLICT",
    "is_duplicate_key",
    "is_transient",
    "mongo_errors",
]

WRITE_CONFLICT = 112
DUPLICATE_KEY = 11000
_TRANSIENT_LABEL = "TransientTransactionError"


def _write_error_codes(error: PyMongoError) -> set[int]:
    if isinstance(error, BulkWriteError):
        return {e.get("code", 0) for e in error.details.get("writeErrors", ())}
    return set()


def is_transient(error: PyMongoError) -> bool:
    """Whether the transaction lost a race (or its connection) and may simply run again."""
    if error.has_error_label(_TRANSIENT_LABEL):
        return True
    code = getattr(error, "code", None)
    return code == WRITE_CONFLICT or WRITE_CONFLICT in _write_error_codes(error)


def is_duplicate_key(error: PyMongoError) -> bool:
    """Whether a unique index refused the write (on its own or inside a bulk write)."""
    return isinstance(error, DuplicateKeyError) or DUPLICATE_KEY in _write_error_codes(error)


@contextmanager
def mongo_errors() -> Iterator[None]:
    """Raise a lost race as :class:`TransientConflict`; let every other error through."""
    try:
        yield
    except PyMongoError as error:
        if is_transient(error):
            raise TransientConflict(str(error)) from error
        raise
