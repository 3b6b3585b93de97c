"""Approval repository contract: newest-first lists and expiry sweeps."""

from __future__ import annotations

from alertwhisperer_core import ApprovalRequest, ApprovalStatus, Risk
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
