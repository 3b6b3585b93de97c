"""Prometheus Alertmanager webhooks (version 4)."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alertwhisperer_core import Alert, AlertStatus, Severity

from .support.normalizing import FIXTURES, Normalize, changed, fixture

RECEIVED = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)
CAPTURED_RECEIVED = datetime(2026, 11, 26, 18, 2, 1, tzinfo=UTC)


run = Normalize(RECEIVED)
rejected = run.rejected


def with_alert(**changes: Any) -> dict[str, Any]:
    """The mixed fixture's first alert changed; a key set to ... is removed."""
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    return {**payload, "alerts": [changed(payload["alerts"][0], changes)]}


def with_labels(**changes: Any) -> dict[str, Any]:
    element = fixture("alertmanager-webhook-v4-mixed.json")["alerts"][0]
    return with_alert(labels=changed(element["labels"], changes))


def element_bytes(body: bytes, index: int) -> Any:
    return json.loads(body)["alerts"][index]


# --- the captured fixtures, field by field ---------------------------------------------------


def test_captured_firing_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-captured.json").read_bytes()
    delivery = run(body, received_at=CAPTURED_RECEIVED)
    (alert,) = delivery.alerts
    assert delivery.source == "alertmanager"
    assert delivery.subscription is None
    assert delivery.delivery_id.startswith("alertmanager:")
    assert json.loads(alert.raw) == element_bytes(body, 0)
    assert alert == Alert(
        id="alert-1",
        company_id="acme",
        asset_name="web-01",
        signature="HighCPU",
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING,
        message="CPU > 90% on web-01",
        tool_source="Alertmanager",
        event_time=datetime(2026, 11, 26, 18, 1, 59, 261485, tzinfo=UTC),
        received_at=CAPTURED_RECEIVED,
        labels={
            "alertname": "HighCPU",
            "instance": "web-01:9100",
            "severity": "critical",
            "tenant": "acme",
        },
        delivery_id=delivery.delivery_id,
        fingerprint="5dfed1b52084f2d9",
        source="alertmanager",
        event_time_clamped=False,
        raw=alert.raw,
    )


def test_captured_resolved_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-captured-resolved.json").read_bytes()
    delivery = run(body, received_at=CAPTURED_RECEIVED)
    (alert,) = delivery.alerts
    assert json.loads(alert.raw) == element_bytes(body, 0)
    assert alert == Alert(
        id="alert-1",
        company_id="acme",
        asset_name="web-01",
        signature="HighCPU",
        severity=Severity.CRITICAL,
        status=AlertStatus.RESOLVED,
        message="CPU > 90% on web-01",
        tool_source="Alertmanager",
        event_time=datetime(2026, 11, 26, 18, 2, 0, 269273, tzinfo=UTC),
        received_at=CAPTURED_RECEIVED,
        labels={
            "alertname": "HighCPU",
            "instance": "web-01:9100",
            "severity": "critical",
            "tenant": "acme",
        },
        delivery_id=delivery.delivery_id,
        fingerprint="5dfed1b52084f2d9",
        source="alertmanager",
        event_time_clamped=False,
        raw=alert.raw,
    )


def test_mixed_fixture_yields_one_alert_per_element_in_order() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-mixed.json").read_bytes()
    delivery = run(body)
    firing, resolved = delivery.alerts
    assert [json.loads(a.raw) for a in delivery.alerts] == json.loads(body)["alerts"]
    assert firing == Alert(
        id="alert-1",
        company_id="acme",
        asset_name="web-01",
        signature="HighCPU",
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING,
        message="CPU > 90% for 5m",
        tool_source="Alertmanager",
        event_time=datetime(2026, 5, 4, 10, 15, 30, 123000, tzinfo=UTC),
        received_at=RECEIVED,
        labels={
            "alertname": "HighCPU",
            "instance": "web-01:9100",
            "job": "node",
            "severity": "critical",
            "tenant": "acme",
        },
        delivery_id=delivery.delivery_id,
        fingerprint="172a263c7233d686",
        source="alertmanager",
        raw=firing.raw,
    )
    assert resolved == Alert(
        id="alert-2",
        company_id="acme",
        asset_name="web-02",
        signature="HighCPU",
        severity=Severity.CRITICAL,
        status=AlertStatus.RESOLVED,
        message="CPU > 90% for 5m",
        tool_source="Alertmanager",
        event_time=datetime(2026, 5, 4, 10, 16, tzinfo=UTC),
        received_at=RECEIVED,
        labels={
            "alertname": "HighCPU",
            "instance": "web-02:9100",
            "job": "node",
            "severity": "critical",
            "tenant": "acme",
        },
        delivery_id=delivery.delivery_id,
        fingerprint="547f809e0ee7d6ad",
        source="alertmanager",
        raw=resolved.raw,
    )


def test_raw_of_each_alert_is_its_own_element_exactly_as_sent() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-mixed.json").read_bytes()
    for alert in run(body).alerts:
        assert alert.raw in body
        assert alert.raw.startswith(b"{")


