"""Zabbix webhook media type, with Zabbix's own parameter names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from alertwhisperer_core import Alert, AlertStatus, Severity
from alertwhisperer_core.normalize import Delivery

from .support.normalizing import FIXTURES, Normalize, changed, fixture

RECEIVED = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)
FIXTURE_TIME = datetime(2026, 5, 4, 10, 15, 30, tzinfo=UTC)


run = Normalize(RECEIVED)
one, rejected = run.one, run.rejected


def problem(**changes: Any) -> dict[str, Any]:
    """The problem fixture changed; a key set to ... is removed."""
    return changed(fixture("zabbix-webhook-problem.json"), changes)


def expected(body: bytes, status: AlertStatus, delivery_id: str) -> Alert:
    return Alert(
        id="alert-1",
        company_id="acme",
        asset_name="web-01",
        signature="High CPU utilization on web-01",
        severity=Severity.HIGH,
        status=status,
        message="CPU > 90% for 5m",
        tool_source="Zabbix",
        event_time=FIXTURE_TIME,
        received_at=RECEIVED,
        labels={"service": "web", "tenant": "acme"},
        delivery_id=delivery_id,
        fingerprint="23045",
        source="zabbix",
        event_time_clamped=False,
        raw=body,
    )


def test_problem_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "zabbix-webhook-problem.json").read_bytes()
    delivery = run(body)
    assert delivery == Delivery(
        source="zabbix",
        alerts=(expected(body, AlertStatus.FIRING, "zabbix:48213:1:0"),),
        delivery_id="zabbix:48213:1:0",
    )


def test_resolved_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "zabbix-webhook-resolved.json").read_bytes()
    assert one(body) == expected(body, AlertStatus.RESOLVED, "zabbix:48213:0:0")


def test_problem_and_recovery_share_signature_and_fingerprint() -> None:
    fired = one((FIXTURES / "zabbix-webhook-problem.json").read_bytes())
    healed = one((FIXTURES / "zabbix-webhook-resolved.json").read_bytes())
    assert (fired.signature, fired.fingerprint) == (healed.signature, healed.fingerprint)


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"), [("1", AlertStatus.FIRING), (0, AlertStatus.RESOLVED)]
)
def test_event_value_sets_the_status(value: object, status: AlertStatus) -> None:
    assert one(problem(eventvalue=value)).status is status


@pytest.mark.parametrize("value", ["2", "yes", "", "{EVENT.VALUE}"])
def test_other_event_values_are_rejected(value: str) -> None:
    error = rejected(problem(eventvalue=value))
    assert error.field == "eventvalue"
    assert error.message.startswith("expected 1 (problem) or 0 (resolved)")


def test_forced_source_without_event_value_names_it() -> None:
    error = rejected(problem(eventvalue=...), source="zabbix")
    assert (error.field, error.message) == (
        "eventvalue",
        "expected 1 (problem) or 0 (resolved), missing",
    )


# --- signature -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_name",
    [
        "High CPU",
        "Problem: High CPU",
        "Resolved: High CPU",
        "Resolved in 5m 2s: High CPU",
        "Updated problem: High CPU",
        "Updated problem in 1h 3m: High CPU",
    ],
)
def test_subject_prefix_is_stripped_from_the_signature(event_name: str) -> None:
    assert one(problem(eventname=event_name)).signature == "High CPU"


def test_a_colon_inside_the_name_is_kept() -> None:
    assert one(problem(eventname="Disk: /var full")).signature == "Disk: /var full"


@pytest.mark.parametrize("event_name", [..., "", "{EVENT.NAME}", "*UNKNOWN*"])
def test_missing_event_name_is_rejected(event_name: object) -> None:
    error = rejected(problem(eventname=event_name))
    assert error.field == "eventname"


def test_message_falls_back_to_the_whole_event_name() -> None:
    assert one(problem(triggerdesc=...)).message == "Problem: High CPU utilization on web-01"


# --- severity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "expected_severity"),
    [
        ("5", Severity.CRITICAL),
        ("4", Severity.HIGH),
        ("3", Severity.MEDIUM),
        ("2", Severity.MEDIUM),
        ("1", Severity.LOW),
        ("0", Severity.LOW),
        (5, Severity.CRITICAL),
        (0, Severity.LOW),
        ("Disaster", Severity.CRITICAL),
        ("High", Severity.HIGH),
        ("Average", Severity.MEDIUM),
        ("Warning", Severity.MEDIUM),
        ("Information", Severity.LOW),
        ("Not classified", Severity.LOW),
    ],
)
def test_zabbix_severity_numbers_and_names_map(
    severity: object, expected_severity: Severity
) -> None:
    assert one(problem(severity=severity)).severity is expected_severity


@pytest.mark.parametrize("severity", ["6", "-1", 9])
def test_severity_number_out_of_range_is_rejected(severity: object) -> None:
    error = rejected(problem(severity=severity))
    assert error.field == "severity"
    assert error.message.startswith("Zabbix severities are 0 to 5")


def test_unknown_severity_name_is_rejected() -> None:
    assert rejected(problem(severity="Apocalypse")).field == "severity"


def test_missing_severity_is_medium() -> None:
    assert one(problem(severity="{EVENT.NSEVERITY}")).severity is Severity.MEDIUM


# --- time ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [{"eventdate": ...}, {"eventtime": ...}, {"eventdate": "{EVENT.DATE}"}, {"eventtime": ""}],
)
def test_missing_date_or_time_is_the_moment_of_receipt(changes: dict[str, Any]) -> None:
    assert one(problem(**changes)).event_time == RECEIVED


@pytest.mark.parametrize("eventdate", ["2026-05-04", "2026.02.30", "04.05.2026", "2026.5.4"])
def test_bad_date_is_rejected(eventdate: str) -> None:
    error = rejected(problem(eventdate=eventdate))
    assert (error.field, error.message) == ("eventdate", f"expected YYYY.MM.DD, got '{eventdate}'")


@pytest.mark.parametrize("eventtime", ["25:00:00", "10:15", "10:61:00", "noon"])
def test_bad_time_is_rejected(eventtime: str) -> None:
    assert rejected(problem(eventtime=eventtime)).field == "eventtime"


def test_future_event_time_is_clamped() -> None:
    alert = one(problem(eventdate="2026.05.05"))
    assert (alert.event_time, alert.event_time_clamped) == (RECEIVED, True)


# --- asset, labels, ids ----------------------------------------------------------------------


def test_asset_falls_back_to_the_host_ip() -> None:
    assert one(problem(hostname="{HOST.NAME}")).asset_name == "10.0.0.11"


def test_asset_is_unknown_without_host_name_or_ip() -> None:
    assert one(problem(hostname=..., hostip=...)).asset_name == "unknown"


def test_unset_event_tags_are_no_labels() -> None:
    assert one(problem(eventtags="{EVENT.TAGS}")).labels == {}


def test_numeric_ids_are_accepted() -> None:
    delivery = run(problem(eventid=48213, eventvalue=1, eventupdate=2, triggerid=23045))
    assert delivery.delivery_id == "zabbix:48213:1:2"
    assert delivery.alerts[0].fingerprint == "23045"


def test_missing_update_leaves_its_delivery_id_slot_empty() -> None:
    assert run(problem(eventupdate=...)).delivery_id == "zabbix:48213:1:"


def test_an_update_gets_its_own_delivery_id() -> None:
    assert run(problem(eventupdate="1")).delivery_id != run(problem()).delivery_id


def test_header_delivery_id_wins() -> None:
    assert run(problem(), delivery_id="h-9").delivery_id == "h-9"


@pytest.mark.parametrize("field", ["hostname", "eventname", "eventtags", "eventdate"])
def test_value_of_the_wrong_type_is_rejected_naming_it(field: str) -> None:
    assert rejected(problem(**{field: ["x"]})).field == field
