"""A company's own AWS credentials (issue #5): what may be stored, and what may be shown.

A company either gives an access key (``access_key_id`` + ``secret_access_key``, plus a
``session_token`` for temporary ``ASIA…`` keys) or a role for the server to assume through STS
(``role_arn``, optional ``external_id``), always with the ``region`` its instances live in.
:func:`aws_credentials` checks every field's format and raises :class:`ValidationError`
naming the first bad one; nothing is stored unless all are good.

The secrets (secret access key, session token, external id) never leave the server:
:func:`aws_credentials_summary` is the only view an API answers, and the record's ``repr``
hides them, so neither a log line nor a response can carry one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .errors import ValidationError

__all__ = ["AwsCredentials", "aws_credentials", "aws_credentials_summary"]

# AWS's documented shapes. Key ids: 20 characters, AKIA (long-term) or ASIA (temporary).
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
_KEY_ID = re.compile(r"(?:AKIA|ASIA)[A-Z0-9]{16}")
_SECRET = re.compile(r"[A-Za-z0-9/+=]{40}")
_TOKEN = re.compile(r"[A-Za-z0-9/+=]{16,8192}")
_ROLE_ARN = re.compile(r"arn:aws(?:-[a-z]+)*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
_EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")


@attrs.frozen
class AwsCredentials:
    """How the server reaches one company's AWS account (exactly one of keys or a role)."""

    region: str
    updated_at: datetime
    access_key_id: str | None = None
    secret_access_key: str | None = attrs.field(default=None, repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)
    role_arn: str | None = None
    external_id: str | None = attrs.field(default=None, repr=False)

    @property
    def uses_role(self) -> bool:
        return self.role_arn is not None


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError.for_field(name, "must be a string")
    return value


def _check(name: str, value: str | None, pattern: re.Pattern[str], shape: str) -> None:
    if value is not None and not pattern.fullmatch(value):
        raise ValidationError.for_field(name, f"must be {shape}")


def aws_credentials(body: Mapping[str, Any], now: datetime) -> AwsCredentials:
    """The credentials in ``body`` (a decoded request), stamped ``updated_at=now``.

    Raises :class:`ValidationError` naming the field: a missing or malformed ``region``; keys
    and a role together, or neither; a key id without its secret (or the reverse); a
    temporary ``ASIA…`` key without its ``session_token``; a ``session_token`` or
    ``external_id`` with the wrong kind of credentials; any value of the wrong shape.
    """
    fields = {name: _text(body, name) for name in _FIELDS}
    region = fields["region"]
    if not region:
        raise ValidationError.for_field("region", "is required (for example eu-west-1)")
    _check("region", region, _REGION, "an AWS region such as eu-west-1")
    key_id, secret = fields["access_key_id"], fields["secret_access_key"]
    token, role_arn, external_id = (
        fields["session_token"],
        fields["role_arn"],
        fields["external_id"],
    )
    if role_arn is not None:
        for name in ("access_key_id", "secret_access_key", "session_token"):
            if fields[name] is not None:
                raise ValidationError.for_field(
                    name, "give either an access key or role_arn, not both"
                )
        _check("role_arn", role_arn, _ROLE_ARN, "an IAM role ARN (arn:aws:iam::<account>:role/…)")
        _check("external_id", external_id, _EXTERNAL_ID, "2 to 1224 of [A-Za-z0-9+=,.@:/_-]")
        return AwsCredentials(
            region=region, updated_at=now, role_arn=role_arn, external_id=external_id
        )
    if external_id is not None:
        raise ValidationError.for_field("external_id", "is only used with role_arn")
    if key_id is None:
        raise ValidationError.for_field(
            "access_key_id", "is required (with secret_access_key), unless role_arn is given"
        )
    _check("access_key_id", key_id, _KEY_ID, "an AWS access key id (AKIA… or ASIA…, 20 chars)")
    if secret is None:
        raise ValidationError.for_field("secret_access_key", "is required with access_key_id")
    _check("secret_access_key", secret, _SECRET, "40 characters of [A-Za-z0-9/+=]")
    if token is None and key_id.startswith("ASIA"):
        raise ValidationError.for_field(
            "session_token", "is required with a temporary (ASIA…) access key"
        )
    _check("session_token", token, _TOKEN, "16 to 8192 characters of [A-Za-z0-9/+=]")
    return AwsCredentials(
        region=region,
        updated_at=now,
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=token,
    )


_FIELDS = (
    "region",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "role_arn",
    "external_id",
)


def aws_credentials_summary(credentials: AwsCredentials | None) -> dict[str, Any]:
    """What an API may show: whether credentials are set, the region, the key id's last four
    characters or the role ARN, and when they were set. Never a secret."""
    if credentials is None:
        return {
            "configured": False,
            "kind": None,
            "region": None,
            "access_key_id_last4": None,
            "role_arn": None,
            "updated_at": None,
        }
    key_id = credentials.access_key_id
    return {
        "configured": True,
        "kind": "role" if credentials.uses_role else "access_key",
        "region": credentials.region,
        "access_key_id_last4": key_id[-4:] if key_id else None,
        "role_arn": credentials.role_arn,
        "updated_at": credentials.updated_at,
    }
