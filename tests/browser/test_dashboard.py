"""The dashboard in a real browser against a real server: login, companies and the one-time
API key, live alerts and incidents, filters, approvals, chat between two users, and what a
technician may not see."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import httpx

from ..support.dashboard import ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD
from .conftest import WAIT_MS, Session, World, open_session, require_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

require_browser()  # before importing playwright: skip, or fail in CI, with the reason
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=WAIT_MS)


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _wait_live(session: Session) -> None:
    expect(session.page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")


def test_login_refuses_a_wrong_password_and_then_shows_the_dashboard(
    browser: Browser, world: World
) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(world.server.base_url + "/")
    page.get_by_test_id("login-email").fill(ADMIN_EMAIL)
    page.get_by_test_id("login-password").fill("not the password")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_have_text("Invalid email or password")
    expect(page.get_by_test_id("page-overview")).to_have_count(0)
    page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("whoami")).to_contain_text("MSP admin")
    expect(page.get_by_test_id("metric-noise")).not_to_have_text("…")
    # The session is a cookie the page's script cannot read; a reload keeps the user in.
    assert "aw_session" not in page.evaluate("document.cookie")
    page.reload()
    expect(page.get_by_test_id("page-overview")).to_be_visible()
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-page")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("login-page")).to_be_visible()
    context.close()


def test_a_new_company_shows_its_api_key_once_and_the_key_works(
    admin: Session, world: World
) -> None:
    page = admin.page
    page.goto(world.server.base_url + "/#/companies")
    page.get_by_test_id("add-company").click()
    name = _unique("Initech")
    page.get_by_test_id("company-name").fill(name)
    page.get_by_test_id("company-windows").fill("Sat 22:00-02:00")
    page.get_by_test_id("company-timezone").fill("Europe/Berlin")
    page.get_by_test_id("add-asset-row").click()
    row = page.get_by_test_id("asset-row")
    row.locator("[name=name]").fill("ini-db-01")
    row.locator("[name=is_critical]").check()
    page.get_by_test_id("company-submit").click()

    dialog = page.get_by_test_id("credentials-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("shown only once")
    key = page.get_by_test_id("api-key").input_value()
    assert re.fullmatch(r"aw_[A-Za-z0-9_-]{40,}", key)
    expect(page.get_by_test_id("webhook-url")).to_have_value(re.compile(re.escape(key)))
    expect(page.get_by_test_id("integration-datadog")).to_be_visible()
    accepted = httpx.post(
        f"{world.server.base_url}/api/webhooks/alerts",
        params={"api_key": key},
        json={"asset_name": "ini-db-01", "signature": "disk_full", "severity": "critical"},
    )
    assert accepted.status_code == 202

    dialog.get_by_role("button", name="I have saved the key").click()
    expect(page.get_by_test_id("company-title")).to_have_text(name)
    expect(page.get_by_test_id("asset")).to_contain_text("ini-db-01")
    assert key not in page.content()
    page.reload()
    expect(page.get_by_test_id("company-title")).to_have_text(name)
    assert key not in page.content()


def test_a_duplicate_company_name_is_refused_in_the_form(admin: Session, world: World) -> None:
    page = admin.page
    page.goto(world.server.base_url + "/#/companies")
    page.get_by_test_id("add-company").click()
    page.get_by_test_id("company-name").fill("acme corp")
    page.get_by_test_id("company-submit").click()
    expect(page.get_by_test_id("form-error")).to_contain_text("name")
    expect(page.get_by_test_id("credentials-dialog")).to_have_count(0)
    listed = world.seeder.call("GET", "/api/companies")["items"]
    assert [c["name"].lower() for c in listed].count("acme corp") == 1


def test_a_webhook_alert_and_its_incident_appear_without_reload(
    admin: Session, world: World
) -> None:
    page = admin.page
    _wait_live(admin)
    page.evaluate("window.__sameDocument = true")
    signature = _unique("live_check")
    world.seeder.alert(
        world.acme_key,
        {
            "asset_name": "srv-db-01",
            "signature": signature,
            "severity": "critical",
            "message": "pushed by the test",
            "tool_source": "Zabbix",
        },
    )
    alert = page.get_by_test_id("alert-row").filter(has_text=signature)
    incident = page.get_by_test_id("incident-row").filter(has_text=signature)
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("pushed by the test")
    expect(incident).to_have_count(1)
    expect(incident).to_contain_text("Zabbix")
    # critical 90 + critical asset 20 = 110
    expect(incident.get_by_test_id("incident-score")).to_have_text("110")
    assert page.evaluate("window.__sameDocument") is True

    incident.click()
    expect(page.get_by_test_id("incident-title")).to_have_text(f"{signature} on srv-db-01")
    expect(page.get_by_test_id("incident-alert")).to_have_count(1)
    world.seeder.alert(world.acme_key, {"asset_name": "srv-db-01", "signature": signature})
    expect(page.get_by_test_id("incident-alert")).to_have_count(2)
    page.get_by_test_id("note-text").fill("Rotated logs <b>now</b>")
    page.get_by_test_id("note-submit").click()
    expect(page.get_by_test_id("notes")).to_contain_text("Rotated logs <b>now</b>")
    page.get_by_test_id("status-in_progress").click()
    expect(page.get_by_test_id("incident-status-badge")).to_have_text("in progress")
    expect(page.get_by_test_id("timeline")).to_contain_text("new -> in_progress")
    assert page.evaluate("window.__sameDocument") is True


def test_alert_and_incident_filters(admin: Session, world: World) -> None:
    tag = _unique("flt")
    key = world.acme_key
    world.seeder.alert(
        key,
        {
            "asset_name": "srv-app-01",
            "signature": f"{tag}_crit",
            "severity": "critical",
            "message": f"{tag} red",
        },
    )
    world.seeder.alert(
        key,
        {
            "asset_name": "srv-app-01",
            "signature": f"{tag}_low",
            "severity": "low",
            "message": f"{tag} blue",
        },
    )
    resolved = world.seeder.alert(
        key, {"asset_name": "srv-app-01", "signature": f"{tag}_done", "severity": "medium"}
    )
    world.seeder.call(
        "PATCH", f"/api/incidents/{resolved['incident_ids'][0]}", {"status": "resolved"}
    )

    page = admin.page
    page.goto(world.server.base_url + "/#/")
    page.get_by_test_id("alert-search").fill(tag)
    alerts = page.get_by_test_id("alert-row")
    expect(alerts).to_have_count(3)
    page.get_by_test_id("alert-severity").select_option("critical")
    expect(alerts).to_have_count(1)
    expect(alerts).to_contain_text(f"{tag}_crit")
    page.get_by_test_id("alert-search").fill(f"{tag} blue")
    expect(page.get_by_test_id("alert-list")).to_contain_text("No alerts match")
    page.get_by_test_id("alert-severity").select_option("")
    expect(alerts).to_have_count(1)
    expect(alerts).to_contain_text(f"{tag}_low")

    incidents = page.get_by_test_id("incident-row").filter(has_text=tag)
    page.get_by_test_id("incident-status").select_option("resolved")
    expect(incidents).to_have_count(1)
    expect(incidents).to_contain_text(f"{tag}_done")
    page.get_by_test_id("incident-status").select_option("new")
    expect(incidents).to_have_count(2)
    expect(incidents.filter(has_text=f"{tag}_done")).to_have_count(0)


def test_an_admin_approves_a_technicians_request(
    admin: Session, browser: Browser, world: World
) -> None:
    signature = _unique("restart_db")
    runbook = world.seeder.runbook(
        name=f"Restart database {signature}",
        signature=signature,
        risk="medium",
        actions=["sudo systemctl restart postgresql"],
        company_id=world.acme["id"],
    )
    incident_id = world.seeder.alert(
        world.acme_key, {"asset_name": "srv-db-01", "signature": signature, "severity": "high"}
    )["incident_ids"][0]

    # A medium-risk runbook matching a new incident asks for approval by itself (SPEC §7).
    tech = open_session(browser, world, "tina@acme.example", USER_PASSWORD)
    tech.page.goto(f"{world.server.base_url}/#/incidents/{incident_id}")
    option = tech.page.get_by_test_id("runbook-option").filter(has_text=runbook["name"])
    expect(option).to_contain_text("suggested")
    expect(option.get_by_test_id("runbook-execute")).to_have_text("Request approval")
    expect(tech.page.get_by_test_id("incident-approval")).to_contain_text("pending")
    tech.page.goto(f"{world.server.base_url}/#/approvals")
    waiting = tech.page.get_by_test_id("approval-row").filter(has_text=runbook["name"])
    expect(waiting).to_contain_text("needs an admin")
    expect(waiting.get_by_test_id("approve")).to_have_count(0)

    page = admin.page
    page.goto(world.server.base_url + "/#/approvals")
    row = page.get_by_test_id("approval-row").filter(has_text=runbook["name"])
    expect(row.get_by_test_id("approval-status")).to_have_text("pending")
    row.get_by_test_id("approve").click()
    page.get_by_test_id("decision-notes").fill("go ahead")
    page.get_by_test_id("decision-dialog").get_by_role("button", name="Approve").click()
    page.get_by_test_id("approvals-status").select_option("")
    expect(row.get_by_test_id("approval-status")).to_have_text(
        re.compile("approved|executing|succeeded")
    )
    # The technician's open incident page follows the decision live.
    tech.page.goto(f"{world.server.base_url}/#/incidents/{incident_id}")
    expect(tech.page.get_by_test_id("incident-approval")).to_contain_text(
        re.compile("approved|executing|succeeded")
    )
    tech.page.context.close()
    assert tech.errors == []


def test_chat_between_two_browser_contexts(admin: Session, browser: Browser, world: World) -> None:
    room = f"{world.server.base_url}/#/chat/{world.acme['id']}"
    tech = open_session(browser, world, "tina@acme.example", USER_PASSWORD)
    _wait_live(tech)
    _wait_live(admin)
    tech.page.goto(room)
    admin.page.goto(room)
    expect(admin.page.get_by_test_id("chat-online")).to_contain_text("Tina Tech")

    hello = f"Disk on srv-db-01 is cleaning up {uuid.uuid4().hex[:6]}"
    tech.page.get_by_test_id("chat-input").fill(hello)
    tech.page.get_by_test_id("chat-input").press("Enter")
    expect(tech.page.get_by_test_id("chat-message").filter(has_text=hello)).to_have_count(1)
    expect(admin.page.get_by_test_id("chat-message").filter(has_text=hello)).to_have_count(1)

    markup = '<img src=x onerror="window.__pwned=1"> thanks'
    admin.page.get_by_test_id("chat-input").fill(markup)
    admin.page.get_by_test_id("chat-send").click()
    received = tech.page.get_by_test_id("chat-message").filter(has_text="thanks")
    expect(received).to_contain_text(markup)
    assert received.locator("img").count() == 0
    assert tech.page.evaluate("window.__pwned") is None

    # An empty message is not sent; the input keeps what the user typed otherwise.
    tech.page.get_by_test_id("chat-input").fill("   ")
    tech.page.get_by_test_id("chat-input").press("Enter")
    expect(tech.page.get_by_test_id("chat-message")).to_have_count(2)
    tech.page.context.close()
    assert tech.errors == []


def test_a_technician_sees_neither_another_company_nor_admin_pages(
    browser: Browser, world: World
) -> None:
    secret = _unique("globex_only")
    other = world.seeder.alert(
        world.globex_key, {"asset_name": "gx-web-01", "signature": secret, "severity": "critical"}
    )
    tech = open_session(browser, world, "tina@acme.example", USER_PASSWORD)
    page = tech.page
    nav = page.locator("nav.side")
    expect(nav).to_contain_text("Incidents")
    for hidden in ("Companies", "Technicians", "Audit log"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    options = page.get_by_test_id("company-filter").locator("option")
    expect(options).to_have_text(["All companies", "Acme Corp"])

    page.get_by_test_id("alert-search").fill(secret)
    expect(page.get_by_test_id("alert-list")).to_contain_text("No alerts match")
    for route in ("companies", f"companies/{world.globex['id']}", "technicians", "audit"):
        page.goto(f"{world.server.base_url}/#/{route}")
        expect(page.get_by_test_id("forbidden")).to_be_visible()
    page.goto(f"{world.server.base_url}/#/incidents/{other['incident_ids'][0]}")
    expect(page.get_by_test_id("incident-missing")).to_contain_text("Incident not found")
    page.goto(f"{world.server.base_url}/#/chat/{world.globex['id']}")
    expect(page.get_by_test_id("chat-messages")).to_contain_text("not found")
    assert secret not in page.content()
    page.context.close()
    assert tech.errors == []


def test_metric_cards_are_exact_counts_and_the_kpi_chart_is_one_request(
    admin: Session, world: World
) -> None:
    tag = _unique("card")
    for n in range(3):
        world.seeder.alert(
            world.acme_key,
            {"asset_name": f"srv-{tag}-{n}", "signature": tag, "severity": "critical"},
        )
    page = admin.page
    page.goto(world.server.base_url + "/#/")
    alerts = world.seeder.call("GET", "/api/alerts/counts", status="firing")
    incidents = world.seeder.call("GET", "/api/incidents/counts")
    open_incidents = incidents["by_status"]["new"] + incidents["by_status"]["in_progress"]
    expect(page.get_by_test_id("metric-critical")).to_have_text(
        str(alerts["by_severity"]["critical"])
    )
    expect(page.get_by_test_id("metric-high")).to_have_text(str(alerts["by_severity"]["high"]))
    expect(page.get_by_test_id("metric-incidents")).to_have_text(str(open_incidents))

    kpi_requests: list[str] = []
    page.on("request", lambda r: kpi_requests.append(r.url) if "/api/kpis" in r.url else None)
    page.goto(world.server.base_url + "/#/kpis")
    chart = page.get_by_test_id("kpi-chart")
    expect(chart.locator("rect.bar-a")).to_have_count(24)
    expect(page.get_by_test_id("kpi-cards")).to_contain_text("Noise reduction")
    page.get_by_test_id("kpi-period").select_option("month")
    expect(chart.locator("rect.bar-a")).to_have_count(30)
    # One request per period shown, none per bucket (the overview's own /api/kpis, which a
    # late live event may repeat, has no since).
    assert len([url for url in kpi_requests if "/api/kpis/series?" in url]) == 2, kpi_requests
    assert [url for url in kpi_requests if "/api/kpis?" in url and "since=" in url] == []


def test_an_incident_lists_every_execution_live(admin: Session, world: World) -> None:
    signature = _unique("clean_tmp")
    world.seeder.runbook(
        name=f"Clean tmp {signature}",
        signature=signature,
        risk="low",
        actions=["rm -rf /tmp/nothing-here"],
        company_id=world.acme["id"],
    )
    # The low-risk runbook runs by itself (a dry run on this server) before anyone looks.
    incident_id = world.seeder.alert(
        world.acme_key, {"asset_name": "srv-app-01", "signature": signature}
    )["incident_ids"][0]
    page = admin.page
    page.goto(f"{world.server.base_url}/#/incidents/{incident_id}")
    executions = page.get_by_test_id("execution")
    expect(executions).to_have_count(1)
    expect(executions.first).to_contain_text(f"Clean tmp {signature}")
    expect(executions.first).to_contain_text("automatic")
    expect(executions.first).to_contain_text("dry_run")
    expect(executions.first.get_by_test_id("execution-status")).to_have_text("Success")
    # A run started elsewhere (here: the API, as another tab would) appears live.
    runbook_id = _runbook_id(world, signature)
    world.seeder.call("POST", f"/api/incidents/{incident_id}/runbooks/{runbook_id}/execute")
    expect(executions).to_have_count(2)
    expect(executions.first).to_contain_text("(you)")


def _runbook_id(world: World, signature: str) -> str:
    runbooks = world.seeder.call("GET", "/api/runbooks", company_id=world.acme["id"], limit=500)
    found: str = next(r["id"] for r in runbooks["items"] if r["signature"] == signature)
    return found
