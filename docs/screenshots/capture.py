"""Screenshots of the dashboard with real data: start a throwaway server, replay a seeded
alert storm into its webhook, act on a few incidents, and photograph each main page.

Run from the repository root (needs the dev extra and /usr/bin/chromium):

    .venv/bin/python docs/screenshots/capture.py [--alerts 600] [--out docs/screenshots]

The server runs on 127.0.0.1 with the in-memory store and is stopped afterwards; nothing
outside the output directory is written except a temporary working directory.

Runbooks run with the local executor (``AW_LOCAL_EXECUTOR=1``), not the server's default dry
run: a dry run changes nothing, so it never counts as a self-heal, and the pictures would show
no automation at all. The low-risk "Clean old logs" runbook therefore only touches the
throwaway working directory (``var/demo-logs``), and its health check is real (the disk the
server runs on is below 95 % full), so the self-heals in the pictures are real ones.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support.dashboard import (  # noqa: E402
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    CHROMIUM_ARGS,
    USER_PASSWORD,
    Seeder,
    chromium_missing_reason,
    chromium_path,
    server_env,
)
from tests.support.servers import running_server  # noqa: E402

from alertwhisperer_adapters.storm import StormConfig  # noqa: E402

COMPANIES = ("Acme Corp", "Globex", "Initech")


def seed(seeder: Seeder, alerts: int) -> dict[str, Any]:
    """Three companies, their people and runbooks, a replayed storm, and some human work."""
    companies, keys = [], []
    for index, name in enumerate(COMPANIES):
        assets = [
            {
                "name": f"c{index}-srv-{n:03d}",
                "type": ("webserver", "database", "cache")[n % 3],
                "os": "Ubuntu 22.04",
                "environment": "production" if n < 8 else "staging",
                "is_critical": n % 4 == 0,
            }
            for n in range(12)
        ]
        company, key = seeder.company(
            name,
            assets,
            policy={"maintenance_windows": ["Sat 22:00-02:00"], "timezone": "Europe/Berlin"},
        )
        companies.append(company)
        keys.append(key)
    acme = companies[0]["id"]
    tech = seeder.user("Tina Tech", "tina@acme.example", "technician", [acme])
    seeder.user("Tom Tech", "tom@acme.example", "technician", [acme])
    seeder.user("Carl Admin", "carl@acme.example", "company_admin", [acme])
    seeder.user("Gina Globex", "gina@globex.example", "technician", [companies[1]["id"]])
    seeder.runbook(
        name="Clean old logs",
        description="Free disk space by removing rotated logs older than 7 days "
        "(on this demo server: its own var/demo-logs)",
        signature="disk_full",
        risk="low",
        actions=[
            "set -e",
            "mkdir -p var/demo-logs",
            "find var/demo-logs -name '*.gz' -mtime +7 -print -delete",
            "df -h .",
        ],
        health_check={"kind": "command", "command": "df -P . | awk 'NR==2 {exit ($5+0 >= 95)}'"},
        timeout_seconds=60,
    )
    seeder.runbook(
        name="Restart nginx",
        description="Restart nginx and verify the health endpoint",
        signature="service_down:*",
        risk="medium",
        actions=["sudo systemctl restart nginx"],
        health_check={"kind": "http", "url": "http://localhost/healthz", "expected_status": 200},
    )
    seeder.runbook(
        name="Fail over database",
        description="Promote the replica when replication lag stays high",
        signature="replication_lag",
        risk="high",
        actions=["sudo -u postgres pg_ctl promote -D /var/lib/postgresql/data"],
        company_id=acme,
    )
    # The storm happened over the last few hours, whenever the script runs, so the KPI page's
    # 24-hour chart shows it.
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    accepted = seeder.replay_storm(
        keys, StormConfig(alerts=alerts, companies=3, assets_per_company=12, start=start)
    )
    # A technician picks up the two top incidents; one more is resolved by hand with a note.
    top = seeder.call("GET", "/api/incidents", company_id=acme, status="new", limit=5)["items"]
    for incident in top[:2]:
        seeder.call(
            "PATCH",
            f"/api/incidents/{incident['id']}",
            {"status": "in_progress", "assigned_to": tech["id"]},
        )
    seeder.call(
        "POST",
        f"/api/incidents/{top[0]['id']}/notes",
        {"text": "Looking at it; the database host is swapping."},
    )
    seeder.call("PATCH", f"/api/incidents/{top[2]['id']}", {"status": "resolved"})
    tina = Seeder(seeder.base_url, "tina@acme.example", USER_PASSWORD)
    seeder.call(
        "POST",
        f"/api/chat/{acme}/messages",
        {"body": "Storm on c0 hosts: please check the database cluster first."},
    )
    tina.call(
        "POST",
        f"/api/chat/{acme}/messages",
        {"body": "On it. c0-srv-004 is at 97% disk, the cleanup runbook already ran."},
    )
    tina.close()
    healed = seeder.call(
        "GET", "/api/incidents", company_id=acme, status="resolved", q="disk_full", sort="recent"
    )["items"]
    healed = [i for i in healed if i["resolution"] == "self_healed"]
    return {
        "accepted": accepted,
        "acme": acme,
        "top": top[0]["id"],
        "healed": healed[0]["id"] if healed else None,
        "keys": keys,
    }


def capture(base_url: str, out: Path, seeded: dict[str, Any]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    shots: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), args=list(CHROMIUM_ARGS), headless=True
        )
        context = browser.new_context(viewport={"width": 1440, "height": 960})
        context.set_default_timeout(30_000)
        page = context.new_page()

        def shot(name: str, route: str | None = None, wait_for: str | None = None) -> None:
            if route is not None:
                page.goto(f"{base_url}/#/{route}")
            if wait_for:
                page.get_by_test_id(wait_for).first.wait_for()
            time.sleep(1.2)  # let the page's requests settle and the charts draw
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            shots.append(path)

        page.goto(base_url + "/")
        page.get_by_test_id("login-email").fill(ADMIN_EMAIL)
        shot("01-login")
        page.get_by_test_id("login-password").fill(ADMIN_PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("page-overview").wait_for()
        page.locator('[data-testid=live-indicator][data-state="live"]').wait_for()
        shot("02-dashboard", None, "incident-row")
        shot("03-incidents", "incidents", "incident-row")
        shot("04-incident-detail", f"incidents/{seeded['top']}", "incident-alert")
        if seeded["healed"]:
            shot("18-self-healed-incident", f"incidents/{seeded['healed']}", "execution")
        shot("05-companies", "companies", "company-row")
        page.get_by_test_id("add-company").click()
        page.get_by_test_id("company-name").fill("Umbrella Health")
        page.get_by_test_id("company-windows").fill("Sun 01:00-03:00")
        page.get_by_test_id("add-asset-row").click()
        page.get_by_test_id("asset-row").locator("[name=name]").fill("um-ehr-01")
        shot("06-add-company")
        page.get_by_test_id("company-submit").click()
        shot("07-api-key-once", None, "api-key")
        page.get_by_role("button", name="I have saved the key").click()
        shot("08-company-settings", f"companies/{seeded['acme']}", "settings-form")
        shot("09-technicians", "technicians", "user-row")
        shot("10-approvals", "approvals", "approval-row")
        shot("11-runbooks", "runbooks", "runbook")
        shot("12-audit", "audit", "audit-row")
        shot("13-kpis", "kpis", "kpi-cards")
        shot("14-compliance", "compliance", "compliance")
        shot("15-chat", f"chat/{seeded['acme']}", "chat-message")
        page.goto(base_url + "/#/")
        page.get_by_test_id("incident-row").first.wait_for()
        page.get_by_test_id("bell").click()
        shot("16-notifications", None, "bell-item")
        context.close()

        tech = browser.new_context(viewport={"width": 1440, "height": 960})
        page = tech.new_page()
        page.goto(base_url + "/")
        page.get_by_test_id("login-email").fill("tina@acme.example")
        page.get_by_test_id("login-password").fill(USER_PASSWORD)
        page.get_by_test_id("login-submit").click()
        page.get_by_test_id("page-overview").wait_for()
        shot("17-technician-dashboard", None, "incident-row")
        tech.close()
        browser.close()
    return shots


def _capture_env() -> dict[str, str]:
    """The throwaway server's environment: runbooks really run, in its working directory."""
    extra = {"AW_LOCAL_EXECUTOR": "1"}
    if os.geteuid() == 0:
        # Containers often run as root; the runbooks above only touch the temporary directory.
        extra["AW_LOCAL_EXECUTOR_ALLOW_ROOT"] = "1"
    return server_env(**extra)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=600)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    reason = chromium_missing_reason()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_server(Path(workdir), _capture_env()) as server,
    ):
        seeder = Seeder(server.base_url)
        seeded = seed(seeder, args.alerts)
        print(
            f"replayed a storm of {args.alerts} alerts ({seeded['accepted']} deliveries accepted)"
        )
        for path in capture(server.base_url, args.out, seeded):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        seeder.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
