"""Fixtures of the browser tests: one real server (uvicorn, in-memory store) per module, seeded
over its REST API, and Debian's Chromium driven by Playwright (never a downloaded browser).

Without /usr/bin/chromium (or playwright) the tests skip with the reason; under
``AW_REQUIRE_SERVICES=1`` (CI, where ``.ci/run`` installs Chromium) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from ..support.dashboard import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM_ARGS,
    Seeder,
    chromium_missing_reason,
    chromium_path,
    server_env,
)
from ..support.servers import Server, running_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Generous for a loaded two-core machine; a passing run takes well under a second per wait.
WAIT_MS = 15_000


def require_browser() -> None:
    """Skip (or, under ``AW_REQUIRE_SERVICES=1``, fail) when the browser tests cannot run."""
    reason = chromium_missing_reason()
    if reason is None:
        return
    if os.environ.get("AW_REQUIRE_SERVICES") == "1":
        pytest.fail(
            f"browser tests need Chromium and playwright under AW_REQUIRE_SERVICES=1: {reason}"
        )
    pytest.skip(reason, allow_module_level=True)


@attrs.define
class World:
    """Two tenants: Acme (with a technician and a company admin) and Globex."""

    server: Server
    seeder: Seeder
    acme: dict[str, Any]
    acme_key: str
    globex: dict[str, Any]
    globex_key: str
    tech: dict[str, Any]
    acme_admin: dict[str, Any]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_browser()
    workdir: Path = tmp_path_factory.mktemp("dashboard")
    with running_server(workdir, server_env()) as server:
        seeder = Seeder(server.base_url)
        acme, acme_key = seeder.company(
            "Acme Corp",
            [
                {"name": "srv-app-01", "type": "webserver"},
                {"name": "srv-db-01", "is_critical": True},
            ],
        )
        globex, globex_key = seeder.company("Globex", [{"name": "gx-web-01"}])
        tech = seeder.user("Tina Tech", "tina@acme.example", "technician", [acme["id"]])
        admin = seeder.user("Carl Admin", "carl@acme.example", "company_admin", [acme["id"]])
        try:
            yield World(server, seeder, acme, acme_key, globex, globex_key, tech, admin)
        finally:
            seeder.close()


@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@attrs.define
class Session:
    """One logged-in browser context and the script errors its pages raised."""

    page: Page
    errors: list[str]


def open_session(browser: Browser, world: World, email: str, password: str) -> Session:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(world.server.base_url + "/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("page-overview").wait_for()
    return Session(page, errors)


@pytest.fixture
def admin(browser: Browser, world: World) -> Iterator[Session]:
    session = open_session(browser, world, ADMIN_EMAIL, ADMIN_PASSWORD)
    yield session
    session.page.context.close()
    assert session.errors == []
