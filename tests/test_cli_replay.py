"""`alertwhisperer replay` and the storm generator, through the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from alertwhisperer_adapters.replay import replay_payloads
from alertwhisperer_adapters.storm import StormConfig, generate_storm

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alertwhisperer_adapters.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def jsonl_of_fixtures(tmp_path: Path) -> Path:
    names = [
        "alertmanager-webhook-v4-captured.json",
        "alertmanager-webhook-v4-captured-resolved.json",
        "datadog-webhook-triggered.json",
        "zabbix-webhook-problem.json",
        "cloudwatch-sns-alarm.json",
        "generic-seed-format.json",
    ]
    path = tmp_path / "payloads.jsonl"
    lines = [json.dumps(json.loads((FIXTURES / n).read_text())) for n in names]
    path.write_text("\n".join([*lines, "{broken", lines[2]]) + "\n")
    return path


def test_replay_of_fixture_lines_prints_incidents_kpis_and_the_bad_line(tmp_path: Path) -> None:
    done = run_cli("replay", str(jsonl_of_fixtures(tmp_path)))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "6 deliveries, 6 alerts, 1 duplicate deliveries dropped, 1 rejected" in out
    assert "line 7:" in out
    assert "web-01|system.load.1" in out
    assert "noise_reduction" in out


def test_replay_resolves_what_the_source_recovered(tmp_path: Path) -> None:
    lines = jsonl_of_fixtures(tmp_path).read_bytes().splitlines()
    report = replay_payloads(lines, now=NOW)
    am = [i for i in report.incidents if i.key == "web-01|HighCPU"]
    assert [i.status for i in am] == ["resolved"]


def test_replay_demo_runs_a_storm_end_to_end() -> None:
    done = run_cli("replay", "--demo", "--demo-alerts", "500")
    assert done.returncode == 0, done.stderr
    # Generic payloads carry no delivery id of their own, so their retries count again.
    assert " alerts, " in done.stdout
    assert "incidents (top" in done.stdout
    assert "noise_reduction" in done.stdout


def test_replay_without_input_is_a_usage_error() -> None:
    done = run_cli("replay")
    assert done.returncode == 2
    assert "give JSON Lines files or --demo" in done.stderr


def test_storm_is_reproducible_from_its_seed() -> None:
    first = generate_storm(StormConfig(alerts=300, seed=7))
    again = generate_storm(StormConfig(alerts=300, seed=7))
    other = generate_storm(StormConfig(alerts=300, seed=8))
    assert [d.body for d in first] == [d.body for d in again]
    assert [d.body for d in first] != [d.body for d in other]


def test_storm_has_retries_late_arrivals_recoveries_and_several_tools() -> None:
    storm = generate_storm(StormConfig(alerts=1000, seed=3))
    ids = [d.headers["x-delivery-id"] for d in storm]
    assert len(ids) > len(set(ids)) > 900  # some deliveries retried with the same id
    times = [d.event_time for d in storm]
    assert times != sorted(times)  # out-of-order arrival
    bodies = [json.loads(d.body) for d in storm]
    assert any(b.get("status") == "resolved" or b.get("eventvalue") == "0" for b in bodies)
    kinds = {
        ("version" in b) + 2 * ("alert_transition" in b) + 4 * ("eventid" in b) + 8 * ("Type" in b)
        for b in bodies
    }
    assert len(kinds) == 5


def test_storm_command_prints_json_lines() -> None:
    done = run_cli("storm", "--alerts", "20", "--seed", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 20
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_db_upgrade_migrates_an_empty_sqlite_database(tmp_path: Path) -> None:
    import os

    url = f"sqlite:///{tmp_path}/fresh.db"
    done = subprocess.run(
        [sys.executable, "-m", "alertwhisperer_adapters.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "AW_DATABASE_URL": url},
    )
    assert done.returncode == 0, done.stderr
    assert f"database at head: {url}" in done.stdout
    assert (tmp_path / "fresh.db").exists()


def test_db_upgrade_prepares_mongodb(tmp_path: Path) -> None:
    import os

    from tests.conftest import service_url

    base = service_url("AW_TEST_MONGO_URL")
    url = base.replace("/?", "/aw_cli_upgrade?", 1) if "/?" in base else base
    done = subprocess.run(
        [sys.executable, "-m", "alertwhisperer_adapters.cli", "db", "upgrade"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "AW_DATABASE_URL": url},
    )
    try:
        assert done.returncode == 0, done.stderr
        assert "database at head" in done.stdout
    finally:
        import pymongo

        with pymongo.MongoClient(base) as client:
            client.drop_database("aw_cli_upgrade")
