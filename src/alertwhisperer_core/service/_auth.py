"""Login, bearer tokens, logout, and the lockout after repeated failures (SPEC §8).

Tokens are 32 random bytes from the :class:`~alertwhisperer_core.ports.IdSource`, handed to the
client once and stored only as a SHA-256 hash (a random token has nothing to brute force, so a
fast hash is enough and allows lookup). They expire after :attr:`AuthPolicy.token_ttl` and are
deleted at logout.

Lockout: every attempt on an e-mail address is counted *before* the password is checked, and
the count is cleared by a success. Counting first means a burst of parallel guesses cannot slip
past the limit while slow password checks are in flight. After ``max_failures`` attempts within
``failure_window`` the address is locked for ``lockout``; a locked address is refused with 429
and ``Retry-After`` without checking the password, so guessing stops paying. Unknown addresses
are counted and locked the same way, and a password is always checked (against a dummy hash
when there is no user), so neither answers nor timing reveal which addresses exist.
"""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from .._models import AuditEntry, User
from .._secrets import hash_password, verify_password
from ..errors import AuthenticationFailed, RateLimited
from ..ports import AuthToken, IdSource, LoginAttempts, UnitOfWork
from ._services import Services

__all__ = [
    "DUMMY_PASSWORD_HASH",
    "AuthPolicy",
    "InlinePasswordHasher",
    "LoginResult",
    "PasswordHasher",
    "Principal",
    "authenticate_token",
    "hash_token",
    "lock_remaining",
    "login",
    "logout",
    "normalize_email",
    "record_failure",
]

TOKEN_BYTES = 32
_SALT_BYTES = 16
_INVALID = "Invalid email or password"

# A hash of no one's password, not a credential.
DUMMY_PASSWORD_HASH = (
    "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$JI1DHAJgpRlKqvOc3K7TBP0MUiD5r6joUG4et2wXxbE="  # noqa: S105
)
"""A valid scrypt hash of no one's password: checked when the e-mail has no user, so an unknown
address costs the same time as a wrong password."""


class PasswordHasher(Protocol):
    """Slow-KDF hashing. Servers run it off the event loop; it takes tens of milliseconds."""

    async def hash(self, password: str) -> str: ...

    async def verify(self, password: str, encoded: str) -> bool: ...


class InlinePasswordHasher:
    """scrypt in the calling task, with salts from ``ids``: for tests and single-task use."""

    def __init__(self, ids: IdSource) -> None:
        self._ids = ids

    async def hash(self, password: str) -> str:
        return hash_password(password, self._ids.token_bytes(_SALT_BYTES))

    async def verify(self, password: str, encoded: str) -> bool:
        return verify_password(password, encoded)


@attrs.frozen
class AuthPolicy:
    """Token lifetime and login lockout thresholds."""

    token_ttl: timedelta = timedelta(hours=12)
    max_failures: int = 5
    failure_window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


@attrs.frozen
class LoginResult:
    """A successful login: the bearer token (shown once) and whom it authenticates."""

    token: str
    user: User
    expires_at: datetime


@attrs.frozen
class Principal:
    """The user behind a request and the hash of the token that authenticated it."""

    user: User
    token_hash: str
    expires_at: datetime


def normalize_email(email: str) -> str:
    """The form e-mail addresses are compared and counted in."""
    return email.strip().lower()


