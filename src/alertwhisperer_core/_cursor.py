"""Opaque keyset cursors for paginated lists.

A cursor encodes the sort key of the last item of a page, so pages stay stable while new
items arrive (an offset would skip or repeat items). Every back end encodes the same way.
"""

from __future__ import annotations

import base64
import binascii

import msgspec

from .errors import ValidationError

__all__ = ["decode_cursor", "encode_cursor"]

_ENCODER = msgspec.json.Encoder()


def encode_cursor(*key: str | int | float) -> str:
    """An opaque cursor for the sort key ``key``."""
    return base64.urlsafe_b64encode(_ENCODER.encode(list(key))).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str | int | float]:
    """The sort key in ``cursor``; a malformed cursor is a 422 naming ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw, type=list[str | int | float])
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ValidationError.for_field("cursor", "is not a cursor this server issued") from None
    if len(key) != arity:
        raise ValidationError.for_field("cursor", "is not a cursor this server issued")
    return key
