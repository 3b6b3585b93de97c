"""``/ws`` on the real thing: ``alertwhisperer serve`` under uvicorn, a real WebSocket client
(the ``websockets`` package), over SQLite. One server for the whole module (starting one costs
a second or two); each test uses its own company or socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from ..support.servers import Server, running_server

pytestmark = pytest.mark.slow

PASSWORD = "a very good password for the ws tests"
EMAIL = "ops@example.test"
TIMEOUT = 20.0  # only a broken server ever waits this long


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("ws-server")
    env = {"AW_ADMIN_EMAIL": EMAIL, "AW_ADMIN_PASSWORD": PASSWORD}
    with running_server(workdir, env) as running:
        yield running


@pytest.fixture(scope="module")
def login(server: Server) -> httpx.Response:
    with server.client() as client:
        response = client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


def _ws_url(server: Server, query: str = "") -> str:
    return server.base_url.replace("http://", "ws://") + "/ws" + query


async def _frame(ws: ClientConnection) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await ws.recv(decode=True))
    return frame


async def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        frame = await _frame(ws)
        if frame["type"] == kind:
            return frame


async def test_a_webhook_reaches_a_token_authenticated_socket(
    server: Server, login: httpx.Response
) -> None:
    token = login.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.base_url, timeout=TIMEOUT) as client:
        created = await client.post("/api/companies", headers=headers, json={"name": "Acme"})
        assert created.status_code == 201, created.text
        company_id, key = created.json()["company"]["id"], created.json()["api_key"]
        async with connect(_ws_url(server, f"?token={token}"), open_timeout=TIMEOUT) as ws:
            hello = await _frame(ws)
            user_id = login.json()["user"]["id"]
            assert hello == {"type": "hello", "user_id": user_id, "last_event_id": None}
            alert = {"asset_name": "db-01", "signature": "disk_full", "severity": "critical"}
            accepted = await client.post(f"/api/webhooks/alerts?api_key={key}", json=alert)
            assert accepted.status_code == 202, accepted.text
            created_alert = await _until(ws, "alert.created")
            created_incident = await _until(ws, "incident.created")
            notification = await _until(ws, "notification")
    assert created_alert["company_id"] == company_id
    assert created_alert["data"]["id"] == accepted.json()["alert_ids"][0]
    assert created_incident["data"]["id"] == accepted.json()["incident_ids"][0]
    assert notification["data"]["user_id"] == login.json()["user"]["id"]


async def test_the_session_cookie_authenticates_a_same_origin_socket(
    server: Server, login: httpx.Response
) -> None:
    cookie = f"aw_session={login.cookies['aw_session']}"
    async with connect(
        _ws_url(server),
        additional_headers={"Cookie": cookie},
        origin=Origin(server.base_url),
        open_timeout=TIMEOUT,
    ) as ws:
        assert (await _frame(ws))["type"] == "hello"
        await ws.send(json.dumps({"type": "ping"}))
        assert await _until(ws, "pong") == {"type": "pong"}


async def test_a_cookie_from_another_origin_is_rejected(
    server: Server, login: httpx.Response
) -> None:
    cookie = f"aw_session={login.cookies['aw_session']}"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            _ws_url(server),
            additional_headers={"Cookie": cookie},
            origin=Origin("https://evil.example"),
            open_timeout=TIMEOUT,
        ):
            pass  # pragma: no cover
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("query", ["", "?token=not-a-token"])
async def test_an_unauthenticated_handshake_is_rejected(server: Server, query: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(_ws_url(server, query), open_timeout=TIMEOUT):
            pass  # pragma: no cover
    assert refused.value.response.status_code == 403


async def test_an_oversize_frame_closes_the_socket_with_1009(
    server: Server, login: httpx.Response
) -> None:
    token = login.json()["access_token"]
    async with connect(_ws_url(server, f"?token={token}"), open_timeout=TIMEOUT) as ws:
        await _frame(ws)
        await ws.send("x" * (64 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await _until(ws, "never sent")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
