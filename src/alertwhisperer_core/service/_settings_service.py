"""Company settings and assets: partial updates validated by the domain's own constructors.

A settings update names any subset of fields; :func:`apply_settings` rebuilds the settings with
``attrs.evolve``, so every range check in :mod:`alertwhisperer_core._settings` runs and an
out-of-range value is a 422 naming the field by its API path. Changes apply to the next
request (the ingest use case reads the company on every delivery).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import msgspec

from .._models import Asset, User
from .._rbac import Action
from .._settings import CompanySettings
from ..errors import Conflict, ValidationError
from ..ports import UnitOfWork
from ._access import audit, load_company, not_found
from ._commands import UNSET, AssetChanges, NewAsset, NewCompany, SettingsChanges
from ._services import Services

__all__ = [
    "apply_settings",
    "asset_from",
    "create_asset",
    "delete_asset",
    "get_settings",
    "list_assets",
    "settings_changes",
    "settings_diff",
    "settings_fields",
    "update_asset",
    "update_settings",
]


def _given(patch: msgspec.Struct) -> dict[str, Any]:
    return {f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not UNSET}


def settings_changes(command: NewCompany) -> SettingsChanges:
    """The settings part of a company creation request."""
    return SettingsChanges(
        correlation=command.correlation, rate_limit=command.rate_limit, policy=command.policy
    )


def apply_settings(current: CompanySettings, changes: SettingsChanges) -> CompanySettings:
    """``current`` with the given fields replaced; a bad value raises :class:`ValidationError`."""
    parts: dict[str, Any] = {}
    for section in ("correlation", "rate_limit", "policy"):
        patch = getattr(changes, section)
        if patch is not UNSET:
            parts[section] = attrs.evolve(getattr(current, section), **_given(patch))
    return attrs.evolve(current, **parts)


def settings_fields(settings: CompanySettings) -> dict[str, Any]:
    """Every setting by its dotted API path (``correlation.window_minutes`` ...)."""
    flat: dict[str, Any] = {}
    for section in ("correlation", "rate_limit", "policy"):
        for name, value in attrs.asdict(getattr(settings, section), recurse=False).items():
            flat[f"{section}.{name}"] = list(value) if isinstance(value, tuple) else value
    return flat


def settings_diff(before: CompanySettings, after: CompanySettings) -> dict[str, Mapping[str, Any]]:
    """The settings that differ, as ``{path: {"from": old, "to": new}}``."""
    old, new = settings_fields(before), settings_fields(after)
    return {k: {"from": old[k], "to": new[k]} for k in old if old[k] != new[k]}


async def get_settings(services: Services, actor: User, company_id: str) -> CompanySettings:
    """The company's whole settings."""
    async with services.uow() as uow:
        return (await load_company(uow, actor, Action.VIEW_SETTINGS, company_id)).settings


async def update_settings(
    services: Services, actor: User, company_id: str, changes: SettingsChanges
) -> CompanySettings:
    """Apply a partial update; audited as ``config_changed`` with each old and new value."""
    now = services.clock.now()
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.MANAGE_SETTINGS, company_id)
        settings = apply_settings(company.settings, changes)
        diff = settings_diff(company.settings, settings)
        if diff:
            await uow.companies.update(attrs.evolve(company, settings=settings))
            await audit(services, uow, actor, "config_changed", now, company.id, {"changes": diff})
            await uow.commit()
    return settings


def asset_from(new: NewAsset, asset_id: str, company_id: str, *, field: str = "name") -> Asset:
    """A validated :class:`Asset` from a creation request."""
    name = new.name.strip()
    if not name:
        raise ValidationError.for_field(field, "must not be blank")
    return Asset(
        id=asset_id,
        company_id=company_id,
        name=name,
        type=new.type,
        os=new.os,
        environment=new.environment,
        is_critical=new.is_critical,
        instance_id=new.instance_id or None,
        tags=tuple(new.tags),
    )


async def _name_free(uow: UnitOfWork, company_id: str, name: str, asset_id: str | None) -> None:
    other = await uow.assets.by_name(company_id, name)
    if other is not None and other.id != asset_id:
        raise Conflict(f"The company already has an asset named {name!r}")


async def list_assets(services: Services, actor: User, company_id: str) -> list[Asset]:
    """The company's registered assets."""
    async with services.uow() as uow:
        await load_company(uow, actor, Action.VIEW_ASSETS, company_id)
        return await uow.assets.list(company_id)


async def create_asset(services: Services, actor: User, company_id: str, new: NewAsset) -> Asset:
    """Register an asset; a name the company already uses is a 409."""
    now = services.clock.now()
    async with services.uow() as uow:
        await load_company(uow, actor, Action.MANAGE_ASSETS, company_id)
        asset = asset_from(new, services.ids.new_id(), company_id)
        await _name_free(uow, company_id, asset.name, None)
        await uow.assets.add(asset)
        await audit(
            services,
            uow,
            actor,
            "asset_created",
            now,
            company_id,
            {"asset_id": asset.id, "name": asset.name},
        )
        await uow.commit()
    return asset


async def update_asset(
    services: Services, actor: User, company_id: str, asset_id: str, changes: AssetChanges
) -> Asset:
    """Change an asset's fields."""
    now = services.clock.now()
    async with services.uow() as uow:
        await load_company(uow, actor, Action.MANAGE_ASSETS, company_id)
        asset = await uow.assets.get(company_id, asset_id)
        if asset is None:
            raise not_found("Asset")
        given = _given(changes)
        if "name" in given:
            given["name"] = given["name"].strip()
            if not given["name"]:
                raise ValidationError.for_field("name", "must not be blank")
            await _name_free(uow, company_id, given["name"], asset.id)
        if "tags" in given:
            given["tags"] = tuple(given["tags"])
        if "instance_id" in given:
            given["instance_id"] = given["instance_id"] or None
        updated = attrs.evolve(asset, **given)
        if updated != asset:
            await uow.assets.update(updated)
            await audit(
                services,
                uow,
                actor,
                "asset_updated",
                now,
                company_id,
                {"asset_id": asset.id, "changed": sorted(given)},
            )
            await uow.commit()
    return updated


async def delete_asset(services: Services, actor: User, company_id: str, asset_id: str) -> None:
    """Unregister an asset (its alerts stay; the asset then shows as unregistered)."""
    now = services.clock.now()
    async with services.uow() as uow:
        await load_company(uow, actor, Action.MANAGE_ASSETS, company_id)
        asset = await uow.assets.get(company_id, asset_id)
        if asset is None:
            raise not_found("Asset")
        await uow.assets.delete(company_id, asset_id)
        await audit(
            services,
            uow,
            actor,
            "asset_deleted",
            now,
            company_id,
            {"asset_id": asset.id, "name": asset.name},
        )
        await uow.commit()
