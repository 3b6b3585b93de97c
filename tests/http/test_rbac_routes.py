"""Every route, every role, own and foreign company: the status, and no foreign data (SPEC §8).

The table below has one row per route of the app's route table; a test checks that the rows and
the routes are the same set, so a new route cannot skip this walk. Each cell runs against a
fresh two-tenant world (``co-acme`` and ``co-globex``): the actor is the MSP admin, or the
company admin or a technician of ``co-acme``; the target is ``co-acme`` ("own") or
``co-globex`` ("foreign"). Outside the MSP admin, no response may contain any identifier of
``co-globex``'s data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest

from alertwhisperer_adapters.http import ENDPOINTS
from alertwhisperer_core import InstancePatchState

from ..support.api import AWS_SECRETS, PASSWORD, Api, Tenant, running_api

Request = tuple[str, str, dict[str, Any] | None]


@attrs.frozen
class Row:
    """A route, how to call it for a target tenant, and the expected status per role.

    ``own`` and ``foreign`` list the statuses for (msp, company admin, technician).
    """

    method: str
    path: str
    call: Callable[[Tenant], Request]
    own: tuple[int, int, int]
    foreign: tuple[int, int, int]
    anonymous: int = 401
    app_options: Callable[[], dict[str, Any]] = dict  # for running_api


def _row(
    method: str,
    path: str,
    call: Callable[[Tenant], Request],
    own: tuple[int, int, int],
    foreign: tuple[int, int, int] | None = None,
    anonymous: int = 401,
    app_options: Callable[[], dict[str, Any]] = dict,
) -> Row:
    return Row(method, path, call, own, foreign or (own[0], 404, 404), anonymous, app_options)


class _Fleet:
    """A patch-compliance source reporting one instance (not among any tenant's assets)."""

    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        return [InstancePatchState("i-walk", missing=1)]


def _with_fleet() -> dict[str, Any]:
    return {"compliance_source": _Fleet()}


_RUNBOOK = {"name": "Walk", "signature": "walk_*", "risk": "low", "actions": ["true"]}
_RUNBOOK_YAML = {"Name": "Walk", "Signature": "walk_*", "Risk Level": "low", "Actions": ["true"]}
_NEW_TECH = {"name": "New Tech", "password": PASSWORD, "role": "technician"}

ROWS = [
    _row(
        "POST",
        "/api/auth/login",
        lambda t: (
            "POST",
            "/api/auth/login",
            {"email": "{actor}@example.test", "password": PASSWORD},
        ),
        (200, 200, 200),
        (200, 200, 200),
        anonymous=200,
    ),
    _row(
        "POST",
        "/api/auth/logout",
        lambda t: ("POST", "/api/auth/logout", None),
        (204, 204, 204),
        (204, 204, 204),
    ),
    _row(
        "GET",
        "/api/auth/me",
        lambda t: ("GET", "/api/auth/me", None),
        (200, 200, 200),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/users",
        lambda t: ("GET", f"/api/users?company_id={t.company_id}", None),
        (200, 200, 403),
    ),
    _row(
        "POST",
        "/api/users",
        lambda t: (
            "POST",
            "/api/users",
            {
                **_NEW_TECH,
                "email": f"new-{t.company_id}@example.test",
                "company_ids": [t.company_id],
            },
        ),
        (201, 201, 403),
        (201, 422, 422),
    ),
    _row(
        "GET", "/api/users/{id}", lambda t: ("GET", f"/api/users/{t.tech2}", None), (200, 200, 403)
    ),
    _row(
        "PATCH",
        "/api/users/{id}",
        lambda t: ("PATCH", f"/api/users/{t.tech2}", {"name": "Renamed"}),
        (200, 200, 403),
    ),
    _row(
        "DELETE",
        "/api/users/{id}",
        lambda t: ("DELETE", f"/api/users/{t.tech2}", None),
        (204, 204, 403),
    ),
    _row(
        "GET",
        "/api/companies",
        lambda t: ("GET", "/api/companies", None),
        (200, 200, 200),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/companies",
        lambda t: ("POST", "/api/companies", {"name": "Initech"}),
        (201, 403, 403),
        (201, 403, 403),
    ),
    _row(
        "GET",
        "/api/companies/{id}",
        lambda t: ("GET", f"/api/companies/{t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "PATCH",
        "/api/companies/{id}",
        lambda t: ("PATCH", f"/api/companies/{t.company_id}", {"name": "Renamed Co"}),
        (200, 403, 403),
    ),
    _row(
        "DELETE",
        "/api/companies/{id}",
        lambda t: ("DELETE", f"/api/companies/{t.company_id}", None),
        (204, 403, 403),
    ),
    _row(
        "POST",
        "/api/companies/{id}/api-key/regenerate",
        lambda t: ("POST", f"/api/companies/{t.company_id}/api-key/regenerate", None),
        (200, 403, 403),
    ),
    _row(
        "GET",
        "/api/companies/{id}/assets",
        lambda t: ("GET", f"/api/companies/{t.company_id}/assets", None),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/companies/{id}/assets",
        lambda t: ("POST", f"/api/companies/{t.company_id}/assets", {"name": "new-srv"}),
        (201, 201, 403),
    ),
    _row(
        "PATCH",
        "/api/companies/{id}/assets/{asset_id}",
        lambda t: (
            "PATCH",
            f"/api/companies/{t.company_id}/assets/{t.asset_id}",
            {"os": "Debian 12"},
        ),
        (200, 200, 403),
    ),
    _row(
        "DELETE",
        "/api/companies/{id}/assets/{asset_id}",
        lambda t: ("DELETE", f"/api/companies/{t.company_id}/assets/{t.asset_id}", None),
        (204, 204, 403),
    ),
    _row(
        "GET",
        "/api/companies/{id}/settings",
        lambda t: ("GET", f"/api/companies/{t.company_id}/settings", None),
        (200, 200, 200),
    ),
    _row(
        "PUT",
        "/api/companies/{id}/settings",
        lambda t: (
            "PUT",
            f"/api/companies/{t.company_id}/settings",
            {"correlation": {"window_minutes": 5}},
        ),
        (200, 200, 403),
    ),
    _row(
        "POST",
        "/api/companies/{id}/hmac/enable",
        lambda t: ("POST", f"/api/companies/{t.company_id}/hmac/enable", None),
        (200, 200, 403),
    ),
    _row(
        "GET",
        "/api/companies/{id}/aws-credentials",
        lambda t: ("GET", f"/api/companies/{t.company_id}/aws-credentials", None),
        (200, 200, 403),
    ),
    _row(
        "PUT",
        "/api/companies/{id}/aws-credentials",
        lambda t: (
            "PUT",
            f"/api/companies/{t.company_id}/aws-credentials",
            {"region": "eu-central-1", "role_arn": "arn:aws:iam::123456789012:role/Walk"},
        ),
        (200, 200, 403),
    ),
    _row(
        "DELETE",
        "/api/companies/{id}/aws-credentials",
        lambda t: ("DELETE", f"/api/companies/{t.company_id}/aws-credentials", None),
        (204, 204, 403),
    ),
    _row(
        "POST",
        "/api/companies/{id}/hmac/disable",
        lambda t: ("POST", f"/api/companies/{t.company_id}/hmac/disable", None),
        (200, 200, 403),
    ),
    # The webhook authenticates the company by its API key, whoever else is logged in.
    _row(
        "POST",
        "/api/webhooks/alerts",
        lambda t: (
            "POST",
            f"/api/webhooks/alerts?api_key={t.api_key}",
            {"asset_name": "web-01", "signature": "cpu_high"},
        ),
        (202, 202, 202),
        (202, 202, 202),
        anonymous=202,
    ),
    _row(
        "GET",
        "/api/alerts",
        lambda t: ("GET", f"/api/alerts?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/incidents",
        lambda t: ("GET", f"/api/incidents?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/alerts/counts",
        lambda t: ("GET", f"/api/alerts/counts?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/incidents/counts",
        lambda t: ("GET", f"/api/incidents/counts?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/incidents/{id}",
        lambda t: ("GET", f"/api/incidents/{t.incident_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/incidents/{id}/executions",
        lambda t: ("GET", f"/api/incidents/{t.incident_id}/executions", None),
        (200, 200, 200),
    ),
    _row(
        "PATCH",
        "/api/incidents/{id}",
        lambda t: ("PATCH", f"/api/incidents/{t.incident_id}", {"status": "in_progress"}),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/incidents/{id}/notes",
        lambda t: ("POST", f"/api/incidents/{t.incident_id}/notes", {"text": "looking"}),
        (201, 201, 201),
    ),
    _row(
        "GET",
        "/api/audit",
        lambda t: ("GET", f"/api/audit?company_id={t.company_id}", None),
        (200, 200, 403),
    ),
    _row(
        "GET",
        "/api/audit/export",
        lambda t: ("GET", f"/api/audit/export?format=jsonl&company_id={t.company_id}", None),
        (200, 200, 403),
    ),
    _row(
        "GET",
        "/api/runbooks",
        lambda t: ("GET", f"/api/runbooks?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/runbooks",
        lambda t: ("POST", "/api/runbooks", {**_RUNBOOK, "company_id": t.company_id}),
        (201, 403, 403),
    ),
    _row(
        "POST",
        "/api/runbooks/import",
        # JSON is YAML: the walk sends a dict, the route reads it as one YAML document.
        lambda t: ("POST", "/api/runbooks/import", {**_RUNBOOK_YAML, "Company": t.company_id}),
        (201, 403, 403),
    ),
    _row(
        "GET",
        "/api/runbooks/export",
        lambda t: ("GET", f"/api/runbooks/export?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/runbooks/{id}",
        lambda t: ("GET", f"/api/runbooks/{t.runbook_id}", None),
        (200, 200, 200),
    ),
    _row(
        "PATCH",
        "/api/runbooks/{id}",
        lambda t: ("PATCH", f"/api/runbooks/{t.runbook_id}", {"description": "changed"}),
        (200, 403, 403),
    ),
    _row(
        "DELETE",
        "/api/runbooks/{id}",
        lambda t: ("DELETE", f"/api/runbooks/{t.runbook_id}", None),
        (204, 403, 403),
    ),
    _row(
        "POST",
        "/api/incidents/{id}/runbooks/{runbook_id}/execute",
        lambda t: (
            "POST",
            f"/api/incidents/{t.incident_id}/runbooks/{t.runbook_id}/execute",
            None,
        ),
        (202, 202, 202),
    ),
    _row(
        "GET",
        "/api/executions/{id}",
        lambda t: ("GET", f"/api/executions/{t.execution_id}", None),
        (200, 200, 200),
    ),
    # Notifications are the caller's own whatever the tenant: listing and marking all always
    # succeed; an id that is not the caller's notification is 404 for everyone (the routes'
    # own tests mark real notifications).
    _row(
        "GET",
        "/api/notifications",
        lambda t: ("GET", "/api/notifications?unread=true", None),
        (200, 200, 200),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/notifications/{id}/read",
        lambda t: ("POST", f"/api/notifications/{t.incident_id}/read", None),
        (404, 404, 404),
        (404, 404, 404),
    ),
    _row(
        "POST",
        "/api/notifications/read-all",
        lambda t: ("POST", "/api/notifications/read-all", None),
        (200, 200, 200),
        (200, 200, 200),
    ),
    # Chat: every role chats in its own companies; another company's chat is 404. The unread
    # counts cover the caller's own companies whatever the target.
    _row(
        "GET",
        "/api/chat/unread",
        lambda t: ("GET", "/api/chat/unread", None),
        (200, 200, 200),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/chat/{company_id}/messages",
        lambda t: ("GET", f"/api/chat/{t.company_id}/messages", None),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/chat/{company_id}/messages",
        lambda t: ("POST", f"/api/chat/{t.company_id}/messages", {"body": "walking"}),
        (201, 201, 201),
    ),
    _row(
        "POST",
        "/api/chat/{company_id}/read",
        lambda t: ("POST", f"/api/chat/{t.company_id}/read", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/approvals",
        lambda t: ("GET", f"/api/approvals?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "POST",
        "/api/approvals/{id}/approve",
        lambda t: ("POST", f"/api/approvals/{t.approval_id}/approve", {"notes": "ok"}),
        (200, 200, 403),
    ),
    _row(
        "POST",
        "/api/approvals/{id}/reject",
        lambda t: ("POST", f"/api/approvals/{t.approval_id}/reject", None),
        (200, 200, 403),
    ),
    _row(
        "POST",
        "/api/companies/{id}/compliance/sync",
        lambda t: ("POST", f"/api/companies/{t.company_id}/compliance/sync", None),
        (200, 200, 403),
        app_options=_with_fleet,
    ),
    _row(
        "GET",
        "/api/companies/{id}/compliance",
        lambda t: ("GET", f"/api/companies/{t.company_id}/compliance", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/kpis",
        lambda t: ("GET", f"/api/kpis?company_id={t.company_id}", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/api/kpis/series",
        lambda t: ("GET", f"/api/kpis/series?company_id={t.company_id}&bucket=day", None),
        (200, 200, 200),
    ),
    _row(
        "GET",
        "/healthz",
        lambda t: ("GET", "/healthz", None),
        (200, 200, 200),
        (200, 200, 200),
        anonymous=200,
    ),
    _row(
        "GET",
        "/readyz",
        lambda t: ("GET", "/readyz", None),
        (200, 200, 200),
        (200, 200, 200),
        anonymous=200,
    ),
    _row(
        "GET",
        "/metrics",
        lambda t: ("GET", "/metrics", None),
        (200, 200, 200),
        (200, 200, 200),
        anonymous=200,
    ),
    _row(
        "GET",
        "/openapi.json",
        lambda t: ("GET", "/openapi.json", None),
        (200, 200, 200),
        (200, 200, 200),
        anonymous=200,
    ),
]

# Lists without a company filter: each tenant sees only its own data in them.
UNFILTERED = [
    "/api/users",
    "/api/alerts",
    "/api/incidents",
    "/api/audit",
    "/api/kpis",
    "/api/kpis/series",
    "/api/alerts/counts",
    "/api/incidents/counts",
    "/api/companies",
    "/api/audit/export?format=csv",
    "/api/runbooks",
    "/api/runbooks/export",
    "/api/approvals",
    "/api/chat/unread",
]


def test_the_table_covers_every_route_exactly_once() -> None:
    rows = [(r.method, r.path) for r in ROWS]
    assert len(rows) == len(set(rows))
    assert set(rows) == {(e.method, e.path) for e in ENDPOINTS}


def _send(api: Api, actor: str | None, request: Request) -> Any:
    method, url, body = request
    headers = api.auth(actor) if actor is not None and url != "/api/auth/login" else {}
    if body is not None and url == "/api/auth/login":
        body = {**body, "email": body["email"].replace("{actor}", actor or "nobody")}
    return api.client.request(method, url, json=body, headers=headers)


def _cells() -> list[Any]:
    cells = []
    for row in ROWS:
        for target in ("own", "foreign"):
            for index, role in enumerate(("msp", "admin", "tech")):
                expected = (row.own if target == "own" else row.foreign)[index]
                cells.append(
                    pytest.param(
                        row, target, role, expected, id=f"{row.method} {row.path} {role} {target}"
                    )
                )
    return cells


@pytest.mark.parametrize(("row", "target", "role", "expected"), _cells())
def test_route_answers_each_role_for_own_and_foreign_company(
    row: Row, target: str, role: str, expected: int
) -> None:
    with running_api(**row.app_options()) as api:
        tenant = api.acme if target == "own" else api.globex
        actor = api.user_for(role)
        response = _send(api, actor, row.call(tenant))
        assert response.status_code == expected, response.text
        # No one, not even the MSP admin, ever reads an AWS secret back (the audit export
        # included: its entries name the key id's last four characters at most).
        assert not [s for s in AWS_SECRETS if s in response.text], "an AWS secret in the answer"
        if role != "msp":
            leaked = [m for m in api.globex.markers() if m in response.text]
            assert not leaked, f"foreign data in the answer: {leaked}"
            if expected >= 400:
                assert response.json()["errors"] is not None


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.method} {r.path}")
def test_route_without_credentials(row: Row) -> None:
    with running_api(**row.app_options()) as api:
        response = _send(api, None, row.call(api.acme))
        if row.path == "/api/auth/login":
            assert response.status_code == 401  # "nobody" has no account
            return
        assert response.status_code == row.anonymous, response.text
        if row.anonymous == 401:
            assert response.json() == {"detail": "Not authenticated", "errors": []}
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", UNFILTERED)
@pytest.mark.parametrize("role", ["admin", "tech"])
def test_unfiltered_lists_hold_only_the_users_own_tenant(path: str, role: str) -> None:
    with running_api() as api:
        response = api.client.get(path, headers=api.auth(api.user_for(role)))
        assert response.status_code in (200, 403)
        assert not [m for m in api.globex.markers() if m in response.text]
        if response.status_code == 200 and path in ("/api/alerts", "/api/incidents"):
            assert f'"{api.acme.company_id}"' in response.text


def test_the_msp_admin_sees_both_tenants_in_unfiltered_lists() -> None:
    with running_api() as api:
        response = api.client.get("/api/incidents", headers=api.auth("msp"))
        companies = {i["company_id"] for i in response.json()["items"]}
        assert companies == {"co-acme", "co-globex"}


def test_a_bearer_token_does_not_replace_the_webhook_api_key() -> None:
    with running_api() as api:
        response = api.client.post(
            "/api/webhooks/alerts",
            headers=api.auth("msp"),
            json={"asset_name": "a", "signature": "b"},
        )
        assert response.status_code == 401
