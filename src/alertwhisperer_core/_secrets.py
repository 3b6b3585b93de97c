"""API keys, webhook secrets and passwords: generation from supplied randomness, hashing, checks.

API keys are 32 random bytes, so a single SHA-256 is a sound at-rest hash (nothing to brute
force) and allows lookup by hash. Passwords are low-entropy, so they get scrypt, a slow KDF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from .errors import ValidationError

__all__ = [
    "API_KEY_BYTES",
    "generate_api_key",
    "hash_api_key",
    "hash_password",
    "verify_password",
]

API_KEY_BYTES = 32
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_LENGTH = 10


def generate_api_key(random_bytes: bytes) -> str:
    """A company API key from at least 32 random bytes (the caller's secure source)."""
    if len(random_bytes) < API_KEY_BYTES:
        raise ValueError("an API key needs at least 32 random bytes")
    return "aw_" + base64.urlsafe_b64encode(random_bytes).decode().rstrip("=")


def hash_api_key(api_key: str) -> str:
    """The only form in which an API key is stored."""
    return "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()


def hash_password(password: str, salt: bytes) -> str:
    """scrypt hash of ``password`` in a self-describing string; ``salt`` ≥ 16 random bytes."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError.for_field(
            "password", f"must be at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(salt) < 16:
        raise ValueError("a password salt needs at least 16 random bytes")
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time check of ``password`` against :func:`hash_password`'s output."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        actual = hashlib.scrypt(
            password.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
