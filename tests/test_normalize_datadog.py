"""Datadog webhooks: a JSON template of Datadog's $VARIABLES, every value a string."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alertwhisperer_core import Alert, AlertStatus, Severity
from alertwhisperer_core.normalize import Delivery

from .support.normalizing import FIXTURES, Normalize, changed, fixture

RECEIVED = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)
FIXTURE_DATE = datetime(2014, 7, 29, 19, 37, 52, tzinfo=UTC)  # "date": "1406662672000"


run = Normalize(RECEIVED)
one, rejected = run.one, run.rejected


def triggered(**changes: Any) -> dict[str, Any]:
    """The triggered fixture changed; a key set to ... is removed."""
    return changed(fixture("datadog-webhook-triggered.json"), changes)


EXPECTED_LABELS = {"env": "prod", "host": "web-01", "monitor": "", "tenant": "acme"}
EXPECTED_MESSAGE = "system.load.1 over host:web-01 was > 4 on average during the last 5m"


def test_triggered_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "datadog-webhook-triggered.json").read_bytes()
    delivery = run(body)
    assert delivery == Delivery(
        source="datadog",
        alerts=(
            Alert(
                id="alert-1",
                company_id="acme",
                asset_name="web-01",
                signature="system.load.1",
                severity=Severity.CRITICAL,
                status=AlertStatus.FIRING,
                message=EXPECTED_MESSAGE,
                tool_source="Datadog",
                event_time=FIXTURE_DATE,
                received_at=RECEIVED,
                labels=EXPECTED_LABELS,
                delivery_id="datadog:7716548234011234567:Triggered",
                fingerprint="1234",
                source="datadog",
                event_time_clamped=False,
                raw=body,
            ),
        ),
        delivery_id="datadog:7716548234011234567:Triggered",
    )


def test_recovered_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "datadog-webhook-recovered.json").read_bytes()
    assert one(body) == Alert(
        id="alert-1",
        company_id="acme",
        asset_name="web-01",
        signature="system.load.1",
        severity=Severity.CRITICAL,
        status=AlertStatus.RESOLVED,
        message=EXPECTED_MESSAGE,
        tool_source="Datadog",
        event_time=FIXTURE_DATE,
        received_at=RECEIVED,
        labels=EXPECTED_LABELS,
        delivery_id="datadog:7716548234011299999:Recovered",
        fingerprint="1234",
        source="datadog",
        event_time_clamped=False,
        raw=body,
    )


def test_unfilled_template_fixture_is_rejected_naming_the_transition() -> None:
    error = rejected((FIXTURES / "datadog-webhook-template.json").read_bytes())
    assert error.field == "alert_transition"
    assert error.message == "unset template variable '$ALERT_TRANSITION'"


# --- transitions and severities ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("transition", "status", "severity"),
    [
        ("Triggered", AlertStatus.FIRING, Severity.CRITICAL),
        ("Re-Triggered", AlertStatus.FIRING, Severity.CRITICAL),
        ("Renotify", AlertStatus.FIRING, Severity.CRITICAL),
        ("Recovered", AlertStatus.RESOLVED, Severity.CRITICAL),
        ("Warn", AlertStatus.FIRING, Severity.MEDIUM),
        ("Re-Warn", AlertStatus.FIRING, Severity.MEDIUM),
        ("No Data", AlertStatus.FIRING, Severity.LOW),
        ("Re-No Data", AlertStatus.FIRING, Severity.LOW),
        ("triggered", AlertStatus.FIRING, Severity.CRITICAL),
        ("RECOVERED", AlertStatus.RESOLVED, Severity.CRITICAL),
    ],
)
def test_transition_sets_status_and_may_fix_the_severity(
    transition: str, status: AlertStatus, severity: Severity
) -> None:
    alert = one(triggered(alert_transition=transition))  # priority P1 in the fixture
    assert (alert.status, alert.severity) == (status, severity)


def test_unknown_transition_is_rejected() -> None:
    error = rejected(triggered(alert_transition="Exploded"))
    assert error.field == "alert_transition"
    assert error.message.startswith("unknown transition 'Exploded'")


def test_empty_transition_is_rejected() -> None:
    error = rejected(triggered(alert_transition=""))
    assert (error.field, error.message) == ("alert_transition", "must not be empty")


def test_forced_source_without_transition_names_it() -> None:
    error = rejected(triggered(alert_transition=...), source="datadog")
    assert (error.field, error.message) == ("alert_transition", "missing")


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        ("P1", Severity.CRITICAL),
        ("P2", Severity.HIGH),
        ("P3", Severity.MEDIUM),
        ("P4", Severity.LOW),
        ("P5", Severity.LOW),
        ("p2", Severity.HIGH),
    ],
)
def test_priority_sets_the_severity(priority: str, severity: Severity) -> None:
    assert one(triggered(alert_priority=priority)).severity is severity


def test_unknown_priority_is_rejected() -> None:
    error = rejected(triggered(alert_priority="P9"))
    assert (error.field, error.message) == ("alert_priority", "unknown priority 'P9'; use P1 to P5")


@pytest.mark.parametrize(
    ("alert_type", "severity"),
    [
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("info", Severity.LOW),
        ("success", Severity.LOW),
        ("Critical", Severity.CRITICAL),
    ],
)
def test_without_priority_the_alert_type_sets_the_severity(
    alert_type: str, severity: Severity
) -> None:
    payload = triggered(alert_priority="$ALERT_PRIORITY", alert_type=alert_type)
    assert one(payload).severity is severity


def test_unknown_alert_type_is_rejected() -> None:
    error = rejected(triggered(alert_priority="", alert_type="user_update"))
    assert error.field == "alert_type"


def test_without_priority_or_type_the_severity_is_medium() -> None:
    assert one(triggered(alert_priority=..., alert_type=...)).severity is Severity.MEDIUM


# --- asset, signature, message ----------------------------------------------------------------


def test_asset_falls_back_to_the_host_in_the_scope() -> None:
    payload = triggered(host_name="$HOSTNAME", alert_scope="env:prod, host:db-3", tags="")
    assert one(payload).asset_name == "db-3"


def test_asset_falls_back_to_the_host_tag() -> None:
    payload = triggered(host_name=..., alert_scope="env:prod", tags="host:cache-2,env:prod")
    assert one(payload).asset_name == "cache-2"


def test_asset_is_unknown_when_no_host_is_named() -> None:
    payload = triggered(host_name="", alert_scope="$ALERT_SCOPE", tags="env:prod")
    assert one(payload).asset_name == "unknown"


def test_signature_falls_back_to_the_monitor_title_without_brackets() -> None:
    payload = triggered(
        alert_metric="$ALERT_METRIC", alert_title="[P1] [Triggered on {host:web-01}] CPU high"
    )
    assert one(payload).signature == "CPU high"


def test_firing_and_recovery_titles_share_a_signature() -> None:
    fired = one(triggered(alert_metric=..., alert_title="[Triggered on {host:a}] Disk full"))
    healed = one(
        triggered(
            alert_metric=...,
            alert_transition="Recovered",
            alert_title="[Recovered on {host:a}] Disk full",
        )
    )
    assert fired.signature == healed.signature == "Disk full"


def test_signature_falls_back_to_the_event_title() -> None:
    payload = triggered(alert_metric=..., alert_title=..., title="[Warn] Queue backlog")
    assert one(payload).signature == "Queue backlog"


def test_no_signature_source_at_all_is_rejected_naming_alert_metric() -> None:
    error = rejected(triggered(alert_metric="$ALERT_METRIC", alert_title=..., title=""))
    assert error.field == "alert_metric"


def test_message_falls_back_to_the_title() -> None:
    payload = triggered(alert_status="$ALERT_STATUS", title="[Triggered] CPU high")
    assert one(payload).message == "[Triggered] CPU high"


# --- times, labels, ids ----------------------------------------------------------------------


def test_date_in_milliseconds_keeps_its_milliseconds() -> None:
    alert = one(triggered(date="1777889730123"))
    assert alert.event_time == datetime(2026, 5, 4, 10, 15, 30, 123000, tzinfo=UTC)


def test_numeric_date_is_accepted() -> None:
    assert one(triggered(date=1406662672000)).event_time == FIXTURE_DATE


def test_unset_date_is_the_moment_of_receipt() -> None:
    assert one(triggered(date="$DATE")).event_time == RECEIVED


@pytest.mark.parametrize("date", ["yesterday", "1406662672.5", "1e12", "99999999999999999999"])
def test_bad_date_is_rejected(date: str) -> None:
    assert rejected(triggered(date=date)).field == "date"


def test_future_date_is_clamped() -> None:
    ahead = int(
        (RECEIVED + timedelta(minutes=6) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
    )
    alert = one(triggered(date=str(ahead * 1000)))
    assert (alert.event_time, alert.event_time_clamped) == (RECEIVED, True)


def test_tags_become_labels_and_bare_tags_get_an_empty_value() -> None:
    labels = one(triggered(tags="team:core, url:http://x:80 ,flaky,,:odd")).labels
    assert labels == {"team": "core", "url": "http://x:80", "flaky": ""}


def test_unset_tags_are_no_labels() -> None:
    assert one(triggered(tags="$TAGS")).labels == {}


def test_value_of_the_wrong_type_is_rejected_naming_it() -> None:
    error = rejected(triggered(host_name=5))
    assert error.field == "host_name"


def test_nested_value_where_a_string_belongs_is_rejected_naming_it() -> None:
    assert rejected(triggered(tags={"env": "prod"})).field == "tags"


def test_delivery_id_without_an_event_id_is_empty() -> None:
    assert run(triggered(id="$ID")).delivery_id == ""


def test_header_delivery_id_wins() -> None:
    assert run(triggered(), delivery_id="h-1").delivery_id == "h-1"


def test_delivery_ids_of_trigger_and_recovery_differ() -> None:
    assert run(triggered()).delivery_id != run(triggered(alert_transition="Recovered")).delivery_id


def test_missing_alert_id_leaves_no_fingerprint() -> None:
    assert one(triggered(alert_id="$ALERT_ID")).fingerprint is None


def test_recognised_by_id_without_alert_id() -> None:
    delivery = run(triggered(alert_id=...))
    assert delivery.source == "datadog"
