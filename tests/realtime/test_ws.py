"""``WS /ws`` through Starlette's test client: authentication, per-tenant filtering, resume,
heartbeats, presence and the client's frames (docs/realtime.md).

The world has two tenants (``co-acme``, ``co-globex``) with an admin and two technicians each,
and an MSP admin. A "barrier" is a chat message posted in a company the watcher sees: the
feed is ordered, so once the barrier arrives every event published before it has been either
delivered or filtered out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from alertwhisperer_adapters.realtime import FeedEntry, LocalEventFeed
from alertwhisperer_core.ports import Event

from ..support.api import PASSWORD, Api, running_api
from ..support.world import T0
from ._frames import Frame, of_type, receive, until

_barriers = itertools.count()


@contextmanager
def socket(api: Api, who: str | None, query: str = "") -> Iterator[WebSocketTestSession]:
    """A connection as ``who`` (by token), past its ``hello``."""
    params = [f"token=tok-{who}"] if who else []
    params += [query] if query else []
    url = "/ws" + ("?" + "&".join(params) if params else "")
    with api.client.websocket_connect(url) as ws:
        hello = receive(ws)
        assert hello["type"] == "hello"
        yield ws


def post_chat(api: Api, who: str, company_id: str, body: str) -> dict[str, Any]:
    response = api.client.post(
        f"/api/chat/{company_id}/messages", json={"body": body}, headers=api.auth(who)
    )
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


def barrier(api: Api, ws: WebSocketTestSession, company_id: str = "co-acme") -> list[Frame]:
    """Everything ``ws`` receives up to a fresh chat message in ``company_id``."""
    body = f"barrier {next(_barriers)}"
    poster = "msp"
    post_chat(api, poster, company_id, body)
    before, _ = until(ws, of_type("chat.message", body=body))
    return before


def webhook(api: Api, company_id: str, **fields: Any) -> dict[str, Any]:
    tenant = api.tenants[company_id]
    payload = {"asset_name": "web-01", "signature": "cpu_high", "severity": "critical", **fields}
    response = api.client.post(f"/api/webhooks/alerts?api_key={tenant.api_key}", json=payload)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def refused_code(api: Api, url: str, **kwargs: Any) -> int:
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        api.client.websocket_connect(url, **kwargs),
    ):
        pass  # pragma: no cover - the connection is refused before this runs
    return refused.value.code


# --- authentication ---------------------------------------------------------------------------


def test_a_bearer_token_in_the_query_opens_the_socket_and_hello_comes_first() -> None:
    with (
        running_api() as api,
        api.client.websocket_connect(f"/ws?token=tok-{api.acme.tech}") as ws,
    ):
        assert receive(ws) == {"type": "hello", "user_id": api.acme.tech, "last_event_id": None}


def test_the_session_cookie_of_a_login_opens_the_socket() -> None:
    with running_api() as api:
        email = f"{api.acme.tech}@example.test"
        login = api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200
        with api.client.websocket_connect("/ws") as ws:  # the client sends its cookie jar
            assert receive(ws)["user_id"] == api.acme.tech
        same_site = {"origin": "http://testserver"}
        with api.client.websocket_connect("/ws", headers=same_site) as ws:
            assert receive(ws)["user_id"] == api.acme.tech


def test_a_cookie_sent_from_another_site_is_refused() -> None:
    with running_api() as api:
        email = f"{api.acme.tech}@example.test"
        api.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        code = refused_code(api, "/ws", headers={"origin": "https://evil.example"})
        assert code == 4401


@pytest.mark.parametrize(
    "url",
    ["/ws", "/ws?token=", "/ws?token=tok-nobody", "/ws?token=" + "x" * 600],
    ids=["nothing", "empty", "unknown", "oversized"],
)
def test_without_valid_credentials_the_socket_is_refused_with_4401(url: str) -> None:
    with running_api() as api:
        assert refused_code(api, url) == 4401


def test_a_tampered_session_cookie_is_refused() -> None:
    with running_api() as api:
        api.client.cookies.set("aw_session", f"tok-{api.acme.tech}.bogus-mac")
        assert refused_code(api, "/ws") == 4401


def test_a_revoked_token_is_refused() -> None:
    with running_api() as api:
        response = api.client.post("/api/auth/logout", headers=api.auth(api.acme.tech))
        assert response.status_code == 204
        assert refused_code(api, f"/ws?token=tok-{api.acme.tech}") == 4401


def test_an_expired_token_is_refused() -> None:
    with running_api() as api:
        api.world.clock.advance(timedelta(hours=13))
        assert refused_code(api, f"/ws?token=tok-{api.acme.tech}") == 4401


def test_a_token_revoked_while_connected_closes_the_socket_at_the_next_heartbeat() -> None:
    with running_api(heartbeat_seconds=0.05) as api, socket(api, api.acme.tech) as ws:
        until(ws, of_type("heartbeat"))
        api.client.post("/api/auth/logout", headers=api.auth(api.acme.tech))
        with pytest.raises(WebSocketDisconnect) as closed:
            until(ws, lambda f: False)
        assert closed.value.code == 4401


# --- what each user receives ------------------------------------------------------------------


def test_a_webhook_produces_alert_created_and_incident_created_on_the_socket() -> None:
    with running_api() as api:
        with socket(api, api.acme.tech) as ws:
            accepted = webhook(api, "co-acme", signature="disk_full")
            _, alert = until(ws, of_type("alert.created", signature="disk_full"))
            _, incident = until(ws, of_type("incident.created"))
        assert alert["company_id"] == "co-acme"
        assert alert["data"]["id"] == accepted["alert_ids"][0]
        assert incident["data"]["id"] == accepted["incident_ids"][0]
        assert alert["at"].endswith("Z")
        assert set(alert) == {"id", "type", "company_id", "data", "at"}
        assert alert["id"] != incident["id"]


def test_a_technician_never_receives_another_companys_events() -> None:
    with running_api() as api:
        with socket(api, api.acme.tech) as ws:
            webhook(api, "co-globex")  # alert, incident, notifications
            post_chat(api, api.globex.tech, "co-globex", "globex only")
            with socket(api, api.globex.tech):  # presence of globex
                pass
            incident = api.globex.incident_id
            api.client.patch(
                f"/api/incidents/{incident}",
                json={"status": "in_progress"},
                headers=api.auth("msp"),
            )
            webhook(api, "co-acme", signature="acme_own")
            received = barrier(api, ws)
        text = str(received)
        assert [f for f in received if f.get("company_id") == "co-globex"] == []
        assert not [m for m in api.globex.markers() if m.strip('"') in text]
        assert "globex only" not in text
        kinds = {f["type"] for f in received}
        assert {"alert.created", "incident.created"} <= kinds  # acme's own still arrive


def test_an_msp_admin_receives_every_companys_events() -> None:
    with running_api() as api:
        with socket(api, "msp") as ws:
            webhook(api, "co-acme", signature="from_acme")
            webhook(api, "co-globex", signature="from_globex")
            post_chat(api, api.globex.tech, "co-globex", "hello globex")
            received = barrier(api, ws)
        alerts = {
            f["data"]["signature"]: f["company_id"]
            for f in received
            if f["type"] == "alert.created"
        }
        assert alerts == {"from_acme": "co-acme", "from_globex": "co-globex"}
        assert any(f["type"] == "chat.message" and f["company_id"] == "co-globex" for f in received)


def test_a_notification_goes_only_to_the_user_it_is_addressed_to() -> None:
    with running_api() as api:
        with socket(api, api.acme.tech) as tech, socket(api, api.acme.admin) as admin:
            webhook(api, "co-acme", signature="db_down")  # critical: everyone of acme is told
            for ws, me in ((tech, api.acme.tech), (admin, api.acme.admin)):
                received = barrier(api, ws)
                notes = [f for f in received if f["type"] == "notification"]
                assert notes, f"{me} got no notification"
                assert {n["data"]["user_id"] for n in notes} == {me}
                assert notes[0]["data"]["link"]["type"] == "incident"
        stored = {n.user_id for n in api.world.store.notifications.values()}
        assert {api.acme.tech2, "msp"} <= stored  # others were notified too, just not here


def test_chat_messages_are_pushed_to_the_companys_users() -> None:
    with running_api() as api:
        with socket(api, api.acme.tech) as ws:
            sent = post_chat(api, api.acme.admin, "co-acme", "<b>deploy</b> at 5")
            _, frame = until(ws, of_type("chat.message", id=sent["id"]))
        assert frame["company_id"] == "co-acme"
        assert frame["data"] == sent  # the same message the REST answer gave, markup and all


# --- resume and reload ------------------------------------------------------------------------


def test_resuming_with_the_last_event_id_sends_what_was_missed_first() -> None:
    with running_api() as api:
        with socket(api, api.acme.tech) as ws:
            webhook(api, "co-acme", signature="before")
            _, seen = until(ws, of_type("alert.created", signature="before"))
        webhook(api, "co-acme", signature="while_away")
        post_chat(api, api.acme.admin, "co-acme", "while away")
        with api.client.websocket_connect(
            f"/ws?token=tok-{api.acme.tech}&last_event_id={seen['id']}"
        ) as ws:
            assert receive(ws) == {
                "type": "hello",
                "user_id": api.acme.tech,
                "last_event_id": seen["id"],
            }
            missed, _ = until(ws, of_type("chat.message", body="while away"))
            received = barrier(api, ws)
        kinds = [f["type"] for f in missed]
        assert {"alert.created", "incident.created", "presence"} <= set(kinds)
        assert [f["data"]["signature"] for f in missed if f["type"] == "alert.created"] == [
            "while_away"
        ]
        ids = [f["id"] for f in missed + received if "id" in f]
        assert len(ids) == len(set(ids))
        assert seen["id"] not in ids


class RacingFeed(LocalEventFeed):
    """A feed where an event is published while a client catches up: it is then both in
    ``since`` and in the live subscription."""

    async def since(self, last_id: str) -> list[FeedEntry] | None:
        await self.publish(Event("chat.message", "co-acme", {"body": "raced"}, T0))
        return await super().since(last_id)


def test_an_event_both_missed_and_live_is_sent_once() -> None:
    with running_api(feed=RacingFeed()) as api:
        with socket(api, api.acme.tech) as ws:
            _, seen = until(ws, of_type("presence"))
        with socket(api, api.acme.tech, f"last_event_id={seen['id']}") as ws:
            received = barrier(api, ws)
        raced = [f for f in received if f["type"] == "chat.message"]
        assert [f["data"]["body"] for f in raced] == ["raced"]
        ids = [f["id"] for f in received if "id" in f]
        assert len(ids) == len(set(ids))


def test_an_id_older_than_the_backlog_gets_reload() -> None:
    with running_api(feed=LocalEventFeed(backlog=3)) as api:
        with socket(api, api.acme.tech) as ws:
            _, first = until(ws, of_type("presence"))
        for n in range(3):
            post_chat(api, api.acme.admin, "co-acme", f"flood {n}")
        with socket(api, api.acme.tech, f"last_event_id={first['id']}") as ws:
            frame = receive(ws)
            assert frame["type"] == "reload"
            assert "backlog" in frame["reason"]
            barrier(api, ws)  # and live events flow after it


@pytest.mark.parametrize("last_id", ["nonsense", "0-0", "é" * 3, "x" * 300])
def test_an_unknown_last_event_id_gets_reload(last_id: str) -> None:
    with running_api() as api, socket(api, api.acme.tech, f"last_event_id={last_id}") as ws:
        assert receive(ws)["type"] == "reload"


def test_a_connection_that_falls_behind_is_told_to_reload_and_goes_on() -> None:
    # A queue of one: a webhook publishes several events at once, more than it can hold.
    with running_api(feed=LocalEventFeed(queue_size=1)) as api, socket(api, api.acme.tech) as ws:
        webhook(api, "co-acme")
        until(ws, of_type("reload"))
        post_chat(api, api.acme.admin, "co-acme", "after the reload")
        until(ws, of_type("chat.message", body="after the reload"))


# --- heartbeats and the client's frames -------------------------------------------------------


def test_heartbeats_arrive_at_the_configured_interval() -> None:
    with running_api(heartbeat_seconds=0.05) as api:
        with socket(api, api.acme.tech) as ws:
            _, beat = until(ws, of_type("heartbeat"))
            until(ws, of_type("heartbeat"))
        assert beat["at"] == "2026-11-26T12:00:00Z"  # the app's clock
        assert set(beat) == {"type", "at"}


def test_ping_gets_pong() -> None:
    with running_api() as api, socket(api, api.acme.tech) as ws:
        ws.send_json({"type": "ping"})
        assert until(ws, lambda f: f["type"] != "presence")[1] == {"type": "pong"}


@pytest.mark.parametrize(
    ("send", "detail"),
    [
        (lambda ws: ws.send_json({"type": "subscribe"}), "ping"),
        (lambda ws: ws.send_json(["ping"]), "ping"),
        (lambda ws: ws.send_text("not json"), "JSON"),
        (lambda ws: ws.send_bytes(b'{"type": "ping"}'), "binary"),
    ],
    ids=["unknown type", "not an object", "not JSON", "binary"],
)
def test_anything_but_ping_is_answered_with_an_error_and_the_socket_stays(
    send: Any, detail: str
) -> None:
    with running_api() as api, socket(api, api.acme.tech) as ws:
        send(ws)
        _, error = until(ws, of_type("error"))
        assert detail in error["detail"]
        ws.send_json({"type": "ping"})
        until(ws, of_type("pong"))


@pytest.mark.parametrize("kind", ["text", "bytes"])
def test_a_frame_over_64_kib_closes_the_socket_with_1009(kind: str) -> None:
    with running_api() as api, socket(api, api.acme.tech) as ws:
        ws.send_json({"type": "ping", "pad": "x" * 65_000})  # just under: answered
        until(ws, of_type("pong"))
        big = "x" * (64 * 1024 + 1)
        ws.send_text(big) if kind == "text" else ws.send_bytes(big.encode())
        with pytest.raises(WebSocketDisconnect) as closed:
            until(ws, lambda f: False)
        assert closed.value.code == 1009


def test_multibyte_text_is_measured_in_bytes() -> None:
    with running_api() as api, socket(api, api.acme.tech) as ws:
        ws.send_text("é" * (33 * 1024))  # 33 Ki characters, 66 KiB
        with pytest.raises(WebSocketDisconnect) as closed:
            until(ws, lambda f: False)
        assert closed.value.code == 1009


# --- presence ---------------------------------------------------------------------------------


def _online(frame: Frame) -> list[str]:
    return [u["user_id"] for u in frame["data"]["online"]]


def test_presence_is_announced_on_connect_and_disconnect_to_the_company() -> None:
    with running_api() as api, socket(api, api.acme.tech) as tech:
        _, first = until(tech, of_type("presence", company_id="co-acme"))
        assert _online(first) == [api.acme.tech]
        assert first["data"]["online"] == [{"user_id": api.acme.tech, "name": api.acme.tech}]
        with socket(api, api.acme.admin):
            _, joined = until(tech, of_type("presence", company_id="co-acme"))
            assert sorted(_online(joined)) == sorted([api.acme.tech, api.acme.admin])
            listed = api.client.get("/api/chat/co-acme/messages", headers=api.auth("msp"))
            assert {u["user_id"] for u in listed.json()["online"]} == {
                api.acme.tech,
                api.acme.admin,
            }
        _, left = until(tech, of_type("presence", company_id="co-acme"))
        assert _online(left) == [api.acme.tech]


def test_an_msp_admin_is_online_in_every_company() -> None:
    with running_api() as api, socket(api, api.acme.tech) as tech, socket(api, "msp") as msp:
        _, acme = until(tech, of_type("presence", company_id="co-acme", online=[
            {"user_id": "msp", "name": "Msp Admin"},
            {"user_id": api.acme.tech, "name": api.acme.tech},
        ]))  # fmt: skip
        _, globex = until(msp, of_type("presence", company_id="co-globex"))
        assert _online(globex) == ["msp"]
        assert acme["company_id"] == "co-acme"


def test_presence_of_another_company_is_not_sent() -> None:
    with running_api() as api:
        with socket(api, api.acme.tech) as ws:
            with socket(api, api.globex.admin):
                pass
            received = barrier(api, ws)
        assert [
            f for f in received if f["type"] == "presence" and f["company_id"] != "co-acme"
        ] == []


def test_a_change_of_companies_applies_at_the_next_heartbeat() -> None:
    with running_api(heartbeat_seconds=0.05) as api:
        with socket(api, api.acme.tech) as ws:
            response = api.client.patch(
                f"/api/users/{api.acme.tech}",
                json={"company_ids": ["co-globex"]},
                headers=api.auth("msp"),
            )
            assert response.status_code == 200, response.text
            until(ws, of_type("heartbeat"))
            until(ws, of_type("heartbeat"))  # one full interval under the new companies
            post_chat(api, "msp", "co-acme", "acme now hidden")
            received = barrier(api, ws, "co-globex")
        assert "acme now hidden" not in str(received)
