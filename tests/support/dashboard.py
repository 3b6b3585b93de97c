"""What the browser tests and the screenshot script share: Debian's Chromium under Playwright,
and a REST client that seeds a running server (companies, users, runbooks, a replayed storm).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx

from alertwhisperer_adapters.storm import StormConfig, generate_storm

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ADMIN_EMAIL = "admin@example.test"
ADMIN_PASSWORD = "admin-password-for-tests"
USER_PASSWORD = "technician-password-123"


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a throwaway server: in-memory store, a known admin."""
    return {
        "AW_DATABASE_URL": "memory://",
        "AW_ADMIN_EMAIL": ADMIN_EMAIL,
        "AW_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "AW_SECRET_KEY": "browser-tests-secret-key-0123456789",
        "AW_LOG_LEVEL": "WARNING",
        **extra,
    }


@attrs.define
class Seeder:
    """The REST API as one user (the MSP admin unless told otherwise) with a bearer token, for
    setting up what a test needs."""

    base_url: str
    email: str = ADMIN_EMAIL
    password: str = attrs.field(default=ADMIN_PASSWORD, repr=False)
    http: httpx.Client = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30.0)
        token = self.login(self.email, self.password)
        self.http.headers["Authorization"] = f"Bearer {token}"

    def login(self, email: str, password: str) -> str:
        answer = httpx.post(
            f"{self.base_url}/api/auth/login", json={"email": email, "password": password}
        )
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        answer = self.http.request(method, path, json=body, params=params or None)
        if answer.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else None

    def company(
        self, name: str, assets: Iterable[dict[str, Any]] = (), **extra: Any
    ) -> tuple[dict[str, Any], str]:
        """A new company (generous rate limit) and its API key."""
        body = {
            "name": name,
            "assets": list(assets),
            "rate_limit": {"requests_per_minute": 1000, "burst": 100000},
            **extra,
        }
        created = self.call("POST", "/api/companies", body)
        return created["company"], created["api_key"]

    def user(self, name: str, email: str, role: str, company_ids: Sequence[str]) -> dict[str, Any]:
        body = {
            "name": name,
            "email": email,
            "password": USER_PASSWORD,
            "role": role,
            "company_ids": list(company_ids),
        }
        user: dict[str, Any] = self.call("POST", "/api/users", body)
        return user

    def runbook(self, **fields: Any) -> dict[str, Any]:
        runbook: dict[str, Any] = self.call("POST", "/api/runbooks", fields)
        return runbook

    def alert(self, api_key: str, payload: dict[str, Any], **headers: str) -> dict[str, Any]:
        answer = httpx.post(
            f"{self.base_url}/api/webhooks/alerts",
            params={"api_key": api_key},
            json=payload,
            headers=headers,
            timeout=30.0,
        )
        if answer.status_code not in (200, 202):
            raise AssertionError(f"webhook -> {answer.status_code}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    def replay_storm(self, api_keys: Sequence[str], config: StormConfig) -> int:
        """Every delivery of a generated storm to the webhook of its company; the count of
        accepted (not duplicate) deliveries."""
        accepted = 0
        with httpx.Client(base_url=self.base_url, timeout=30.0) as sender:
            for delivery in generate_storm(config):
                answer = sender.post(
                    "/api/webhooks/alerts",
                    params={"api_key": api_keys[delivery.company]},
                    content=delivery.body,
                    headers=delivery.headers,
                )
                if answer.status_code not in (200, 202):
                    raise AssertionError(f"storm delivery -> {answer.status_code}: {answer.text}")
                accepted += answer.status_code == 202
        return accepted

    def close(self) -> None:
        self.http.close()


def chromium_path() -> str:
    """The browser Playwright drives: Debian's package, never a downloaded one."""
    found = shutil.which(str(CHROMIUM))
    return found or str(CHROMIUM)
