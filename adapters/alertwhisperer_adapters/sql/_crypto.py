"""Encryption at rest for webhook HMAC secrets (AES-256-GCM from ``cryptography``).

HMAC secrets must be recoverable to verify signatures, so they cannot be hashed like API keys
and passwords. Each company's list of secrets is sealed as one blob:
``version (1 byte) | nonce (12 bytes) | ciphertext+tag``, with the company id as associated
data, so a blob copied onto another company's row fails to open instead of verifying that
company's webhooks. The AES key is derived from the operator's secret key with HKDF-SHA256
under a purpose label, so the same secret can also sign sessions without key reuse.
"""

from __future__ import annotations

import os

import msgspec

__all__ = ["SecretBox", "SecretStorageError"]

_VERSION = b"\x01"
_NONCE_BYTES = 12
_INFO = b"alertwhisperer/sql/hmac-secrets/v1"
_DECODER = msgspec.json.Decoder(list[str])


class SecretStorageError(RuntimeError):
    """HMAC secrets cannot be stored or read: no secret key was configured, or the wrong one."""


class SecretBox:
    """Seals and opens a company's HMAC secrets with a key derived from ``secret_key``."""

    def __init__(self, secret_key: str | bytes) -> None:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        raw = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
        if len(raw) < 16:
            raise ValueError("the secret key must be at least 16 bytes")
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(raw)
        self._aead = AESGCM(key)

    def seal(self, company_id: str, secrets: list[str]) -> bytes:
        """The blob stored for ``company_id``'s ``secrets``."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, msgspec.json.encode(secrets), company_id.encode())
        return _VERSION + nonce + sealed

    def open(self, company_id: str, blob: bytes) -> list[str]:
        """The secrets sealed in ``blob``; :class:`SecretStorageError` if it does not open."""
        from cryptography.exceptions import InvalidTag

        if blob[:1] != _VERSION:
            raise SecretStorageError("unknown HMAC secret format")
        nonce, sealed = blob[1 : 1 + _NONCE_BYTES], blob[1 + _NONCE_BYTES :]
        try:
            plain = self._aead.decrypt(nonce, sealed, company_id.encode())
        except InvalidTag:
            raise SecretStorageError(
                "HMAC secrets do not decrypt: the configured secret key is not the one they "
                "were stored with"
            ) from None
        return _DECODER.decode(plain)
