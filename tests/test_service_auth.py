"""Login, bearer tokens, logout and the lockout after repeated failures (SPEC §8)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from alertwhisperer_core import AuthenticationFailed, RateLimited, Role, User
from alertwhisperer_core.ports import LoginAttempts
from alertwhisperer_core.service import (
    AuthPolicy,
    InlinePasswordHasher,
    LoginResult,
    authenticate_token,
    hash_token,
    login,
    logout,
)
from alertwhisperer_core.service._auth import (
    DUMMY_PASSWORD_HASH,
    lock_remaining,
    record_failure,
)

from .support.world import T0, World, make_world

PASSWORD = "correct horse battery"
POLICY = AuthPolicy()


async def _user(world: World, *, active: bool = True, email: str = "ann@example.test") -> User:
    hasher = InlinePasswordHasher(world.ids)
    user = User(
        id="u-ann",
        email=email,
        name="Ann",
        role=Role.TECHNICIAN,
        company_ids=frozenset({"acme"}),
        password_hash=await hasher.hash(PASSWORD),
        active=active,
    )
    async with world.store() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


async def _login(
    world: World, email: str = "ann@example.test", password: str = PASSWORD
) -> LoginResult:
    return await login(world.services, InlinePasswordHasher(world.ids), POLICY, email, password)


def _actions(world: World) -> list[str]:
    return [e.action for e in world.store.audit]


async def test_login_with_the_right_password_issues_a_token_for_the_user() -> None:
    world = make_world()
    user = await _user(world)
    result = await _login(world)
    assert result.user.id == user.id
    assert result.expires_at == T0 + POLICY.token_ttl
    principal = await authenticate_token(world.services, result.token)
    assert principal.user.id == user.id


async def test_login_matches_email_case_and_whitespace_insensitively() -> None:
    world = make_world()
    await _user(world)
    result = await _login(world, "  ANN@Example.TEST ")
    assert result.user.email == "ann@example.test"


async def test_tokens_are_stored_only_as_hashes() -> None:
    world = make_world()
    await _user(world)
    result = await _login(world)
    assert result.token not in world.store.tokens
    assert hash_token(result.token) in world.store.tokens
    assert all(result.token not in str(t) for t in world.store.tokens.values())


async def test_wrong_password_is_refused_and_audited_as_login_failed() -> None:
    world = make_world()
    user = await _user(world)
    with pytest.raises(AuthenticationFailed):
        await _login(world, password="not the password")
    entry = world.store.audit[-1]
    assert entry.action == "login_failed"
    assert entry.user_id == user.id
    assert entry.details["reason"] == "wrong_password"
    assert PASSWORD not in str(entry.details)
    assert world.store.tokens == {}


async def test_unknown_email_is_refused_with_the_same_message_as_a_wrong_password() -> None:
    world = make_world()
    await _user(world)
    with pytest.raises(AuthenticationFailed) as unknown:
        await _login(world, email="nobody@example.test")
    with pytest.raises(AuthenticationFailed) as wrong:
        await _login(world, password="not the password")
    assert unknown.value.detail == wrong.value.detail
    assert world.store.audit[0].details["reason"] == "unknown_user"


async def test_inactive_user_cannot_log_in_even_with_the_right_password() -> None:
    world = make_world()
    await _user(world, active=False)
    with pytest.raises(AuthenticationFailed):
        await _login(world)
    assert world.store.audit[-1].details["reason"] == "inactive_user"


async def test_user_without_a_password_hash_cannot_log_in() -> None:
    world = make_world()
    await world.add_user("u-nohash", Role.TECHNICIAN, "acme")
    with pytest.raises(AuthenticationFailed):
        await _login(world, email="u-nohash@example.test", password=PASSWORD)


async def test_five_failures_lock_the_address_with_a_retry_after() -> None:
    world = make_world()
    await _user(world)
    for _ in range(POLICY.max_failures):
        with pytest.raises(AuthenticationFailed):
            await _login(world, password="wrong password!")
    with pytest.raises(RateLimited) as locked:
        await _login(world)  # even the right password is not checked while locked
    assert locked.value.status == 429
    assert locked.value.retry_after_seconds == int(POLICY.lockout.total_seconds())
    assert locked.value.headers["Retry-After"] == str(locked.value.retry_after_seconds)
    assert world.store.audit[-1].details["reason"] == "locked"


async def test_lock_expires_after_the_lockout_period() -> None:
    world = make_world()
    await _user(world)
    for _ in range(POLICY.max_failures):
        with pytest.raises(AuthenticationFailed):
            await _login(world, password="wrong password!")
    world.clock.advance(POLICY.lockout)
    assert (await _login(world)).user.id == "u-ann"


async def test_unknown_addresses_are_locked_too() -> None:
    world = make_world()
    for _ in range(POLICY.max_failures):
        with pytest.raises(AuthenticationFailed):
            await _login(world, email="ghost@example.test")
    with pytest.raises(RateLimited):
        await _login(world, email="ghost@example.test")


async def test_success_clears_the_failure_count() -> None:
    world = make_world()
    await _user(world)
    for _ in range(POLICY.max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            await _login(world, password="wrong password!")
    await _login(world)
    assert "ann@example.test" not in world.store.login_attempts
    for _ in range(POLICY.max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            await _login(world, password="wrong password!")
    assert (await _login(world)).user.id == "u-ann"


def test_failures_spread_beyond_the_window_start_a_new_count() -> None:
    attempts = LoginAttempts("a@b", failures=4, first_failure_at=T0)
    later = record_failure(
        attempts, "a@b", T0 + POLICY.failure_window + timedelta(seconds=1), POLICY
    )
    assert later.failures == 1
    assert later.locked_until is None


def test_the_attempt_that_reaches_the_limit_sets_the_lock() -> None:
    attempts = LoginAttempts("a@b", failures=POLICY.max_failures - 1, first_failure_at=T0)
    counted = record_failure(attempts, "a@b", T0 + timedelta(minutes=1), POLICY)
    assert counted.locked_until == T0 + timedelta(minutes=1) + POLICY.lockout


def test_lock_remaining_rounds_up_to_whole_seconds() -> None:
    attempts = LoginAttempts("a@b", 5, T0, locked_until=T0 + timedelta(seconds=10, milliseconds=1))
    assert lock_remaining(attempts, T0) == 11
    assert lock_remaining(attempts, T0 + timedelta(seconds=11)) is None
    assert lock_remaining(None, T0) is None


async def test_expired_token_is_refused_and_forgotten() -> None:
    world = make_world()
    await _user(world)
    result = await _login(world)
    world.clock.advance(POLICY.token_ttl)
    with pytest.raises(AuthenticationFailed):
        await authenticate_token(world.services, result.token)
    assert world.store.tokens == {}


async def test_logout_revokes_the_token() -> None:
    world = make_world()
    await _user(world)
    result = await _login(world)
    await logout(world.services, await authenticate_token(world.services, result.token))
    with pytest.raises(AuthenticationFailed):
        await authenticate_token(world.services, result.token)


async def test_token_of_a_deactivated_user_is_refused() -> None:
    world = make_world()
    user = await _user(world)
    result = await _login(world)
    async with world.store() as uow:
        await uow.users.update(attrs.evolve(user, active=False))
        await uow.commit()
    with pytest.raises(AuthenticationFailed):
        await authenticate_token(world.services, result.token)


async def test_made_up_token_is_refused() -> None:
    world = make_world()
    with pytest.raises(AuthenticationFailed):
        await authenticate_token(world.services, "awt_made-up")


async def test_the_dummy_hash_is_a_valid_hash_that_matches_no_password() -> None:
    hasher = InlinePasswordHasher(make_world().ids)
    assert DUMMY_PASSWORD_HASH.startswith("scrypt$")
    assert not await hasher.verify("", DUMMY_PASSWORD_HASH)
    assert not await hasher.verify(PASSWORD, DUMMY_PASSWORD_HASH)