def test_empty_alerts_list_is_a_valid_delivery_without_alerts() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["alerts"] = []
    delivery = run(payload)
    assert delivery.alerts == ()
    assert delivery.delivery_id.startswith("alertmanager:")


def test_top_level_status_is_ignored() -> None:
    payload = with_alert(status="firing")
    payload["status"] = "resolved"
    assert run(payload).alerts[0].status is AlertStatus.FIRING


# --- mapping rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance", "asset"),
    [
        ("web-01:9100", "web-01"),
        ("10.0.0.5:9100", "10.0.0.5"),
        ("[::1]:9100", "::1"),
        ("[2001:db8::7]:9182", "2001:db8::7"),
        ("::1", "::1"),
        ("web-01", "web-01"),
        ("web-01:metrics", "web-01:metrics"),
        ("http://probe.example:8080/health", "http://probe.example:8080/health"),
        ("[broken", "[broken"),
    ],
)
def test_asset_is_the_instance_without_its_port(instance: str, asset: str) -> None:
    assert run(with_labels(instance=instance)).alerts[0].asset_name == asset


def test_asset_falls_back_to_the_host_label() -> None:
    assert run(with_labels(instance=..., host="db-7")).alerts[0].asset_name == "db-7"


def test_asset_falls_back_to_the_job_label() -> None:
    assert run(with_labels(instance=...)).alerts[0].asset_name == "node"


def test_asset_is_unknown_without_instance_host_or_job() -> None:
    assert run(with_labels(instance=..., job=...)).alerts[0].asset_name == "unknown"


def test_missing_severity_label_is_medium() -> None:
    assert run(with_labels(severity=...)).alerts[0].severity is Severity.MEDIUM


def test_severity_label_synonym_is_mapped() -> None:
    assert run(with_labels(severity="warning")).alerts[0].severity is Severity.MEDIUM


def test_unknown_severity_label_names_the_element() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["alerts"][1]["labels"]["severity"] = "apocalyptic"
    error = rejected(payload)
    assert error.field == "alerts[1].labels.severity"
    assert "unknown severity 'apocalyptic'" in error.message


def test_message_falls_back_to_description() -> None:
    payload = with_alert(annotations={"description": "long text"})
    assert run(payload).alerts[0].message == "long text"


def test_message_falls_back_to_the_alertname() -> None:
    assert run(with_alert(annotations=...)).alerts[0].message == "HighCPU"


def test_missing_fingerprint_is_none() -> None:
    assert run(with_alert(fingerprint=...)).alerts[0].fingerprint is None


# --- times ---------------------------------------------------------------------------------


def test_firing_alert_uses_starts_at() -> None:
    alert = run(with_alert(startsAt="2026-05-04T10:00:00Z")).alerts[0]
    assert alert.event_time == datetime(2026, 5, 4, 10, tzinfo=UTC)


def test_resolved_alert_uses_ends_at() -> None:
    payload = with_alert(
        status="resolved", startsAt="2026-05-04T10:00:00Z", endsAt="2026-05-04T10:10:00Z"
    )
    assert run(payload).alerts[0].event_time == datetime(2026, 5, 4, 10, 10, tzinfo=UTC)


def test_resolved_alert_with_zero_ends_at_falls_back_to_starts_at() -> None:
    payload = with_alert(
        status="resolved", startsAt="2026-05-04T10:00:00Z", endsAt="0001-01-01T00:00:00Z"
    )
    assert run(payload).alerts[0].event_time == datetime(2026, 5, 4, 10, tzinfo=UTC)


def test_resolved_alert_without_ends_at_falls_back_to_starts_at() -> None:
    payload = with_alert(status="resolved", startsAt="2026-05-04T10:00:00Z", endsAt=...)
    assert run(payload).alerts[0].event_time == datetime(2026, 5, 4, 10, tzinfo=UTC)


def test_nine_fractional_digits_are_truncated_to_microseconds() -> None:
    alert = run(with_alert(startsAt="2026-05-04T10:15:30.123456789Z")).alerts[0]
    assert alert.event_time == datetime(2026, 5, 4, 10, 15, 30, 123456, tzinfo=UTC)


def test_missing_starts_at_is_the_moment_of_receipt() -> None:
    assert run(with_alert(startsAt=...)).alerts[0].event_time == RECEIVED


def test_starts_at_far_in_the_future_is_clamped() -> None:
    ahead = (RECEIVED + timedelta(hours=1)).isoformat()
    alert = run(with_alert(startsAt=ahead)).alerts[0]
    assert (alert.event_time, alert.event_time_clamped) == (RECEIVED, True)


@pytest.mark.parametrize("field", ["startsAt", "endsAt"])
def test_bad_time_names_its_element_and_field(field: str) -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["alerts"][1][field] = "last tuesday"
    error = rejected(payload)
    assert error.field == f"alerts[1].{field}"
    assert error.message == "expected an ISO 8601 timestamp, got 'last tuesday'"


