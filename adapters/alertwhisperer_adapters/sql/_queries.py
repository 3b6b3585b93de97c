"""Helpers shared by the repositories: keyset cursors, visibility, time ranges."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, literal, true, tuple_

from alertwhisperer_core._cursor import decode_cursor
from alertwhisperer_core.errors import ValidationError

from ._types import Identifier, UtcDateTime

__all__ = ["after_cursor", "at", "param", "row_limit", "visible", "within"]


def param(name: str, type_: Any = None) -> Any:
    """A named bind parameter."""
    return bindparam(name, type_=type_)


def at(value: datetime) -> Any:
    """An instant as a typed literal parameter."""
    return literal(value, UtcDateTime())


def _bad_cursor() -> ValidationError:
    return ValidationError.for_field("cursor", "is not a cursor this server issued")


def after_cursor(cursor: str | None, at_col: Any, id_col: Any) -> ColumnElement[bool] | None:
    """The keyset condition ``(instant, id) < cursor`` of a newest-first list, or None.

    Cursors are the in-memory store's: ``encode_cursor(instant.isoformat(), id)``. For UTC
    instants ISO text order is time order, so comparing instants equals comparing the text.
    """
    if cursor is None:
        return None
    at_text, id_ = decode_cursor(cursor, 2)
    if not isinstance(at_text, str) or not isinstance(id_, str):
        raise _bad_cursor()
    try:
        instant = datetime.fromisoformat(at_text)
    except ValueError:
        raise _bad_cursor() from None
    if instant.tzinfo is None:
        raise _bad_cursor()
    key = tuple_(literal(instant.astimezone(UTC), UtcDateTime()), literal(id_, Identifier))
    return tuple_(at_col, id_col) < key


def visible(column: Any, company_ids: frozenset[str] | None) -> ColumnElement[bool]:
    """``column`` is one of ``company_ids`` (every company when None)."""
    return true() if company_ids is None else column.in_(sorted(company_ids))


def within(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    """``since <= column < until``, either bound optional."""
    clauses = []
    if since is not None:
        clauses.append(column >= at(since))
    if until is not None:
        clauses.append(column < at(until))
    return clauses


def row_limit(limit: int) -> int:
    return max(limit, 0)
