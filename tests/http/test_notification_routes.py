"""``/api/notifications`` over HTTP: own only, unread filter, cursor pages, read one and all."""

from __future__ import annotations

from typing import Any

from ..support.api import Api


def _list(api: Api, who: str, query: str = "") -> dict[str, Any]:
    response = api.client.get(f"/api/notifications{query}", headers=api.auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_user_lists_their_notifications_with_the_unread_count(api: Api) -> None:
    body = _list(api, api.acme.admin)
    assert body["unread_count"] == len(body["items"]) >= 1
    critical = [n for n in body["items"] if n["type"] == "critical"]
    assert critical[0]["link"] == {"type": "incident", "id": api.acme.incident_id}
    assert critical[0]["read"] is False
    assert critical[0]["read_at"] is None


def test_the_list_holds_only_the_callers_own_notifications(api: Api) -> None:
    ids = {n["id"] for n in _list(api, api.acme.admin)["items"]}
    mine = {n.id for n in api.world.store.notifications.values() if n.user_id == api.acme.admin}
    assert ids == mine
    assert not [m for m in api.globex.markers() if m in str(_list(api, api.acme.tech))]


def test_marking_one_read_changes_it_and_the_unread_filter(api: Api) -> None:
    who = api.acme.tech
    first = _list(api, who)["items"][0]
    response = api.client.post(f"/api/notifications/{first['id']}/read", headers=api.auth(who))
    assert response.status_code == 204
    body = _list(api, who)
    marked = next(n for n in body["items"] if n["id"] == first["id"])
    assert marked["read"] is True
    assert marked["read_at"] is not None
    unread = _list(api, who, "?unread=true")
    assert first["id"] not in {n["id"] for n in unread["items"]}
    assert unread["unread_count"] == len(body["items"]) - 1


def test_another_users_notification_is_404_and_stays_unread(api: Api) -> None:
    theirs = _list(api, api.acme.tech)["items"][0]["id"]
    response = api.client.post(f"/api/notifications/{theirs}/read", headers=api.auth("msp"))
    assert response.status_code == 404
    assert response.json()["detail"] == "Notification not found"
    assert api.world.store.notifications[theirs].read_at is None


def test_read_all_marks_only_the_callers_notifications(api: Api) -> None:
    before = _list(api, api.acme.admin)["unread_count"]
    response = api.client.post("/api/notifications/read-all", headers=api.auth(api.acme.admin))
    assert response.status_code == 200
    assert response.json() == {"updated": before}
    assert _list(api, api.acme.admin)["unread_count"] == 0
    assert _list(api, api.acme.tech)["unread_count"] > 0
    again = api.client.post("/api/notifications/read-all", headers=api.auth(api.acme.admin))
    assert again.json() == {"updated": 0}


def test_cursor_pages_walk_every_notification_once(api: Api) -> None:
    everything = [n["id"] for n in _list(api, "msp")["items"]]
    assert len(everything) >= 2
    seen: list[str] = []
    query = "?limit=1"
    while True:
        body = _list(api, "msp", query)
        seen += [n["id"] for n in body["items"]]
        if body["next_cursor"] is None:
            break
        query = f"?limit=1&cursor={body['next_cursor']}"
    assert seen == everything


def test_a_bad_unread_value_is_422(api: Api) -> None:
    response = api.client.get("/api/notifications?unread=maybe", headers=api.auth("msp"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "unread"


def test_a_bad_cursor_is_422(api: Api) -> None:
    response = api.client.get("/api/notifications?cursor=%21%21", headers=api.auth("msp"))
    assert response.status_code == 422


def test_the_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "get" in paths["/api/notifications"]
    assert "post" in paths["/api/notifications/{id}/read"]
    assert "post" in paths["/api/notifications/read-all"]
