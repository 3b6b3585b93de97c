"""The real thing: ``alertwhisperer serve`` under uvicorn on 127.0.0.1, over SQLite.

This is what ``make run`` does on a fresh checkout: the first start creates the admin and
prints a generated password once; a login with it works; a restart keeps the data and prints
no new password.
"""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from ..support.servers import Server, running_server

pytestmark = pytest.mark.slow

ALERT = {
    "asset_name": "srv-db-01",
    "signature": "disk_full",
    "severity": "critical",
    "message": "Disk full",
    "tool_source": "Zabbix",
}


def _admin_token(server: Server, password: str) -> str:
    with server.client() as client:
        response = client.post(
            "/api/auth/login",
            json={
                "email": "admin@alertwhisperer.local",
                "password": password,
            },
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


def test_first_start_prints_a_password_that_logs_in_and_a_restart_keeps_everything(
    tmp_path: Path,
) -> None:
    with running_server(tmp_path) as server:
        password = server.generated_password()
        assert password is not None, server.stdout()
        token = _admin_token(server, password)
        headers = {"Authorization": f"Bearer {token}"}
        with server.client() as client:
            created = client.post("/api/companies", headers=headers, json={"name": "Acme"})
            assert created.status_code == 201
            key = created.json()["api_key"]
            assert created.json()["webhook_url"].startswith(server.base_url)
            for _ in range(3):
                accepted = client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
                assert accepted.status_code == 202
                assert accepted.headers["x-ratelimit-limit"] == "60"
            incidents = client.get("/api/incidents", headers=headers).json()["items"]
            assert [i["alert_count"] for i in incidents] == [3]
            assert "aw_alerts_ingested_total" in client.get("/metrics").text
    secret = tmp_path / "var" / "secret_key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert (tmp_path / "var" / "alertwhisperer.db").exists()

    with running_server(tmp_path) as again:
        assert again.generated_password() is None
        token = _admin_token(again, password)
        with again.client() as client:
            incidents = client.get(
                "/api/incidents", headers={"Authorization": f"Bearer {token}"}
            ).json()
            assert [i["alert_count"] for i in incidents["items"]] == [3]


def test_admin_from_the_environment_prints_no_password(tmp_path: Path) -> None:
    env = {
        "AW_ADMIN_EMAIL": "ops@example.test",
        "AW_ADMIN_PASSWORD": "a very good password",
        "AW_DATABASE_URL": "memory://",
    }
    with running_server(tmp_path, env) as server:
        assert server.generated_password() is None
        assert "a very good password" not in server.stdout()
        with server.client() as client:
            response = client.post(
                "/api/auth/login",
                json={"email": "ops@example.test", "password": "a very good password"},
            )
            assert response.status_code == 200


def _read_response(conn: socket.socket) -> bytes:
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += conn.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
    )
    while len(body) < length:
        body += conn.recv(4096)
    return head + b"\r\n\r\n" + body


def test_streamed_body_over_the_limit_is_refused_before_it_ends(tmp_path: Path) -> None:
    env = {"AW_DATABASE_URL": "memory://"}
    with running_server(tmp_path, env) as server:
        host, port = server.base_url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(
                b"POST /api/webhooks/alerts?api_key=x HTTP/1.1\r\nHost: t\r\n"
                b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            chunk = b"x" * 65536
            # One chunk more than the limit, and never the final empty chunk: the answer must
            # come while the body is still "open". (The key is checked after the size.)
            for _ in range(17):
                conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            answer = _read_response(conn)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert answer.endswith(b'{"detail":"Body exceeds 1048576 bytes","errors":[]}')
