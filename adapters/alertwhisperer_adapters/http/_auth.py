"""Who is calling: bearer tokens and signed session cookies, CSRF, and the auth endpoints.

A login answers with a bearer token and also sets two cookies for browsers:

- ``aw_session``: the token plus an HMAC of it under the server's secret key, ``HttpOnly``
  and ``SameSite=Strict`` (``Secure`` behind HTTPS). A tampered cookie fails the HMAC before
  any store lookup.
- ``aw_csrf``: a second HMAC of the token, readable by the page's script. A request
  authenticated by the cookie that changes anything must echo it in ``X-CSRF-Token``; another
  site can make the browser send the cookie but can neither read nor compute the token.

Requests with ``Authorization: Bearer`` are not cookie-driven, so they need no CSRF token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import AuthenticationFailed, PermissionDenied
from alertwhisperer_core.service import (
    LoginRequest,
    Principal,
    authenticate_token,
    decode_command,
    login,
    logout,
)

from ._context import AppServices, app_services
from ._io import json_response, read_body
from ._routing import AUTH_NONE, Endpoint
from ._views import LoginOut, UserOut, user_out

__all__ = [
    "CSRF_COOKIE",
    "CSRF_HEADER",
    "ENDPOINTS",
    "SESSION_COOKIE",
    "authenticate",
    "csrf_token",
    "session_cookie",
    "session_token",
]

SESSION_COOKIE = "aw_session"
CSRF_COOKIE = "aw_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_LOGIN_BODY_LIMIT = 16 * 1024


def _mac(key: bytes, purpose: bytes, token: str) -> str:
    digest = hmac.new(key, purpose + b"\0" + token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_cookie(key: bytes, token: str) -> str:
    """The session cookie's value for ``token``: ``<token>.<hmac>``."""
    return f"{token}.{_mac(key, b'session', token)}"


def csrf_token(key: bytes, token: str) -> str:
    """The CSRF token that goes with the session of ``token``."""
    return _mac(key, b"csrf", token)


def session_token(key: bytes, cookie: str | None) -> str | None:
    """The bearer token in a session cookie whose HMAC checks out; None for anything else."""
    if not cookie:
        return None
    token, _, mac = cookie.rpartition(".")
    if not token or not hmac.compare_digest(mac.encode(), _mac(key, b"session", token).encode()):
        return None
    return token


def _unauthenticated() -> AuthenticationFailed:
    return AuthenticationFailed("Not authenticated")


async def authenticate(request: Request) -> Principal:
    """The principal of a request, from its bearer token or its session cookie."""
    app = app_services(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            raise _unauthenticated()
        return await authenticate_token(app.services, token)
    token = session_token(app.secret_key, request.cookies.get(SESSION_COOKIE))
    if token is None:
        raise _unauthenticated()
    principal = await authenticate_token(app.services, token)
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token(app.secret_key, token).encode()):
            raise PermissionDenied("CSRF token missing or invalid")
    return principal


def _set_cookies(response: Response, app: AppServices, token: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(app.secret_key, token),
        max_age=max_age,
        path="/",
        secure=app.secure_cookies,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(app.secret_key, token),
        max_age=max_age,
        path="/",
        secure=app.secure_cookies,
        httponly=False,
        samesite="strict",
    )


async def login_user(request: Request) -> Response:
    app = app_services(request)
    command = decode_command(await read_body(request, _LOGIN_BODY_LIMIT), LoginRequest)
    result = await login(app.services, app.hasher, app.auth_policy, command.email, command.password)
    body = LoginOut(
        access_token=result.token,
        token_type="bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_at=result.expires_at,
        csrf_token=csrf_token(app.secret_key, result.token),
        user=user_out(result.user),
    )
    response = json_response(body, headers={"Cache-Control": "no-store"})
    _set_cookies(response, app, result.token, int(app.auth_policy.token_ttl.total_seconds()))
    return response


async def logout_user(request: Request) -> Response:
    app = app_services(request)
    await logout(app.services, await authenticate(request))
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=app.secure_cookies, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=app.secure_cookies, samesite="strict")
    return response


async def current_user(request: Request) -> Response:
    principal = await authenticate(request)
    return json_response(user_out(principal.user))


ENDPOINTS = (
    Endpoint(
        "POST",
        "/api/auth/login",
        login_user,
        "Log in with e-mail and password",
        "auth",
        auth=AUTH_NONE,
        body=LoginRequest,
        response=LoginOut,
        errors=(401, 429),
        description="Answers a bearer token and sets the session and CSRF cookies. "
        "Repeated failures lock the address for a while (429 with Retry-After).",
    ),
    Endpoint(
        "POST",
        "/api/auth/logout",
        logout_user,
        "Log out (revoke the token)",
        "auth",
        status=204,
        media_types=(),
    ),
    Endpoint("GET", "/api/auth/me", current_user, "The logged-in user", "auth", response=UserOut),
)
