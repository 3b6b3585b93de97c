"""Companies (the MSP's clients): create, list, show, rename, delete, API key, HMAC secret.

Secrets are generated here from the :class:`~alertwhisperer_core.ports.IdSource`, returned to
the caller exactly once, and stored only as a hash (API key) or in the store's secret column
(HMAC secrets must stay usable to verify signatures).
"""

from __future__ import annotations

import attrs

from .._models import Asset, User
from .._rbac import Action
from .._secrets import generate_api_key, hash_api_key
from .._settings import Company, CompanySettings
from .._signatures import generate_webhook_secret
from ..errors import Conflict, ValidationError
from ..ports import UnitOfWork
from ._access import audit, load_company, narrow_companies, require
from ._commands import UNSET, CompanyChanges, NewCompany
from ._services import Services
from ._settings_service import apply_settings, asset_from, settings_changes

__all__ = [
    "CompanyCredentials",
    "create_company",
    "delete_company",
    "disable_hmac",
    "enable_hmac",
    "get_company",
    "list_companies",
    "regenerate_api_key",
    "update_company",
]

_SECRET_BYTES = 32
# The current secret and the one before it verify: senders switch over without losing alerts.
_KEPT_HMAC_SECRETS = 2


@attrs.frozen
class CompanyCredentials:
    """A company with the API key that was just generated for it (shown once)."""

    company: Company
    api_key: str
    assets: tuple[Asset, ...] = ()


async def _check_name_free(uow: UnitOfWork, name: str, company_id: str | None = None) -> None:
    wanted = name.strip().casefold()
    for other in await uow.companies.list():
        if other.name.strip().casefold() == wanted and other.id != company_id:
            raise Conflict("A company with this name already exists")


def _new_key(services: Services) -> str:
    return generate_api_key(services.ids.token_bytes(_SECRET_BYTES))


async def create_company(
    services: Services, actor: User, command: NewCompany
) -> CompanyCredentials:
    """Create a company with its assets and settings; audited as ``company_created``."""
    require(actor, Action.CREATE_COMPANY, None, kind="Company")
    now = services.clock.now()
    name = command.name.strip()
    if not name:
        raise ValidationError.for_field("name", "must not be blank")
    settings = apply_settings(CompanySettings(), settings_changes(command))
    company_id = services.ids.new_id()
    seen: set[str] = set()
    assets = []
    for i, new_asset in enumerate(command.assets):
        asset = asset_from(new_asset, services.ids.new_id(), company_id, field=f"assets[{i}].name")
        if asset.name in seen:
            raise ValidationError.for_field(f"assets[{i}].name", "is listed twice")
        seen.add(asset.name)
        assets.append(asset)
    api_key = _new_key(services)
    company = Company(
        id=company_id,
        name=name,
        created_at=now,
        settings=settings,
        api_key_hash=hash_api_key(api_key),
    )
    async with services.uow() as uow:
        await _check_name_free(uow, name)
        await uow.companies.add(company)
        for asset in assets:
            await uow.assets.add(asset)
        await audit(
            services,
            uow,
            actor,
            "company_created",
            now,
            company.id,
            {"name": name, "assets": len(assets)},
        )
        await uow.commit()
    return CompanyCredentials(company=company, api_key=api_key, assets=tuple(assets))


async def list_companies(services: Services, actor: User) -> list[Company]:
    """The companies ``actor`` may see."""
    companies = narrow_companies(actor, Action.VIEW_COMPANY, None)
    async with services.uow() as uow:
        return await uow.companies.list(companies)


async def get_company(services: Services, actor: User, company_id: str) -> Company:
    """One company, if ``actor`` may see it."""
    async with services.uow() as uow:
        return await load_company(uow, actor, Action.VIEW_COMPANY, company_id)


async def update_company(
    services: Services, actor: User, company_id: str, changes: CompanyChanges
) -> Company:
    """Rename a company; audited as ``config_changed``."""
    now = services.clock.now()
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.UPDATE_COMPANY, company_id)
        if changes.name is UNSET:
            return company
        name = changes.name.strip()
        if not name:
            raise ValidationError.for_field("name", "must not be blank")
        await _check_name_free(uow, name, company.id)
        updated = attrs.evolve(company, name=name)
        await uow.companies.update(updated)
        await audit(
            services,
            uow,
            actor,
            "config_changed",
            now,
            company.id,
            {"changes": {"name": {"from": company.name, "to": name}}},
        )
        await uow.commit()
    return updated


async def delete_company(services: Services, actor: User, company_id: str) -> None:
    """Delete a company, its assets and secrets; its users lose it. Alerts, incidents and
    audit entries stay (history). Audited as ``company_deleted``."""
    now = services.clock.now()
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.DELETE_COMPANY, company_id)
        for asset in await uow.assets.list(company.id):
            await uow.assets.delete(company.id, asset.id)
        for user in await uow.users.list(frozenset({company.id})):
            await uow.users.update(attrs.evolve(user, company_ids=user.company_ids - {company.id}))
        await uow.companies.delete(company.id)
        await audit(
            services, uow, actor, "company_deleted", now, company.id, {"name": company.name}
        )
        await uow.commit()


async def regenerate_api_key(
    services: Services, actor: User, company_id: str
) -> CompanyCredentials:
    """Replace the company's API key (the old one stops working at once); audited as
    ``api_key_regenerated``."""
    now = services.clock.now()
    api_key = _new_key(services)
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.REGENERATE_API_KEY, company_id)
        updated = attrs.evolve(company, api_key_hash=hash_api_key(api_key))
        await uow.companies.update(updated)
        await audit(services, uow, actor, "api_key_regenerated", now, company.id, {})
        await uow.commit()
    return CompanyCredentials(company=updated, api_key=api_key)


async def enable_hmac(services: Services, actor: User, company_id: str) -> str:
    """Turn on signature checks with a new secret, or rotate it when already on; returns the
    secret (shown once). The previous secret keeps verifying until the next rotation.
    Audited as ``hmac_enabled``."""
    now = services.clock.now()
    secret = generate_webhook_secret(services.ids.token_bytes(_SECRET_BYTES))
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.MANAGE_HMAC, company_id)
        previous = await uow.companies.hmac_secrets(company.id) if company.hmac_enabled else []
        kept = [secret, *previous][:_KEPT_HMAC_SECRETS]
        await uow.companies.set_hmac_secrets(company.id, kept)
        await uow.companies.update(attrs.evolve(company, hmac_enabled=True))
        await audit(
            services,
            uow,
            actor,
            "hmac_enabled",
            now,
            company.id,
            {"rotated": company.hmac_enabled, "secrets_kept": len(kept)},
        )
        await uow.commit()
    return secret


async def disable_hmac(services: Services, actor: User, company_id: str) -> Company:
    """Turn off signature checks and forget the secrets; audited as ``hmac_disabled``."""
    now = services.clock.now()
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.MANAGE_HMAC, company_id)
        updated = attrs.evolve(company, hmac_enabled=False)
        await uow.companies.set_hmac_secrets(company.id, [])
        await uow.companies.update(updated)
        await audit(
            services,
            uow,
            actor,
            "hmac_disabled",
            now,
            company.id,
            {"was_enabled": company.hmac_enabled},
        )
        await uow.commit()
    return updated
