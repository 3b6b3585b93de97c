"""Login, bearer tokens, session cookies with CSRF, logout, lockout, through real HTTP."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

from alertwhisperer_adapters.http import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

from ..support.api import PASSWORD, Api, running_api


def _login(api: Api, email: str = "acme_admin@example.test", password: str = PASSWORD) -> Any:
    return api.client.post("/api/auth/login", json={"email": email, "password": password})


def _set_cookies(response: Any) -> dict[str, SimpleCookie]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        cookies.update(dict.fromkeys(cookie, cookie))
    return cookies


def test_login_answers_a_bearer_token_and_the_user_without_secrets(api: Api) -> None:
    response = _login(api)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"]["email"] == "acme_admin@example.test"
    assert "password_hash" not in response.text
    assert "scrypt" not in response.text
    assert response.headers["cache-control"] == "no-store"
    me = api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["id"] == "acme_admin"


def test_session_cookie_is_httponly_and_samesite_strict(api: Api) -> None:
    cookies = _set_cookies(_login(api))
    session = cookies[SESSION_COOKIE][SESSION_COOKIE]
    assert session["httponly"] is True
    assert session["samesite"] == "strict"
    assert session["path"] == "/"
    csrf = cookies[CSRF_COOKIE][CSRF_COOKIE]
    assert csrf["httponly"] == ""  # the page's script must read it
    assert csrf["samesite"] == "strict"


def test_cookies_are_secure_behind_https() -> None:
    with running_api(public_url="https://testserver") as api:
        cookies = _set_cookies(_login(api))
        assert cookies[SESSION_COOKIE][SESSION_COOKIE]["secure"] is True


def test_cookie_authenticates_reads_without_a_csrf_token(api: Api) -> None:
    _login(api)  # the client keeps the cookies
    assert api.client.get("/api/auth/me").json()["id"] == "acme_admin"


def test_cookie_write_without_the_csrf_token_is_forbidden(api: Api) -> None:
    _login(api)
    response = api.client.post(
        f"/api/companies/{api.acme.company_id}/assets", json={"name": "new-srv"}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "CSRF token missing or invalid"
    assert (
        api.client.get(f"/api/companies/{api.acme.company_id}/assets").json()["items"][0]["name"]
        == "acme-db-01"
    )


def test_cookie_write_with_the_csrf_token_goes_through(api: Api) -> None:
    token = _login(api).json()["csrf_token"]
    response = api.client.post(
        f"/api/companies/{api.acme.company_id}/assets",
        json={"name": "new-srv"},
        headers={CSRF_HEADER: token},
    )
    assert response.status_code == 201


def test_csrf_token_of_another_session_is_refused(api: Api) -> None:
    other = _login(api, "acme_tech@example.test").json()["csrf_token"]
    _login(api)
    response = api.client.post(
        f"/api/companies/{api.acme.company_id}/assets",
        json={"name": "x"},
        headers={CSRF_HEADER: other},
    )
    assert response.status_code == 403


def test_tampered_session_cookie_is_refused(api: Api) -> None:
    token = _login(api).json()["access_token"]
    api.client.cookies.clear()
    api.client.cookies.set(SESSION_COOKIE, f"{token}.forged-signature")
    assert api.client.get("/api/auth/me").status_code == 401


def test_bearer_writes_need_no_csrf_token(api: Api) -> None:
    token = _login(api).json()["access_token"]
    api.client.cookies.clear()
    response = api.client.post(
        f"/api/companies/{api.acme.company_id}/assets",
        json={"name": "x"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 201


def test_logout_revokes_the_token_and_clears_the_cookies(api: Api) -> None:
    token = _login(api).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    response = api.client.post("/api/auth/logout", headers=headers)
    assert response.status_code == 204
    cleared = _set_cookies(response)
    assert cleared[SESSION_COOKIE][SESSION_COOKIE]["max-age"] == "0"
    assert api.client.get("/api/auth/me", headers=headers).status_code == 401


def test_wrong_password_is_401_and_audited(api: Api) -> None:
    response = _login(api, password="not the password")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid email or password", "errors": []}
    audit = api.client.get("/api/audit?action=login_failed", headers=api.auth("msp")).json()
    assert audit["items"][0]["details"]["email"] == "acme_admin@example.test"


def test_repeated_failures_lock_the_login_with_429_and_retry_after(api: Api) -> None:
    for _ in range(5):
        assert _login(api, password="not the password").status_code == 401
    response = _login(api)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["retry_after_seconds"] == int(response.headers["retry-after"])
    assert response.json()["backoff_policy"] == "login lockout"


def test_malformed_login_body_is_400_and_a_missing_field_422(api: Api) -> None:
    assert api.client.post("/api/auth/login", content=b"{nope").status_code == 400
    response = api.client.post("/api/auth/login", json={"email": "a@b.c"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "password", "message": "Object missing required field `password`"}
    ]


def test_authorization_header_of_another_scheme_is_401(api: Api) -> None:
    response = api.client.get("/api/auth/me", headers={"Authorization": "Basic YTpi"})
    assert response.status_code == 401
