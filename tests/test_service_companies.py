"""Companies, API keys, HMAC secrets, settings and assets as use cases."""

from __future__ import annotations

import pytest

from alertwhisperer_core import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    Role,
    User,
    ValidationError,
    hash_api_key,
)
from alertwhisperer_core.service import (
    AssetChanges,
    CompanyChanges,
    CorrelationChanges,
    NewAsset,
    NewCompany,
    PolicyChanges,
    RateLimitChanges,
    SettingsChanges,
    WebhookRequest,
    create_asset,
    create_company,
    delete_asset,
    delete_company,
    disable_hmac,
    enable_hmac,
    get_company,
    get_settings,
    ingest_webhook,
    integration_snippets,
    list_assets,
    list_companies,
    regenerate_api_key,
    update_asset,
    update_company,
    update_settings,
    webhook_url,
)

from .support.world import World, generic, make_world


async def _world() -> tuple[World, dict[str, User]]:
    world = make_world()
    await world.add_company("acme")
    await world.add_company("globex")
    users = {
        "msp": await world.add_user("msp", Role.MSP_ADMIN),
        "admin": await world.add_user("admin", Role.COMPANY_ADMIN, "acme"),
        "tech": await world.add_user("tech", Role.TECHNICIAN, "acme"),
    }
    return world, users


def _company(name: str = "Initech", **extra: object) -> NewCompany:
    return NewCompany(name=name, **extra)  # type: ignore[arg-type]


async def _post(world: World, api_key: str) -> int:
    request = WebhookRequest(
        body=b'{"asset_name": "a", "signature": "s"}', headers={}, query={"api_key": api_key}
    )
    return (await ingest_webhook(world.services, request)).status


async def test_created_company_gets_a_working_key_stored_only_as_a_hash() -> None:
    world, users = await _world()
    created = await create_company(world.services, users["msp"], _company())
    stored = world.store.companies[created.company.id]
    assert stored.api_key_hash == hash_api_key(created.api_key)
    assert created.api_key not in repr(stored)
    assert await _post(world, created.api_key) == 202


async def test_company_is_created_with_its_assets_and_settings_and_audited() -> None:
    world, users = await _world()
    command = _company(
        assets=(NewAsset(name="srv-db-01", is_critical=True), NewAsset(name="srv-app-01")),
        policy=PolicyChanges(maintenance_windows=("Sat 22:00-02:00",), timezone="Europe/Berlin"),
        correlation=CorrelationChanges(window_minutes=5),
    )
    created = await create_company(world.services, users["msp"], command)
    assert {a.name for a in created.assets} == {"srv-db-01", "srv-app-01"}
    settings = created.company.settings
    assert settings.policy.maintenance_windows == ("Sat 22:00-02:00",)
    assert settings.correlation.window_minutes == 5
    assert world.store.audit[-1].action == "company_created"


async def test_only_msp_admins_create_companies() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await create_company(world.services, users["admin"], _company())


async def test_company_names_are_unique_ignoring_case() -> None:
    world, users = await _world()
    await create_company(world.services, users["msp"], _company("Initech"))
    with pytest.raises(Conflict):
        await create_company(world.services, users["msp"], _company(" initech "))


async def test_an_asset_listed_twice_is_refused_naming_it() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await create_company(
            world.services, users["msp"], _company(assets=(NewAsset(name="a"), NewAsset(name="a")))
        )
    assert error.value.errors[0]["field"] == "assets[1].name"
    assert len(world.store.companies) == 2


async def test_bad_settings_at_creation_store_nothing() -> None:
    world, users = await _world()
    with pytest.raises(ValidationError) as error:
        await create_company(
            world.services,
            users["msp"],
            _company(rate_limit=RateLimitChanges(requests_per_minute=5000)),
        )
    assert error.value.errors[0]["field"] == "rate_limit.requests_per_minute"
    assert len(world.store.companies) == 2


async def test_company_lists_are_scoped_to_the_tenant() -> None:
    world, users = await _world()
    assert [c.id for c in await list_companies(world.services, users["admin"])] == ["acme"]
    assert len(await list_companies(world.services, users["msp"])) == 2
    with pytest.raises(NotFound):
        await get_company(world.services, users["admin"], "globex")


