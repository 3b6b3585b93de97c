"""``/api/companies``: companies, API keys, assets, settings and HMAC signing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import Asset, Company
from alertwhisperer_core.service import (
    AssetChanges,
    CompanyChanges,
    CompanyCredentials,
    NewAsset,
    NewCompany,
    SettingsChanges,
    create_asset,
    create_company,
    decode_command,
    delete_asset,
    delete_company,
    disable_hmac,
    enable_hmac,
    get_company,
    get_settings,
    integration_snippets,
    list_assets,
    list_companies,
    page_sorted,
    regenerate_api_key,
    update_asset,
    update_company,
    update_settings,
    webhook_url,
)

from ._auth import authenticate
from ._context import AppServices, app_services
from ._io import CURSOR, LIMIT, json_response, read_body
from ._routing import Endpoint
from ._views import (
    AssetList,
    AssetOut,
    CompanyCreated,
    CompanyList,
    CompanyOut,
    HmacSecretOut,
    SettingsOut,
    asset_out,
    company_out,
    credentials_out,
    settings_out,
)

__all__ = ["ENDPOINTS"]

# Secrets are in these answers: no cache may keep them.
_NO_STORE = {"Cache-Control": "no-store"}


def _credentials(app: AppServices, credentials: CompanyCredentials) -> CompanyCreated:
    return credentials_out(
        credentials,
        webhook_url(app.public_url, credentials.api_key),
        integration_snippets(app.public_url, credentials.api_key),
    )


async def companies_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    companies = await list_companies(app.services, actor)
    page = page_sorted(companies, _by_name, CURSOR.get(request), LIMIT.get(request))
    items = [company_out(c) for c in page.items]
    return json_response(CompanyList(items=items, next_cursor=page.next_cursor))


def _by_name(item: Company | Asset) -> tuple[str, str]:
    return item.name, item.id


async def companies_create(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    command = decode_command(await read_body(request), NewCompany)
    credentials = await create_company(app.services, actor, command)
    return json_response(_credentials(app, credentials), 201, _NO_STORE)


async def companies_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    company = await get_company(app.services, actor, request.path_params["id"])
    return json_response(company_out(company))


async def companies_update(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    changes = decode_command(await read_body(request), CompanyChanges)
    company = await update_company(app.services, actor, request.path_params["id"], changes)
    return json_response(company_out(company))


async def companies_delete(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    await delete_company(app.services, actor, request.path_params["id"])
    return Response(status_code=204)


async def api_key_regenerate(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    credentials = await regenerate_api_key(app.services, actor, request.path_params["id"])
    return json_response(_credentials(app, credentials), 200, _NO_STORE)


async def assets_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    assets = await list_assets(app.services, actor, request.path_params["id"])
    page = page_sorted(assets, _by_name, CURSOR.get(request), LIMIT.get(request))
    items = [asset_out(a) for a in page.items]
    return json_response(AssetList(items=items, next_cursor=page.next_cursor))


async def assets_create(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    new = decode_command(await read_body(request), NewAsset)
    asset = await create_asset(app.services, actor, request.path_params["id"], new)
    return json_response(asset_out(asset), 201)


async def assets_update(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    changes = decode_command(await read_body(request), AssetChanges)
    params = request.path_params
    asset = await update_asset(app.services, actor, params["id"], params["asset_id"], changes)
    return json_response(asset_out(asset))


async def assets_delete(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    await delete_asset(
        app.services, actor, request.path_params["id"], request.path_params["asset_id"]
    )
    return Response(status_code=204)


async def settings_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    settings = await get_settings(app.services, actor, request.path_params["id"])
    return json_response(settings_out(settings))


async def settings_update(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    changes = decode_command(await read_body(request), SettingsChanges)
    settings = await update_settings(app.services, actor, request.path_params["id"], changes)
    return json_response(settings_out(settings))


async def hmac_enable(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    secret = await enable_hmac(app.services, actor, request.path_params["id"])
    return json_response(HmacSecretOut(hmac_secret=secret), 200, _NO_STORE)


async def hmac_disable(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    company = await disable_hmac(app.services, actor, request.path_params["id"])
    return json_response(company_out(company))


_C = "companies"
ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/companies",
        companies_list,
        "List companies",
        _C,
        query=(CURSOR, LIMIT),
        response=CompanyList,
    ),
    Endpoint(
        "POST",
        "/api/companies",
        companies_create,
        "Create a company",
        _C,
        body=NewCompany,
        status=201,
        response=CompanyCreated,
        errors=(409,),
        description="Answers the API key, the webhook URL and integration snippets for "
        "Datadog, Zabbix, Alertmanager and CloudWatch. The key is shown only here.",
    ),
    Endpoint(
        "GET", "/api/companies/{id}", companies_get, "Show a company", _C, response=CompanyOut
    ),
    Endpoint(
        "PATCH",
        "/api/companies/{id}",
        companies_update,
        "Rename a company",
        _C,
        body=CompanyChanges,
        response=CompanyOut,
        errors=(409,),
    ),
    Endpoint(
        "DELETE",
        "/api/companies/{id}",
        companies_delete,
        "Delete a company",
        _C,
        status=204,
        media_types=(),
    ),
    Endpoint(
        "POST",
        "/api/companies/{id}/api-key/regenerate",
        api_key_regenerate,
        "Replace the company's API key",
        _C,
        response=CompanyCreated,
        description="The old key stops working at once; the new one is shown only here.",
    ),
    Endpoint(
        "GET",
        "/api/companies/{id}/assets",
        assets_list,
        "List assets",
        _C,
        query=(CURSOR, LIMIT),
        response=AssetList,
    ),
    Endpoint(
        "POST",
        "/api/companies/{id}/assets",
        assets_create,
        "Register an asset",
        _C,
        body=NewAsset,
        status=201,
        response=AssetOut,
        errors=(409,),
    ),
    Endpoint(
        "PATCH",
        "/api/companies/{id}/assets/{asset_id}",
        assets_update,
        "Change an asset",
        _C,
        body=AssetChanges,
        response=AssetOut,
        errors=(409,),
    ),
    Endpoint(
        "DELETE",
        "/api/companies/{id}/assets/{asset_id}",
        assets_delete,
        "Unregister an asset",
        _C,
        status=204,
        media_types=(),
    ),
    Endpoint(
        "GET",
        "/api/companies/{id}/settings",
        settings_get,
        "Show settings",
        _C,
        response=SettingsOut,
    ),
    Endpoint(
        "PUT",
        "/api/companies/{id}/settings",
        settings_update,
        "Change settings",
        _C,
        body=SettingsChanges,
        response=SettingsOut,
        description="Any subset of correlation, rate_limit and policy; answers the whole "
        "settings. Takes effect on the next webhook request.",
    ),
    Endpoint(
        "POST",
        "/api/companies/{id}/hmac/enable",
        hmac_enable,
        "Enable (or rotate) webhook signing",
        _C,
        response=HmacSecretOut,
        description="Answers the secret, shown only here. The previous secret keeps "
        "verifying until the next rotation.",
    ),
    Endpoint(
        "POST",
        "/api/companies/{id}/hmac/disable",
        hmac_disable,
        "Disable webhook signing",
        _C,
        response=CompanyOut,
    ),
)
