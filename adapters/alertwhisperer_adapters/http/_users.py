"""``/api/users``: thin handlers over the user use cases."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core.service import (
    NewUser,
    UserChanges,
    create_user,
    decode_command,
    delete_user,
    get_user,
    list_users,
    page_sorted,
    update_user,
)

from ._auth import authenticate
from ._context import app_services
from ._io import CURSOR, LIMIT, TextParam, json_response, read_body
from ._routing import Endpoint
from ._views import UserList, UserOut, user_out

__all__ = ["ENDPOINTS"]

COMPANY = TextParam("company_id", "Only users of this company.")


async def users_list(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    users = await list_users(app.services, actor, COMPANY.get(request))
    page = page_sorted(users, lambda u: (u.email, u.id), CURSOR.get(request), LIMIT.get(request))
    items = [user_out(u) for u in page.items]
    return json_response(UserList(items=items, next_cursor=page.next_cursor))


async def users_create(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    command = decode_command(await read_body(request), NewUser)
    return json_response(user_out(await create_user(app.services, app.hasher, actor, command)), 201)


async def users_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    return json_response(user_out(await get_user(app.services, actor, request.path_params["id"])))


async def users_update(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    changes = decode_command(await read_body(request), UserChanges)
    user = await update_user(app.services, app.hasher, actor, request.path_params["id"], changes)
    return json_response(user_out(user))


async def users_delete(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    await delete_user(app.services, actor, request.path_params["id"])
    return Response(status_code=204)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/api/users",
        users_list,
        "List users",
        "users",
        query=(COMPANY, CURSOR, LIMIT),
        response=UserList,
    ),
    Endpoint(
        "POST",
        "/api/users",
        users_create,
        "Create a user",
        "users",
        body=NewUser,
        status=201,
        response=UserOut,
        errors=(409,),
    ),
    Endpoint("GET", "/api/users/{id}", users_get, "Show a user", "users", response=UserOut),
    Endpoint(
        "PATCH",
        "/api/users/{id}",
        users_update,
        "Change a user",
        "users",
        body=UserChanges,
        response=UserOut,
        errors=(409,),
    ),
    Endpoint(
        "DELETE",
        "/api/users/{id}",
        users_delete,
        "Delete a user",
        "users",
        status=204,
        media_types=(),
        errors=(409,),
    ),
)
