"""Encryption at rest for webhook HMAC secrets and companies' AWS credentials (AES-256-GCM
from ``cryptography``).

HMAC secrets must be recoverable to verify signatures, so they cannot be hashed like API keys
and passwords. Each company's list of secrets is sealed as one blob:
``version (1 byte) | nonce (12 bytes) | ciphertext+tag``, with the company id as associated
data, so a blob copied onto another company's row fails to open instead of verifying that
company's webhooks. The AES key is derived from the operator's secret key with HKDF-SHA256
under a purpose label, so the same secret can also sign sessions without key reuse; AWS
credentials are sealed the same way under a key of their own (:meth:`SecretBox.for_purpose`).
"""

from __future__ import annotations

import os
from datetime import datetime

import msgspec

from alertwhisperer_core import AwsCredentials

__all__ = [
    "AWS_CREDENTIALS",
    "SecretBox",
    "SecretStorageError",
    "open_aws_credentials",
    "seal_aws_credentials",
]

_VERSION = b"\x01"
_NONCE_BYTES = 12
_INFO = b"alertwhisperer/sql/hmac-secrets/v1"
AWS_CREDENTIALS = b"alertwhisperer/aws-credentials/v1"
_DECODER = msgspec.json.Decoder(list[str])


class SecretStorageError(RuntimeError):
    """HMAC secrets cannot be stored or read: no secret key was configured, or the wrong one."""


class SecretBox:
    """Seals and opens a company's HMAC secrets with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str | bytes, *, purpose: bytes = _INFO) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        raw = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
        if len(raw) < 16:
            raise ValueError("the secret key must be at least 16 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(raw)
        self._aead = AESGCM(key)
        self._raw = raw
        self._derived: dict[bytes, SecretBox] = {}

    def for_purpose(self, purpose: bytes) -> SecretBox:
        """A box from the same secret key under another purpose label (its own AES key)."""
        if purpose not in self._derived:
            self._derived[purpose] = SecretBox(self._raw, purpose=purpose)
        return self._derived[purpose]

    def seal(self, company_id: str, secrets: list[str]) -> bytes:
        """The blob stored for ``company_id``'s ``secrets``."""
        return self.seal_bytes(company_id, msgspec.json.encode(secrets))

    def open(self, company_id: str, blob: bytes) -> list[str]:
        """The secrets sealed in ``blob``; :class:`SecretStorageError` if it does not open."""
        return _DECODER.decode(self.open_bytes(company_id, blob, "HMAC secrets"))

    def seal_bytes(self, company_id: str, plain: bytes) -> bytes:
        """``plain`` sealed for ``company_id`` (the company id is the associated data)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain, company_id.encode())
        return _VERSION + nonce + sealed

    def open_bytes(self, company_id: str, blob: bytes, what: str = "secrets") -> bytes:
        """What :meth:`seal_bytes` sealed; :class:`SecretStorageError` naming ``what`` if the
        blob is not one, is another company's, or was sealed with another key."""
        from cryptography.exceptions import InvalidTag

        if blob[:1] != _VERSION:
            raise SecretStorageError(f"unknown {what} format")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, sealed, company_id.encode())
        except InvalidTag:
            raise SecretStorageError(
                f"{what} do not decrypt: the configured secret key is not the one they "
                "were stored with"
            ) from None


class _SealedAws(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    region: str
    updated_at: str
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    role_arn: str | None = None
    external_id: str | None = None


_AWS_DECODER = msgspec.json.Decoder(_SealedAws)


def seal_aws_credentials(box: SecretBox, company_id: str, credentials: AwsCredentials) -> bytes:
    """``credentials`` as one blob (every field, the key id and role ARN too), sealed for
    ``company_id`` with the AWS-credentials key derived from ``box``'s secret key."""
    record = _SealedAws(
        region=credentials.region,
        updated_at=credentials.updated_at.isoformat(),
        access_key_id=credentials.access_key_id,
        secret_access_key=credentials.secret_access_key,
        session_token=credentials.session_token,
        role_arn=credentials.role_arn,
        external_id=credentials.external_id,
    )
    return box.for_purpose(AWS_CREDENTIALS).seal_bytes(company_id, msgspec.json.encode(record))


def open_aws_credentials(box: SecretBox, company_id: str, blob: bytes) -> AwsCredentials:
    """What :func:`seal_aws_credentials` sealed; :class:`SecretStorageError` if it does not
    open (another company's blob, another secret key)."""
    plain = box.for_purpose(AWS_CREDENTIALS).open_bytes(company_id, blob, "AWS credentials")
    record = _AWS_DECODER.decode(plain)
    return AwsCredentials(
        region=record.region,
        updated_at=datetime.fromisoformat(record.updated_at),
        access_key_id=record.access_key_id,
        secret_access_key=record.secret_access_key,
        session_token=record.session_token,
        role_arn=record.role_arn,
        external_id=record.external_id,
    )
