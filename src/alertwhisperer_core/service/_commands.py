"""Typed inputs of the management use cases, and their decoding from JSON bytes.

Each command is a frozen ``msgspec.Struct`` that refuses unknown fields, so the HTTP adapter
decodes a request body straight into it and publishes its JSON Schema in ``/openapi.json``:
what the schema says and what the server accepts cannot drift apart. Fields a caller may leave
out of a partial update default to ``UNSET`` ("keep the current value"), which is different from
an explicit ``null``.

Range checks that belong to the domain (settings ranges, password length) stay in the domain's
validators; the schemas here only check types and sizes.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeVar

import msgspec
from msgspec import UNSET, Meta, UnsetType

from .._models import IncidentStatus, Role
from ..errors import MalformedPayload, ValidationError

__all__ = [
    "UNSET",
    "AssetChanges",
    "CompanyChanges",
    "CorrelationChanges",
    "IncidentChanges",
    "LoginRequest",
    "NewAsset",
    "NewCompany",
    "NewNote",
    "NewUser",
    "PolicyChanges",
    "RateLimitChanges",
    "SettingsChanges",
    "UnsetType",
    "UserChanges",
    "decode_command",
]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(min_length=3, max_length=254)]
# Upper bound only: the length rule (SPEC: no weak passwords) is the domain's, in _secrets.
Password = Annotated[str, Meta(max_length=1024)]
Short = Annotated[str, Meta(max_length=200)]
Tag = Annotated[str, Meta(min_length=1, max_length=100)]
Ident = Annotated[str, Meta(min_length=1, max_length=200)]


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    password: Password


class NewUser(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email
    name: Name
    password: Password
    role: Role
    company_ids: Annotated[tuple[Ident, ...], Meta(max_length=1000)] = ()


class UserChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    email: Email | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    company_ids: Annotated[tuple[Ident, ...], Meta(max_length=1000)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class NewAsset(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name
    type: Short = ""
    os: Short = ""
    environment: Short = ""
    is_critical: bool = False
    instance_id: Short | None = None
    tags: Annotated[tuple[Tag, ...], Meta(max_length=100)] = ()


class AssetChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    type: Short | UnsetType = UNSET
    os: Short | UnsetType = UNSET
    environment: Short | UnsetType = UNSET
    is_critical: bool | UnsetType = UNSET
    instance_id: Short | UnsetType | None = UNSET
    tags: Annotated[tuple[Tag, ...], Meta(max_length=100)] | UnsetType = UNSET


class CorrelationChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    window_minutes: int | UnsetType = UNSET
    aggregation_key: Annotated[str, Meta(max_length=500)] | UnsetType = UNSET
    auto_correlate: bool | UnsetType = UNSET
    min_alerts: int | UnsetType = UNSET
    max_span_minutes: int | UnsetType = UNSET


class RateLimitChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    requests_per_minute: int | UnsetType = UNSET
    burst: int | UnsetType = UNSET


class PolicyChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    auto_approve_low_risk: bool | UnsetType = UNSET
    maintenance_windows: Annotated[tuple[Short, ...], Meta(max_length=100)] | UnsetType = UNSET
    timezone: Short | UnsetType = UNSET


class SettingsChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    correlation: CorrelationChanges | UnsetType = UNSET
    rate_limit: RateLimitChanges | UnsetType = UNSET
    policy: PolicyChanges | UnsetType = UNSET


class NewCompany(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name
    assets: Annotated[tuple[NewAsset, ...], Meta(max_length=10_000)] = ()
    policy: PolicyChanges | UnsetType = UNSET
    correlation: CorrelationChanges | UnsetType = UNSET
    rate_limit: RateLimitChanges | UnsetType = UNSET


class CompanyChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET


class IncidentChanges(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    status: IncidentStatus | UnsetType = UNSET
    # null unassigns; absent keeps the current assignee.
    assigned_to: Ident | UnsetType | None = UNSET


class NewNote(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    text: Annotated[str, Meta(min_length=1, max_length=10_000)]


C = TypeVar("C", bound=msgspec.Struct)

# "... - at `$.assets[0].name`": msgspec names the offending value by a JSON path.
_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")


def _field_of(message: str) -> tuple[str, str]:
    """Split a msgspec validation message into (field path, message without the path)."""
    at = _AT.search(message)
    path = at.group("path").lstrip(".") if at else ""
    text = message[: at.start()] if at else message
    named = _MISSING.match(text) or _UNKNOWN.match(text)
    if named:
        child = named.group("name")
        path = f"{path}.{child}" if path else child
    return path or "body", text


def _check_syntax(body: bytes) -> None:
    try:
        msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise MalformedPayload(f"Malformed JSON: {exc}") from None


def decode_command(body: bytes, command: type[C]) -> C:
    """Decode a JSON request body into ``command``.

    Raises :class:`MalformedPayload` (400) for bytes that are not JSON and
    :class:`ValidationError` (422) naming the field for JSON of the wrong shape.
    """
    if not body.strip():
        raise MalformedPayload("Request body must be a JSON object")
    try:
        return msgspec.json.decode(body, type=command)
    except msgspec.ValidationError as exc:
        # The typed decoder stops at the first misfit, possibly before a syntax error further
        # on; broken JSON is a 400 whatever it contains, so check the syntax on this path.
        _check_syntax(body)
        field, message = _field_of(str(exc))
        raise ValidationError.for_field(field, message) from None
    except msgspec.DecodeError as exc:
        raise MalformedPayload(f"Malformed JSON: {exc}") from None