async def test_rename_is_audited_as_config_changed() -> None:
    world, users = await _world()
    renamed = await update_company(
        world.services, users["msp"], "acme", CompanyChanges(name="ACME")
    )
    assert renamed.name == "ACME"
    assert world.store.audit[-1].details["changes"]["name"] == {"from": "Acme", "to": "ACME"}


async def test_regenerating_the_key_retires_the_old_one_at_once() -> None:
    world, users = await _world()
    old = world.api_keys["acme"]
    fresh = await regenerate_api_key(world.services, users["msp"], "acme")
    assert world.store.audit[-1].action == "api_key_regenerated"
    assert fresh.api_key != old
    with pytest.raises(AuthenticationFailed):
        await _post(world, old)
    assert await _post(world, fresh.api_key) == 202


async def test_company_admins_may_not_regenerate_keys() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await regenerate_api_key(world.services, users["admin"], "acme")


async def test_enabling_hmac_returns_a_secret_and_requires_signatures() -> None:
    world, users = await _world()
    secret = await enable_hmac(world.services, users["admin"], "acme")
    assert secret.startswith("whsec_")
    assert world.store.companies["acme"].hmac_enabled
    assert world.store.audit[-1].action == "hmac_enabled"
    with pytest.raises(AuthenticationFailed):
        await world.post(generic())


async def test_rotating_hmac_keeps_the_previous_secret_verifying() -> None:
    world, users = await _world()
    first = await enable_hmac(world.services, users["admin"], "acme")
    second = await enable_hmac(world.services, users["admin"], "acme")
    third = await enable_hmac(world.services, users["admin"], "acme")
    assert world.store.hmac["acme"] == (third, second)
    assert first not in world.store.hmac["acme"]
    assert world.store.audit[-1].details["rotated"] is True


async def test_disabling_hmac_forgets_the_secrets() -> None:
    world, users = await _world()
    await enable_hmac(world.services, users["admin"], "acme")
    company = await disable_hmac(world.services, users["admin"], "acme")
    assert not company.hmac_enabled
    assert world.store.hmac["acme"] == ()
    assert (await world.post(generic())).status == 202


async def test_technicians_may_not_touch_hmac() -> None:
    world, users = await _world()
    with pytest.raises(PermissionDenied):
        await enable_hmac(world.services, users["tech"], "acme")


async def test_settings_update_applies_a_subset_and_audits_each_change() -> None:
    world, users = await _world()
    before = await get_settings(world.services, users["tech"], "acme")
    after = await update_settings(
        world.services,
        users["admin"],
        "acme",
        SettingsChanges(
            correlation=CorrelationChanges(window_minutes=5, aggregation_key="asset|label:env"),
            rate_limit=RateLimitChanges(burst=10),
        ),
    )
    assert after.correlation.window_minutes == 5
    assert after.rate_limit.burst == 10
    assert after.rate_limit.requests_per_minute == before.rate_limit.requests_per_minute
    assert after.policy == before.policy
    changes = world.store.audit[-1].details["changes"]
    assert world.store.audit[-1].action == "config_changed"
    assert changes["correlation.window_minutes"] == {"from": 15, "to": 5}
    assert set(changes) == {
        "correlation.window_minutes",
        "correlation.aggregation_key",
        "rate_limit.burst",
    }


