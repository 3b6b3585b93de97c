"""Company repository contract, HMAC secrets included."""

from __future__ import annotations

from alertwhisperer_core import CompanySettings, CorrelationSettings, Policy, RateLimitSettings
from alertwhisperer_core.ports import UnitOfWorkFactory

from .records import company


async def _add(store: UnitOfWorkFactory, *companies: object) -> None:
    async with store() as uow:
        for c in companies:
            await uow.companies.add(c)  # type: ignore[arg-type]
        await uow.commit()


async def test_company_round_trips_with_every_setting(store: UnitOfWorkFactory) -> None:
    settings = CompanySettings(
        correlation=CorrelationSettings(
            window_minutes=7, aggregation_key="asset|label:env", auto_correlate=False,
            min_alerts=3, max_span_minutes=90,
        ),
        rate_limit=RateLimitSettings(requests_per_minute=120, burst=7),
        policy=Policy(
            auto_approve_low_risk=False, maintenance_windows=("Sat 22:00-02:00",),
            timezone="Europe/Paris",
        ),
    )  # fmt: skip
    stored = company("acme", settings=settings, hmac_enabled=True)
    await _add(store, stored)
    async with store() as uow:
        assert await uow.companies.get("acme") == stored


async def test_unknown_company_is_none(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert await uow.companies.get("nope") is None


async def test_company_is_found_by_api_key_hash(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"), company("globex"))
    async with store() as uow:
        found = await uow.companies.by_api_key_hash("sha256:globex")
        assert found is not None
        assert found.id == "globex"


async def test_unknown_api_key_hash_finds_nothing(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    async with store() as uow:
        assert await uow.companies.by_api_key_hash("sha256:other") is None


async def test_companies_list_by_name_then_id(store: UnitOfWorkFactory) -> None:
    await _add(store, company("c3", name="Beta"), company("c2", name="Alpha"),
               company("c1", name="Beta"))  # fmt: skip
    async with store() as uow:
        assert [c.id for c in await uow.companies.list()] == ["c2", "c1", "c3"]


async def test_companies_list_only_the_visible_ones(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"), company("globex"), company("initech"))
    async with store() as uow:
        listed = await uow.companies.list(frozenset({"globex", "initech", "ghost"}))
        assert [c.id for c in listed] == ["globex", "initech"]
        assert await uow.companies.list(frozenset()) == []


async def test_update_replaces_the_company(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    renamed = company("acme", name="Acme Corp", hmac_enabled=True)
    async with store() as uow:
        await uow.companies.update(renamed)
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.get("acme") == renamed


async def test_adding_an_existing_id_replaces_it(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    await _add(store, company("acme", name="Again"))
    async with store() as uow:
        assert [c.name for c in await uow.companies.list()] == ["Again"]


async def test_delete_removes_the_company_and_its_secrets(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    async with store() as uow:
        await uow.companies.set_hmac_secrets("acme", ["s3cret"])
        await uow.commit()
    async with store() as uow:
        await uow.companies.delete("acme")
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.get("acme") is None
        assert await uow.companies.hmac_secrets("acme") == []


async def test_hmac_secrets_round_trip_in_order(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    async with store() as uow:
        await uow.companies.set_hmac_secrets("acme", ["current", "previous"])
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.hmac_secrets("acme") == ["current", "previous"]


async def test_hmac_secrets_of_a_company_without_any_are_empty(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    async with store() as uow:
        assert await uow.companies.hmac_secrets("acme") == []


async def test_setting_no_hmac_secrets_clears_them(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"))
    async with store() as uow:
        await uow.companies.set_hmac_secrets("acme", ["one"])
        await uow.companies.set_hmac_secrets("acme", [])
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.hmac_secrets("acme") == []


async def test_hmac_secrets_are_per_company(store: UnitOfWorkFactory) -> None:
    await _add(store, company("acme"), company("globex"))
    async with store() as uow:
        await uow.companies.set_hmac_secrets("acme", ["a"])
        await uow.companies.set_hmac_secrets("globex", ["g"])
        await uow.commit()
    async with store() as uow:
        assert await uow.companies.hmac_secrets("acme") == ["a"]
        assert await uow.companies.hmac_secrets("globex") == ["g"]
