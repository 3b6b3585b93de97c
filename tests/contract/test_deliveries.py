"""Delivery id contract: one live record per (company, delivery id), expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alertwhisperer_core._idempotency import DeliveryRecord
from alertwhisperer_core.ports import DuplicateDelivery, UnitOfWorkFactory

from .records import T0, at

DAY = timedelta(hours=24)


def record(delivery_id: str = "d-1", company_id: str = "acme", **kw: object) -> DeliveryRecord:
    fields: dict[str, object] = {
        "delivery_id": delivery_id,
        "company_id": company_id,
        "alert_ids": ("a-1", "a-2"),
        "incident_ids": ("inc-1",),
        "first_seen_at": T0,
    }
    fields.update(kw)
    return DeliveryRecord(**fields)  # type: ignore[arg-type]


async def _add(store: UnitOfWorkFactory, rec: DeliveryRecord, expires: timedelta = DAY) -> None:
    async with store() as uow:
        await uow.deliveries.add(rec, rec.first_seen_at + expires)
        await uow.commit()


async def test_recorded_delivery_is_found_while_live(store: UnitOfWorkFactory) -> None:
    await _add(store, record())
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", at(60)) == record()


async def test_delivery_expires_at_its_expiry_time(store: UnitOfWorkFactory) -> None:
    await _add(store, record())
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", T0 + DAY - timedelta(microseconds=1))
        assert await uow.deliveries.get("acme", "d-1", T0 + DAY) is None


async def test_unknown_delivery_is_none(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert await uow.deliveries.get("acme", "nope", T0) is None


async def test_delivery_ids_are_per_company(store: UnitOfWorkFactory) -> None:
    await _add(store, record(company_id="acme"))
    await _add(store, record(company_id="globex", alert_ids=("g-1",)))
    async with store() as uow:
        found = await uow.deliveries.get("globex", "d-1", T0)
        assert found is not None
        assert found.alert_ids == ("g-1",)
        assert await uow.deliveries.get("initech", "d-1", T0) is None


async def test_a_live_delivery_id_cannot_be_recorded_twice(store: UnitOfWorkFactory) -> None:
    await _add(store, record())
    with pytest.raises(DuplicateDelivery):
        await _add(store, record(first_seen_at=at(5), alert_ids=("other",)))
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", at(6)) == record()


async def test_duplicate_within_one_unit_of_work_is_refused(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.deliveries.add(record(), T0 + DAY)
        with pytest.raises(DuplicateDelivery):
            await uow.deliveries.add(record(), T0 + DAY)


async def test_an_expired_delivery_id_can_be_recorded_again(store: UnitOfWorkFactory) -> None:
    await _add(store, record())
    again = record(first_seen_at=T0 + DAY, alert_ids=("a-9",))
    await _add(store, again)
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", T0 + DAY) == again


async def test_a_rolled_back_delivery_is_not_recorded(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.deliveries.add(record(), T0 + DAY)
    await _add(store, record())
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", T0) == record()


async def test_a_record_already_expired_on_arrival_is_not_kept(store: UnitOfWorkFactory) -> None:
    await _add(store, record(), expires=timedelta(0))
    async with store() as uow:
        assert await uow.deliveries.get("acme", "d-1", T0 - timedelta(seconds=1)) is None
