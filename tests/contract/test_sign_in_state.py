"""Token and login-attempt repository contract."""

from __future__ import annotations

from alertwhisperer_core.ports import AuthToken, LoginAttempts, UnitOfWorkFactory

from .records import T0, at


def token(token_hash: str, user_id: str = "u-1", expires: float = 60) -> AuthToken:
    return AuthToken(token_hash=token_hash, user_id=user_id, created_at=T0, expires_at=at(expires))


async def _add(store: UnitOfWorkFactory, *tokens: AuthToken) -> None:
    async with store() as uow:
        for t in tokens:
            await uow.tokens.add(t)
        await uow.commit()


async def test_token_round_trips(store: UnitOfWorkFactory) -> None:
    await _add(store, token("h-1"))
    async with store() as uow:
        assert await uow.tokens.get("h-1") == token("h-1")
        assert await uow.tokens.get("h-2") is None


async def test_deleted_token_is_revoked(store: UnitOfWorkFactory) -> None:
    await _add(store, token("h-1"), token("h-2"))
    async with store() as uow:
        await uow.tokens.delete("h-1")
        await uow.commit()
    async with store() as uow:
        assert await uow.tokens.get("h-1") is None
        assert await uow.tokens.get("h-2") is not None


async def test_deleting_a_users_tokens_leaves_others(store: UnitOfWorkFactory) -> None:
    await _add(store, token("h-1", "u-1"), token("h-2", "u-1"), token("h-3", "u-2"))
    async with store() as uow:
        await uow.tokens.delete_for_user("u-1")
        await uow.commit()
    async with store() as uow:
        assert [await uow.tokens.get(h) is None for h in ("h-1", "h-2", "h-3")] == [
            True,
            True,
            False,
        ]


async def test_expired_tokens_are_purged_and_counted(store: UnitOfWorkFactory) -> None:
    await _add(store, token("h-1", expires=10), token("h-2", expires=20), token("h-3", expires=30))
    async with store() as uow:
        assert await uow.tokens.delete_expired(at(20)) == 2
        await uow.commit()
    async with store() as uow:
        assert await uow.tokens.get("h-3") is not None
        assert await uow.tokens.get("h-2") is None


async def test_login_attempts_are_put_replaced_and_deleted(store: UnitOfWorkFactory) -> None:
    first = LoginAttempts(email="ada@example.test", failures=1, first_failure_at=T0)
    locked = LoginAttempts(email="ada@example.test", failures=5, first_failure_at=T0,
                           locked_until=at(15))  # fmt: skip
    async with store() as uow:
        await uow.login_attempts.put(first)
        await uow.login_attempts.put(locked)
        await uow.commit()
    async with store() as uow:
        assert await uow.login_attempts.get("ada@example.test") == locked
        await uow.login_attempts.delete("ada@example.test")
        await uow.commit()
    async with store() as uow:
        assert await uow.login_attempts.get("ada@example.test") is None
