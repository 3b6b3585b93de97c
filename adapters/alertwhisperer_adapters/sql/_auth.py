"""SQL repositories for sign-in state: bearer tokens (by hash only) and failed-login counters."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, literal, select

from alertwhisperer_core.ports import AuthToken, LoginAttempts

from . import _schema as s
from ._types import UtcDateTime

if TYPE_CHECKING:
    from ._uow import SqlUnitOfWork

__all__ = ["SqlLoginAttempts", "SqlTokens"]

_T = s.tokens.c
_TOKEN = select(_T.token_hash, _T.user_id, _T.created_at, _T.expires_at).where(
    _T.token_hash == bindparam("h")
)
_L = s.login_attempts.c
_ATTEMPTS = select(_L.email, _L.failures, _L.first_failure_at, _L.locked_until).where(
    _L.email == bindparam("e")
)


class SqlTokens:
    """Bearer tokens; deleting one revokes it."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def add(self, token: AuthToken) -> None:
        row = {
            "token_hash": token.token_hash,
            "user_id": token.user_id,
            "created_at": token.created_at,
            "expires_at": token.expires_at,
        }
        await self.uow.rows(self.uow.dialect.upsert_token, row)

    async def get(self, token_hash: str) -> AuthToken | None:
        row = (await self.uow.execute(_TOKEN, {"h": token_hash})).first()
        if row is None:
            return None
        token_hash_, user_id, created_at, expires_at = row
        return AuthToken(
            token_hash=token_hash_, user_id=user_id, created_at=created_at, expires_at=expires_at
        )

    async def delete(self, token_hash: str) -> None:
        await self.uow.execute(delete(s.tokens).where(_T.token_hash == token_hash))

    async def delete_for_user(self, user_id: str) -> None:
        await self.uow.execute(delete(s.tokens).where(_T.user_id == user_id))

    async def delete_expired(self, now: datetime) -> int:
        stmt = delete(s.tokens).where(_T.expires_at <= literal(now, UtcDateTime()))
        return int((await self.uow.execute(stmt)).rowcount)


class SqlLoginAttempts:
    """Failed logins per e-mail address, shared by every server process."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self.uow = uow

    async def get(self, email: str) -> LoginAttempts | None:
        row = (await self.uow.execute(_ATTEMPTS, {"e": email})).first()
        if row is None:
            return None
        email_, failures, first_failure_at, locked_until = row
        return LoginAttempts(
            email=email_,
            failures=failures,
            first_failure_at=first_failure_at,
            locked_until=locked_until,
        )

    async def put(self, attempts: LoginAttempts) -> None:
        row: dict[str, Any] = {
            "email": attempts.email,
            "failures": attempts.failures,
            "first_failure_at": attempts.first_failure_at,
            "locked_until": attempts.locked_until,
        }
        await self.uow.rows(self.uow.dialect.upsert_login_attempts, row)

    async def delete(self, email: str) -> None:
        await self.uow.execute(delete(s.login_attempts).where(_L.email == email))