async def test_settings_update_without_a_change_writes_no_audit() -> None:
    world, users = await _world()
    await update_settings(
        world.services,
        users["admin"],
        "acme",
        SettingsChanges(correlation=CorrelationChanges(window_minutes=15)),
    )
    assert world.store.audit == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            SettingsChanges(correlation=CorrelationChanges(window_minutes=0)),
            "correlation.window_minutes",
        ),
        (
            SettingsChanges(correlation=CorrelationChanges(window_minutes=1441)),
            "correlation.window_minutes",
        ),
        (
            SettingsChanges(correlation=CorrelationChanges(aggregation_key="asset|colour")),
            "correlation.aggregation_key",
        ),
        (
            SettingsChanges(rate_limit=RateLimitChanges(requests_per_minute=0)),
            "rate_limit.requests_per_minute",
        ),
        (
            SettingsChanges(policy=PolicyChanges(maintenance_windows=("Caturday 1-2",))),
            "policy.maintenance_windows[0]",
        ),
        (SettingsChanges(policy=PolicyChanges(timezone="Mars/Olympus")), "policy.timezone"),
    ],
)
async def test_out_of_range_settings_are_refused_naming_the_field(
    changes: SettingsChanges, field: str
) -> None:
    world, users = await _world()
    before = world.store.companies["acme"]
    with pytest.raises(ValidationError) as error:
        await update_settings(world.services, users["admin"], "acme", changes)
    assert error.value.errors[0]["field"] == field
    assert world.store.companies["acme"] == before


async def test_technicians_read_but_do_not_change_settings() -> None:
    world, users = await _world()
    await get_settings(world.services, users["tech"], "acme")
    with pytest.raises(PermissionDenied):
        await update_settings(world.services, users["tech"], "acme", SettingsChanges())


async def test_assets_are_created_changed_and_deleted() -> None:
    world, users = await _world()
    asset = await create_asset(world.services, users["admin"], "acme", NewAsset(name="srv-01"))
    changed = await update_asset(
        world.services,
        users["admin"],
        "acme",
        asset.id,
        AssetChanges(is_critical=True, tags=("db",)),
    )
    assert changed.is_critical
    assert changed.tags == ("db",)
    assert [a.id for a in await list_assets(world.services, users["tech"], "acme")] == [asset.id]
    await delete_asset(world.services, users["admin"], "acme", asset.id)
    assert await list_assets(world.services, users["tech"], "acme") == []


async def test_an_asset_name_is_unique_within_its_company() -> None:
    world, users = await _world()
    await create_asset(world.services, users["admin"], "acme", NewAsset(name="srv-01"))
    other = await create_asset(world.services, users["admin"], "acme", NewAsset(name="srv-02"))
    with pytest.raises(Conflict):
        await create_asset(world.services, users["admin"], "acme", NewAsset(name="srv-01"))
    with pytest.raises(Conflict):
        await update_asset(
            world.services, users["admin"], "acme", other.id, AssetChanges(name="srv-01")
        )
    await create_asset(world.services, users["msp"], "globex", NewAsset(name="srv-01"))


async def test_another_companys_asset_is_not_found_through_your_company() -> None:
    world, users = await _world()
    theirs = await create_asset(world.services, users["msp"], "globex", NewAsset(name="x"))
    with pytest.raises(NotFound):
        await update_asset(world.services, users["msp"], "acme", theirs.id, AssetChanges(os="z"))


async def test_deleting_a_company_removes_it_from_its_users_and_drops_its_assets() -> None:
    world, users = await _world()
    await create_asset(world.services, users["admin"], "acme", NewAsset(name="srv-01"))
    await delete_company(world.services, users["msp"], "acme")
    assert "acme" not in world.store.companies
    assert world.store.users["admin"].company_ids == frozenset()
    assert world.store.assets == {}
    with pytest.raises(AuthenticationFailed):
        await world.post(generic())


def test_webhook_url_carries_the_key_url_encoded() -> None:
    url = webhook_url("https://aw.example/", "aw_a+b/c")
    assert url == "https://aw.example/api/webhooks/alerts?api_key=aw_a%2Bb%2Fc"


def test_integration_snippets_cover_the_four_tools_and_embed_the_url() -> None:
    snippets = integration_snippets("https://aw.example", "aw_key")
    assert {"datadog", "zabbix", "alertmanager", "cloudwatch"} <= set(snippets)
    for name, snippet in snippets.items():
        assert "aw_key" in snippet["webhook_url"], name
    assert "send_resolved: true" in snippets["alertmanager"]["config"]
    assert "$ALERT_TRANSITION" in snippets["datadog"]["payload"]
    assert "{EVENT.VALUE}" in snippets["zabbix"]["parameters"]
