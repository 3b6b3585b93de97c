"""``alertwhisperer serve --workers 2`` over PostgreSQL and Redis: one limit, own connections."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from ..conftest import service_url
from ..contract._databases import postgres_schema
from ..support.servers import running_server
from .support import private_redis

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

PASSWORD = "workers test password"
ALERT = {"asset_name": "srv-db-01", "signature": "disk_full", "severity": "critical"}


def test_two_workers_share_the_limit_and_each_has_its_own_redis_connections(
    tmp_path: Path,
) -> None:
    postgres = service_url("AW_TEST_POSTGRES_URL").replace("postgresql://", "postgresql+psycopg://")
    with postgres_schema(postgres, migrate=False) as database, private_redis() as cache:
        env = {
            "AW_DATABASE_URL": database,
            "AW_REDIS_URL": cache.url,
            "AW_ADMIN_PASSWORD": PASSWORD,
            "AW_SECRET_KEY": "w" * 40,
            "AW_LOG_LEVEL": "WARNING",
        }
        with running_server(tmp_path, env, workers=2) as server, server.client() as admin:
            login = admin.post(
                "/api/auth/login",
                json={"email": "admin@alertwhisperer.local", "password": PASSWORD},
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            created = admin.post("/api/companies", json={"name": "Acme"}, headers=auth).json()
            company_id, key = created["company"]["id"], created["api_key"]
            admin.put(
                f"/api/companies/{company_id}/settings",
                json={"rate_limit": {"requests_per_minute": 1, "burst": 10}},
                headers=auth,
            ).raise_for_status()

            statuses = []
            for _ in range(30):
                # A new connection each time, so the kernel deals them to both workers.
                with httpx.Client(base_url=server.base_url, timeout=30) as client:
                    response = client.post(f"/api/webhooks/alerts?api_key={key}", json=ALERT)
                    statuses.append(response.status_code)
            assert sorted(statuses) == [202] * 10 + [429] * 20

            names = {c["name"] for c in redis.Redis(port=cache.port).client_list()}
            workers = {n for n in names if n.startswith("alertwhisperer-")}
            # Every connection is named after its process: two workers, two sets of clients.
            assert len(workers) == 2, names
