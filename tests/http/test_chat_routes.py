"""``/api/chat`` over HTTP: posting and its limits, pages, unread counts, tenants, and bodies
kept verbatim."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ..support.api import PASSWORD, Api


def _post(api: Api, who: str, body: Any, company_id: str = "co-acme") -> Any:
    api.world.clock.advance(timedelta(seconds=1))  # distinct times: a stable newest-first order
    return api.client.post(
        f"/api/chat/{company_id}/messages", json={"body": body}, headers=api.auth(who)
    )


def _page(api: Api, who: str, company_id: str = "co-acme", query: str = "") -> dict[str, Any]:
    response = api.client.get(f"/api/chat/{company_id}/messages{query}", headers=api.auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _unread(api: Api, who: str) -> dict[str, int]:
    response = api.client.get("/api/chat/unread", headers=api.auth(who))
    assert response.status_code == 200, response.text
    return {i["company_id"]: i["unread"] for i in response.json()["items"]}


def test_a_posted_message_is_answered_and_listed(api: Api) -> None:
    response = _post(api, api.acme.tech, "  restarting web-01 now  ")
    assert response.status_code == 201, response.text
    message = response.json()
    assert message == {
        "id": message["id"],
        "company_id": "co-acme",
        "user_id": api.acme.tech,
        "user_name": api.acme.tech,
        "body": "restarting web-01 now",  # surrounding whitespace stripped
        "created_at": message["created_at"],
    }
    page = _page(api, api.acme.admin)
    assert page["items"] == [message]
    assert page["next_cursor"] is None
    assert page["online"] == []


def test_markup_is_stored_and_returned_verbatim(api: Api) -> None:
    body = '<script>alert(1)</script><img src=x onerror=alert(2)> &amp; "quotes"'
    assert _post(api, api.acme.tech, body).json()["body"] == body
    assert _page(api, api.acme.tech)["items"][0]["body"] == body
    assert api.world.store.chat_messages[_page(api, api.acme.tech)["items"][0]["id"]].body == body


@pytest.mark.parametrize(
    ("body", "accepted"),
    [
        ("x", True),
        ("é" * 2000, True),
        ("\n " + "y" * 2000 + " \t", True),  # 2000 once stripped
        ("z" * 2001, False),
        ("", False),
        ("   \n\t ", False),
    ],
    ids=["one", "2000 multibyte", "2000 padded", "2001", "empty", "blank"],
)
def test_a_body_must_have_1_to_2000_characters_after_stripping(
    api: Api, body: str, accepted: bool
) -> None:
    response = _post(api, api.acme.tech, body)
    if accepted:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body"]
    assert api.world.store.chat_messages == {}


@pytest.mark.parametrize(
    "payload",
    [{}, {"body": 5}, {"body": None}, {"body": "hi", "extra": 1}, {"body": "x" * 20_001}],
    ids=["missing", "number", "null", "unknown field", "huge"],
)
def test_a_malformed_body_is_422_and_stores_nothing(api: Api, payload: Any) -> None:
    response = api.client.post(
        "/api/chat/co-acme/messages", json=payload, headers=api.auth(api.acme.tech)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] in ("body", "extra")
    assert api.world.store.chat_messages == {}


def test_broken_json_is_400(api: Api) -> None:
    response = api.client.post(
        "/api/chat/co-acme/messages",
        content=b'{"body": ',
        headers={**api.auth(api.acme.tech), "content-type": "application/json"},
    )
    assert response.status_code == 400


def test_pages_are_newest_first_and_cover_every_message_once(api: Api) -> None:
    sent = [_post(api, api.acme.tech, f"message {n}").json()["id"] for n in range(7)]
    seen: list[str] = []
    query = "?limit=3"
    while True:
        page = _page(api, api.acme.admin, query=query)
        assert len(page["items"]) <= 3
        seen += [m["id"] for m in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"?limit=3&cursor={page['next_cursor']}"
    assert seen == list(reversed(sent))


@pytest.mark.parametrize("query", ["?limit=0", "?limit=501", "?limit=x", "?cursor=garbage!"])
def test_bad_paging_is_422(api: Api, query: str) -> None:
    response = api.client.get(f"/api/chat/co-acme/messages{query}", headers=api.auth("msp"))
    assert response.status_code == 422


def test_unread_counts_others_messages_until_read(api: Api) -> None:
    for n in range(3):
        assert _post(api, api.acme.tech, f"m{n}").status_code == 201
    assert _page(api, api.acme.admin)["unread"] == 3
    assert _page(api, api.acme.tech)["unread"] == 0  # one's own are never unread
    assert _unread(api, api.acme.admin) == {"co-acme": 3}

    response = api.client.post("/api/chat/co-acme/read", headers=api.auth(api.acme.admin))
    assert response.status_code == 200
    assert response.json() == {"unread": 0}
    assert _page(api, api.acme.admin)["unread"] == 0

    _post(api, api.acme.tech2, "one more")
    assert _unread(api, api.acme.admin) == {"co-acme": 1}
    assert _unread(api, api.acme.tech) == {"co-acme": 1}  # marks are per user


def test_the_msp_admin_has_unread_counts_for_every_company(api: Api) -> None:
    _post(api, api.globex.tech, "from globex", "co-globex")
    assert _unread(api, "msp") == {"co-acme": 0, "co-globex": 1}
    assert _unread(api, api.acme.tech) == {"co-acme": 0}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/chat/{c}/messages"),
        ("POST", "/api/chat/{c}/messages"),
        ("POST", "/api/chat/{c}/read"),
    ],
)
@pytest.mark.parametrize("company_id", ["co-globex", "co-nowhere"])
def test_another_or_a_missing_companys_chat_is_404(
    api: Api, method: str, path: str, company_id: str
) -> None:
    _post(api, api.globex.tech, "globex secret", "co-globex")
    response = api.client.request(
        method,
        path.format(c=company_id),
        json={"body": "hi"} if method == "POST" else None,
        headers=api.auth(api.acme.tech),
    )
    assert response.status_code == 404
    assert response.json()["detail"] == "Company not found"
    assert "globex secret" not in response.text
    assert len(api.world.store.chat_messages) == 1
    assert api.world.store.chat_reads == {}


def test_the_msp_admin_chats_in_any_company(api: Api) -> None:
    assert _post(api, "msp", "hello globex", "co-globex").status_code == 201
    assert _page(api, api.globex.tech, "co-globex")["unread"] == 1


def test_a_cookie_session_needs_the_csrf_token_to_post(api: Api) -> None:
    email = f"{api.acme.tech}@example.test"
    login = api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    csrf = login.json()["csrf_token"]
    refused = api.client.post("/api/chat/co-acme/messages", json={"body": "no token"})
    assert refused.status_code == 403
    accepted = api.client.post(
        "/api/chat/co-acme/messages", json={"body": "with token"}, headers={"x-csrf-token": csrf}
    )
    assert accepted.status_code == 201
    assert [m.body for m in api.world.store.chat_messages.values()] == ["with token"]


def test_posting_publishes_chat_message(api: Api) -> None:
    message = _post(api, api.acme.tech, "<i>published</i>").json()
    published = [e for e in api.world.events.published if e.type == "chat.message"]
    assert len(published) == 1
    assert published[0].company_id == "co-acme"
    assert dict(published[0].data) == message
