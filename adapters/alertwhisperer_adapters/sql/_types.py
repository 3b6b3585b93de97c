"""Column types that behave the same on SQLite and PostgreSQL.

SQLite has no time zone type, so instants are stored there as integer microseconds since the
Unix epoch: exact, compact, and they sort in time order. PostgreSQL stores ``timestamptz``.
Both hand back timezone-aware UTC datetimes, which is what the core's cursors and sort orders
(``isoformat()`` of UTC instants) rely on.

Identifiers compare byte-wise (``COLLATE "C"`` on PostgreSQL, SQLite's default ``BINARY``),
so keyset pagination orders ties by id exactly as Python's ``str`` ordering does in the
in-memory store, whatever the database's default collation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["EPOCH", "Identifier", "UtcDateTime", "from_micros", "to_micros"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

Identifier: TypeEngine[str] = Text().with_variant(Text(collation="C"), "postgresql")
"""Text compared byte-wise on every back end (ids, keys)."""


def to_micros(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime; a naive one is a programming error."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the store keeps UTC instants only")
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """The aware UTC datetime of :func:`to_micros`."""
    return EPOCH + timedelta(microseconds=value)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC instant: ``timestamptz`` on PostgreSQL, integer microseconds on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return to_micros(value)
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps UTC instants only")
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, int):
            return from_micros(value)
        if value.tzinfo is not UTC:
            # psycopg answers in the session's time zone; the core wants UTC.
            return value.astimezone(UTC)  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]
