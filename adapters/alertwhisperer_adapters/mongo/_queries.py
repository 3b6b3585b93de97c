"""Query pieces shared by the repositories: keyset cursors, visibility, time ranges, search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alertwhisperer_core._cursor import decode_cursor, encode_cursor
from alertwhisperer_core.errors import ValidationError

from ._codec import Doc, from_micros, micros

__all__ = ["after_cursor", "all_of", "contains", "next_cursor", "visible", "within"]


def _bad_cursor() -> ValidationError:
    return ValidationError.for_field("cursor", "is not a cursor this server issued")


def after_cursor(cursor: str | None, at_field: str) -> Doc | None:
    """The keyset condition ``(at, _id) < cursor`` of a newest-first list, or None.

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
    at = micros(instant.astimezone(UTC))
    return {"$or": [{at_field: {"$lt": at}}, {at_field: at, "_id": {"$lt": id_}}]}


def next_cursor(docs: list[Doc], limit: int, at_field: str) -> str | None:
    """The cursor after the last of the first ``limit`` documents, when more follow."""
    if len(docs) <= limit or limit <= 0:
        return None
    last = docs[limit - 1]
    return encode_cursor(from_micros(last[at_field]).isoformat(), last["_id"])


def visible(field: str, company_ids: frozenset[str] | None) -> Doc:
    """``field`` is one of ``company_ids`` (every company when None)."""
    return {} if company_ids is None else {field: {"$in": sorted(company_ids)}}


def within(field: str, since: datetime | None, until: datetime | None) -> Doc:
    """``since <= field < until``, either bound optional."""
    bounds: dict[str, int] = {}
    if since is not None:
        bounds["$gte"] = micros(since)
    if until is not None:
        bounds["$lt"] = micros(until)
    return {field: bounds} if bounds else {}


def contains(needle: str, *fields: str) -> Doc:
    """Any of the lower-cased ``fields`` contains ``needle`` (already lower-cased).

    A plain substring test, not a regular expression: nothing in the needle needs escaping.
    UTF-8 is self-synchronizing, so a byte-wise find is a character-wise find.
    """
    literal = {"$literal": needle}  # a needle starting with "$" is text, not a field path
    tests: list[Any] = [{"$gte": [{"$indexOfBytes": [f"${f}", literal]}, 0]} for f in fields]
    return {"$expr": {"$or": tests}}


def all_of(*clauses: Doc) -> Doc:
    """One filter requiring every non-empty clause."""
    kept = [c for c in clauses if c]
    if not kept:
        return {}
    return kept[0] if len(kept) == 1 else {"$and": kept}