def test_missing_status_with_past_ends_at_is_resolved() -> None:
    payload = with_alert(status=..., endsAt="2026-05-04T10:16:00Z")
    assert run(payload).alerts[0].status is AlertStatus.RESOLVED


def test_missing_status_with_zero_ends_at_is_firing() -> None:
    assert run(with_alert(status=...)).alerts[0].status is AlertStatus.FIRING


def test_missing_status_with_future_ends_at_is_firing() -> None:
    payload = with_alert(status=..., endsAt="2026-05-04T10:24:00Z")
    assert run(payload).alerts[0].status is AlertStatus.FIRING


def test_unknown_status_names_the_element() -> None:
    error = rejected(with_alert(status="pending"))
    assert error.field == "alerts[0].status"
    assert error.message == "unknown status 'pending'; use firing or resolved"


# --- all or nothing --------------------------------------------------------------------------


def test_one_bad_element_fails_the_whole_batch_naming_it() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    good = payload["alerts"][0]
    bad = copy.deepcopy(good)
    bad["startsAt"] = 12
    payload["alerts"] = [good, good, good, bad, good]
    error = rejected(payload)
    assert error.field == "alerts[3].startsAt"


def test_missing_alertname_names_the_element() -> None:
    error = rejected(with_labels(alertname=...))
    assert (error.field, error.message) == ("alerts[0].labels.alertname", "missing")


@pytest.mark.parametrize("value", [5, None, ["x"], {"a": "b"}, True])
def test_alertname_of_the_wrong_type_names_the_label(value: object) -> None:
    error = rejected(with_labels(alertname=value))
    assert error.field == "alerts[0].labels.alertname"


def test_wrong_type_in_a_later_label_names_that_label() -> None:
    error = rejected(with_labels(tenant=7))
    assert error.field == "alerts[0].labels.tenant"
    assert error.message == "Expected `str`, got `int`"


def test_annotation_of_the_wrong_type_names_it() -> None:
    error = rejected(with_alert(annotations={"summary": {"text": "x"}}))
    assert error.field == "alerts[0].annotations.summary"


def test_element_that_is_not_an_object_names_the_element() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["alerts"].append("oops")
    error = rejected(payload)
    assert error.field == "alerts[2]"


def test_alerts_that_are_not_a_list_are_rejected() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["alerts"] = {"0": payload["alerts"][0]}
    assert rejected(payload).field == "alerts"


def test_unsupported_version_is_rejected() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["version"] = "5"
    error = rejected(payload)
    assert error.field == "version"
    assert error.message == "unsupported version '5'; only 4 is understood"


def test_numeric_version_four_is_accepted() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    payload["version"] = 4
    assert len(run(payload).alerts) == 2


def test_forced_source_without_version_names_it() -> None:
    error = rejected({"alerts": []}, source="alertmanager")
    assert (error.field, error.message) == ("version", "missing")


def test_forced_source_without_alerts_names_it() -> None:
    error = rejected({"version": "4"}, source="alertmanager")
    assert (error.field, error.message) == ("alerts", "missing")


# --- delivery id -----------------------------------------------------------------------------


def test_same_payload_gives_the_same_delivery_id() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    assert run(payload).delivery_id == run(copy.deepcopy(payload)).delivery_id


def test_delivery_id_ignores_formatting_and_unhashed_fields() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-mixed.json").read_bytes()
    payload = json.loads(body)
    payload["receiver"] = "other"
    payload["alerts"][0]["annotations"]["summary"] = "changed"
    compact = json.dumps(payload, separators=(",", ":")).encode()
    assert run(body).delivery_id == run(compact).delivery_id


def test_delivery_id_is_the_documented_hash() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    material = json.dumps(
        [
            payload["groupKey"],
            [
                [a["fingerprint"], a["status"], a["startsAt"], a["endsAt"]]
                for a in payload["alerts"]
            ],
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    expected = "alertmanager:" + hashlib.sha256(material).hexdigest()
    assert run(payload).delivery_id == expected


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "resolved"),
        ("endsAt", "2026-05-04T10:17:00Z"),
        ("startsAt", "2026-05-04T10:15:31Z"),
        ("fingerprint", "ffffffffffffffff"),
    ],
)
def test_a_changed_alert_gives_a_different_delivery_id(field: str, value: str) -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    changed = copy.deepcopy(payload)
    changed["alerts"][0][field] = value
    assert run(payload).delivery_id != run(changed).delivery_id


def test_a_changed_group_key_gives_a_different_delivery_id() -> None:
    payload = fixture("alertmanager-webhook-v4-mixed.json")
    changed = copy.deepcopy(payload)
    changed["groupKey"] = '{}:{alertname="Other"}'
    assert run(payload).delivery_id != run(changed).delivery_id


def test_header_delivery_id_wins_and_reaches_every_alert() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-mixed.json").read_bytes()
    delivery = run(body, delivery_id="hdr-1")
    assert delivery.delivery_id == "hdr-1"
    assert {a.delivery_id for a in delivery.alerts} == {"hdr-1"}
