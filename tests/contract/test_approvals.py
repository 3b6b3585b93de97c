"""Approval repository contract: newest-first lists and expiry sweeps."""

from __future__ import annotations

import attrs
import pytest

from alertwhisperer_core import ApprovalRequest, ApprovalStatus, Risk, ValidationError
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import approval, at


async def _add(store: UnitOfWorkFactory, *requests: ApprovalRequest) -> None:
    async with store() as uow:
        for r in requests:
            await uow.approvals.add(r)
        await uow.commit()


async def test_approval_round_trips(store: UnitOfWorkFactory) -> None:
    decided = approval(
        "ap-1", risk=Risk.HIGH, status=ApprovalStatus.APPROVED, decided_by="u-1",
        decided_at=at(5, micro=9), notes="go ahead",
    )  # fmt: skip
    await _add(store, decided)
    async with store() as uow:
        assert await uow.approvals.get("ap-1") == decided
        assert await uow.approvals.get("nope") is None


async def test_approvals_list_newest_first_then_id(store: UnitOfWorkFactory) -> None:
    await _add(store, approval("b", created_at=at(1)), approval("a", created_at=at(1)),
               approval("c", created_at=at(0)), approval("d", created_at=at(2)))  # fmt: skip
    async with store() as uow:
        assert [a.id for a in await uow.approvals.list(None)] == ["d", "b", "a", "c"]


async def test_approvals_filter_by_company_and_status(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        approval("a1"), approval("a2", status=ApprovalStatus.REJECTED),
        approval("g1", "globex"),
    )  # fmt: skip
    async with store() as uow:
        mine = await uow.approvals.list(frozenset({"acme"}), ApprovalStatus.PENDING)
        assert [a.id for a in mine] == ["a1"]
        assert [a.id for a in await uow.approvals.list(frozenset({"globex"}))] == ["g1"]


async def test_pending_due_are_pending_requests_expired_by_now(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        approval("z", expires_at=at(10)), approval("future", expires_at=at(11)),
        approval("a", expires_at=at(5)),
        approval("done", expires_at=at(1), status=ApprovalStatus.APPROVED),
    )  # fmt: skip
    async with store() as uow:
        assert [a.id for a in await uow.approvals.pending_due(at(10))] == ["z", "a"]


async def test_update_replaces_an_approval(store: UnitOfWorkFactory) -> None:
    await _add(store, approval("ap-1"))
    expired = approval("ap-1", status=ApprovalStatus.EXPIRED)
    async with store() as uow:
        await uow.approvals.update(expired)
        await uow.commit()
    async with store() as uow:
        assert await uow.approvals.get("ap-1") == expired


async def test_approval_pages_walk_the_list_in_order(store: UnitOfWorkFactory) -> None:
    await _add(store, approval("b", created_at=at(1)), approval("a", created_at=at(1)),
               approval("c", created_at=at(0)), approval("d", created_at=at(2)),
               approval("g", "globex", created_at=at(3)))  # fmt: skip
    seen: list[str] = []
    cursor = None
    async with store() as uow:
        for _ in range(5):
            page = await uow.approvals.page(frozenset({"acme"}), None, cursor, 1)
            seen += [a.id for a in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ["d", "b", "a", "c"]
        two = await uow.approvals.page(None, ApprovalStatus.PENDING, None, 2)
        assert [a.id for a in two.items] == ["g", "d"]
        rest = await uow.approvals.page(None, ApprovalStatus.PENDING, two.next_cursor, 500)
        assert [a.id for a in rest.items] == ["b", "a", "c"]
        assert rest.next_cursor is None


async def test_a_cursor_the_store_did_not_issue_is_a_validation_error(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, approval("a"))
    async with store() as uow:
        for bad in ("not-a-cursor!", "WyJ4Il0", "WyJub3QtYS10aW1lIiwiYSJd"):
            with pytest.raises(ValidationError) as caught:
                await uow.approvals.page(None, None, bad, 10)
            assert caught.value.errors[0]["field"] == "cursor"


async def test_transition_writes_the_decision_when_the_status_still_matches(
    store: UnitOfWorkFactory,
) -> None:
    pending = approval("ap-1", created_at=at(0))
    await _add(store, pending)
    decided = attrs.evolve(
        pending, status=ApprovalStatus.APPROVED, decided_by="u-1", decided_at=at(3, micro=7),
        notes="ok",
    )  # fmt: skip
    async with store() as uow:
        assert await uow.approvals.transition(decided, ApprovalStatus.PENDING) is True
        await uow.commit()
    async with store() as uow:
        assert await uow.approvals.get("ap-1") == decided


async def test_transition_from_a_status_the_request_left_writes_nothing(
    store: UnitOfWorkFactory,
) -> None:
    first = approval("ap-1", status=ApprovalStatus.REJECTED, decided_by="u-1", decided_at=at(2))
    await _add(store, first)
    second = attrs.evolve(first, status=ApprovalStatus.APPROVED, decided_by="u-2", notes="late")
    async with store() as uow:
        assert await uow.approvals.transition(second, ApprovalStatus.PENDING) is False
        assert (
            await uow.approvals.transition(attrs.evolve(second, id="nope"), ApprovalStatus.PENDING)
            is False
        )
        await uow.commit()
    async with store() as uow:
        assert await uow.approvals.get("ap-1") == first
        assert await uow.approvals.get("nope") is None


async def test_a_second_transition_in_the_same_unit_of_work_sees_the_first(
    store: UnitOfWorkFactory,
) -> None:
    pending = approval("ap-1")
    await _add(store, pending)
    approved = attrs.evolve(pending, status=ApprovalStatus.APPROVED, decided_by="u-1")
    rejected = attrs.evolve(pending, status=ApprovalStatus.REJECTED, decided_by="u-2")
    async with store() as uow:
        assert await uow.approvals.transition(approved, ApprovalStatus.PENDING)
        assert not await uow.approvals.transition(rejected, ApprovalStatus.PENDING)
        await uow.commit()
    async with store() as uow:
        assert await uow.approvals.get("ap-1") == approved