def hash_token(token: str) -> str:
    """The only form in which a bearer token is stored."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def lock_remaining(attempts: LoginAttempts | None, now: datetime) -> int | None:
    """Whole seconds (rounded up) until a locked address may try again; None if not locked."""
    if attempts is None or attempts.locked_until is None or attempts.locked_until <= now:
        return None
    return max(1, math.ceil((attempts.locked_until - now).total_seconds()))


def record_failure(
    attempts: LoginAttempts | None, email: str, now: datetime, policy: AuthPolicy
) -> LoginAttempts:
    """Count one more attempt; locks the address when it reaches ``policy.max_failures``.

    A count older than ``failure_window``, or one whose lock has run out, starts over.
    """
    fresh = (
        attempts is None
        or now - attempts.first_failure_at > policy.failure_window
        or (attempts.locked_until is not None and attempts.locked_until <= now)
    )
    if fresh or attempts is None:
        counted = LoginAttempts(email=email, failures=1, first_failure_at=now)
    else:
        counted = attrs.evolve(attempts, failures=attempts.failures + 1)
    if counted.failures >= policy.max_failures:
        counted = attrs.evolve(counted, locked_until=now + policy.lockout)
    return counted


async def _audit_failure(
    services: Services,
    uow: UnitOfWork,
    now: datetime,
    email: str,
    user: User | None,
    reason: str,
    failures: int,
) -> None:
    await uow.audit.append(
        AuditEntry(
            id=services.ids.new_id(),
            timestamp=now,
            user_id=user.id if user else None,
            user_name=email,
            action="login_failed",
            details={"email": email, "reason": reason, "failures": failures},
            company_id=None,
        )
    )


async def login(
    services: Services, hasher: PasswordHasher, policy: AuthPolicy, email: str, password: str
) -> LoginResult:
    """Check the credentials and issue a bearer token.

    Raises :class:`AuthenticationFailed` (401, one message for every cause) or
    :class:`RateLimited` (429 with ``Retry-After``) while the address is locked. Every failure
    is audited as ``login_failed``.
    """
    key = normalize_email(email)
    now = services.clock.now()
    async with services.uow() as uow:
        attempts = await uow.login_attempts.get(key)
        user = await uow.users.by_email(key)
        remaining = lock_remaining(attempts, now)
        if remaining is not None:
            failures = attempts.failures if attempts else 0
            await _audit_failure(services, uow, now, key, user, "locked", failures)
            await uow.commit()
            limited = RateLimited(remaining, 429, {"Retry-After": str(remaining)})
            limited.detail = "Too many failed logins; try again later"
            raise limited
        counted = record_failure(attempts, key, now, policy)
        await uow.login_attempts.put(counted)
        await uow.commit()

    encoded = user.password_hash if user is not None and user.password_hash else ""
    valid = await hasher.verify(password, encoded or DUMMY_PASSWORD_HASH)
    if valid and encoded and user is not None and user.active:
        token = "awt_" + base64.urlsafe_b64encode(services.ids.token_bytes(TOKEN_BYTES)).decode()
        token = token.rstrip("=")
        expires_at = now + policy.token_ttl
        async with services.uow() as uow:
            await uow.login_attempts.delete(key)
            await uow.tokens.delete_expired(now)
            await uow.tokens.add(AuthToken(hash_token(token), user.id, now, expires_at))
            await uow.commit()
        return LoginResult(token=token, user=user, expires_at=expires_at)

    if user is None:
        reason = "unknown_user"
    elif not user.active:
        reason = "inactive_user"
    else:
        reason = "wrong_password"
    async with services.uow() as uow:
        await _audit_failure(services, uow, now, key, user, reason, counted.failures)
        await uow.commit()
    raise AuthenticationFailed(_INVALID)


async def authenticate_token(services: Services, token: str) -> Principal:
    """The active user a bearer token belongs to; :class:`AuthenticationFailed` otherwise.

    An expired token is deleted on sight.
    """
    now = services.clock.now()
    token_hash = hash_token(token)
    async with services.uow() as uow:
        stored = await uow.tokens.get(token_hash)
        if stored is not None and stored.expires_at <= now:
            await uow.tokens.delete(token_hash)
            await uow.commit()
            stored = None
        user = await uow.users.get(stored.user_id) if stored is not None else None
    if stored is None or user is None or not user.active:
        raise AuthenticationFailed("Not authenticated")
    return Principal(user=user, token_hash=token_hash, expires_at=stored.expires_at)


async def logout(services: Services, principal: Principal) -> None:
    """Revoke the token that authenticated this request."""
    async with services.uow() as uow:
        await uow.tokens.delete(principal.token_hash)
        await uow.commit()
