"""The generic (guide) format, and the timestamp rules every source shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from alertwhisperer_core import Alert, AlertStatus, Severity
from alertwhisperer_core.normalize import FUTURE_TOLERANCE, Delivery, normalize

from .support.normalizing import FIXTURES, Normalize, changed, fixture

RECEIVED = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)
EVENT = datetime(2026, 5, 4, 10, 15, 30, tzinfo=UTC)
EVENT_EPOCH = 1777889730  # EVENT in epoch seconds


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


run = Normalize(RECEIVED)
one, rejected = run.one, run.rejected


def seed(**changes: Any) -> dict[str, Any]:
    return changed(fixture("generic-seed-format.json"), changes)


# --- the guide's payload --------------------------------------------------------------------


def test_seed_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "generic-seed-format.json").read_bytes()
    delivery = run(body)
    assert delivery == Delivery(
        source="generic",
        alerts=(
            Alert(
                id="alert-1",
                company_id="acme",
                asset_name="srv-app-01",
                signature="cpu_high",
                severity=Severity.HIGH,
                status=AlertStatus.FIRING,
                message="CPU usage above 90%",
                tool_source="Datadog",
                event_time=RECEIVED,
                received_at=RECEIVED,
                labels={},
                delivery_id="",
                fingerprint=None,
                source="generic",
                event_time_clamped=False,
                raw=body,
            ),
        ),
        delivery_id="",
        subscription=None,
    )


def test_every_optional_field_is_mapped_as_is() -> None:
    alert = one(
        seed(
            status="resolved",
            timestamp="2026-05-04T10:15:30Z",
            labels={"tenant": "acme", "env": "prod"},
            fingerprint="fp-1",
            delivery_id="d-1",
        )
    )
    assert alert.status is AlertStatus.RESOLVED
    assert alert.event_time == EVENT
    assert alert.labels == {"tenant": "acme", "env": "prod"}
    assert alert.fingerprint == "fp-1"
    assert alert.delivery_id == "generic:d-1"


def test_missing_severity_is_medium() -> None:
    assert one(seed(severity=...)).severity is Severity.MEDIUM


def test_null_severity_is_medium() -> None:
    assert one(seed(severity=None)).severity is Severity.MEDIUM


def test_severity_synonym_is_mapped() -> None:
    assert one(seed(severity="Warning")).severity is Severity.MEDIUM


def test_unknown_severity_is_rejected_naming_severity() -> None:
    error = rejected(seed(severity="loud"))
    assert error.field == "severity"
    assert error.message == "unknown severity 'loud'; use critical, high, medium, low or a synonym"


def test_numeric_severity_is_rejected_naming_severity() -> None:
    error = rejected(seed(severity=3))
    assert error.field == "severity"


def test_missing_status_is_firing() -> None:
    assert one(seed()).status is AlertStatus.FIRING


def test_status_is_matched_in_any_case() -> None:
    assert one(seed(status="RESOLVED")).status is AlertStatus.RESOLVED


def test_unknown_status_is_rejected_naming_status() -> None:
    error = rejected(seed(status="ok"))
    assert error.field == "status"
    assert error.message == "unknown status 'ok'; use firing or resolved"


def test_missing_message_falls_back_to_the_signature() -> None:
    assert one(seed(message=...)).message == "cpu_high"


def test_empty_message_is_kept_empty() -> None:
    assert one(seed(message="")).message == ""


@pytest.mark.parametrize("tool_source", [..., None, ""])
def test_missing_or_empty_tool_source_is_generic(tool_source: object) -> None:
    assert one(seed(tool_source=tool_source)).tool_source == "Generic"


def test_tool_source_of_the_wrong_type_is_rejected() -> None:
    assert rejected(seed(tool_source=7)).field == "tool_source"


def test_alert_gets_the_company_and_a_fresh_id() -> None:
    alert = normalize(
        encode(seed()), company_id="globex", received_at=RECEIVED, new_id=lambda: "id-42"
    ).alerts[0]
    assert (alert.id, alert.company_id) == ("id-42", "globex")


def test_raw_is_the_whole_body() -> None:
    body = encode(seed(extra={"kept": True}))
    assert one(body).raw == body


# --- identifying fields ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["asset_name", "signature"])
@pytest.mark.parametrize("value", ["", "   "])
def test_empty_identifying_field_is_rejected(field: str, value: str) -> None:
    error = rejected(seed(**{field: value}))
    assert (error.field, error.message) == (field, "must not be empty")


@pytest.mark.parametrize("field", ["asset_name", "signature"])
@pytest.mark.parametrize("value", [5, None, ["a"], {"a": 1}, True])
def test_identifying_field_of_the_wrong_type_is_rejected_naming_it(
    field: str, value: object
) -> None:
    error = rejected(seed(**{field: value}))
    assert error.field == field
    assert error.message.startswith("Expected `str`")


def test_forced_generic_source_without_asset_name_names_the_missing_field() -> None:
    error = rejected({"signature": "x"}, source="generic")
    assert (error.field, error.message) == ("asset_name", "missing")


def test_forced_generic_source_without_signature_names_the_missing_field() -> None:
    error = rejected({"asset_name": "x"}, source="generic")
    assert (error.field, error.message) == ("signature", "missing")


@pytest.mark.parametrize("source", [None, "generic"])
def test_asset_name_is_reported_before_signature(source: str | None) -> None:
    error = rejected(seed(asset_name=" ", signature=""), source=source)
    assert (error.field, error.message) == ("asset_name", "must not be empty")


def test_forced_generic_source_reports_an_empty_asset_name_before_a_missing_signature() -> None:
    error = rejected({"asset_name": ""}, source="generic")
    assert (error.field, error.message) == ("asset_name", "must not be empty")


def test_forced_generic_source_gives_the_detected_delivery() -> None:
    body = encode(seed(labels={"n": 1}, fingerprint="fp", id=7, timestamp="1764547200"))
    assert run(body, source="generic") == run(body)


# --- labels ---------------------------------------------------------------------------------


def test_label_scalars_become_text() -> None:
    labels = one(seed(labels={"a": "x", "n": 3, "f": 1.5, "t": True, "no": False})).labels
    assert labels == {"a": "x", "n": "3", "f": "1.5", "t": "true", "no": "false"}


@pytest.mark.parametrize("value", [{"nested": "x"}, ["x"], None])
def test_nested_or_null_label_value_is_rejected_naming_the_key(value: object) -> None:
    error = rejected(seed(labels={"ok": "fine", "region": value}))
    assert error.field == "labels.region"


def test_label_key_that_is_not_an_identifier_is_quoted_in_the_field() -> None:
    error = rejected(seed(labels={"team name": {"x": 1}}))
    assert error.field == 'labels["team name"]'


def test_labels_that_are_not_an_object_are_rejected() -> None:
    assert rejected(seed(labels=["a:b"])).field == "labels"


def test_null_labels_are_no_labels() -> None:
    assert one(seed(labels=None)).labels == {}


# --- delivery ids ---------------------------------------------------------------------------


def test_header_delivery_id_wins_over_the_payload_one() -> None:
    delivery = run(seed(delivery_id="own"), delivery_id="header-1")
    assert delivery.delivery_id == "header-1"
    assert delivery.alerts[0].delivery_id == "header-1"


def test_payload_id_is_the_delivery_id_when_no_delivery_id_field() -> None:
    assert run(seed(id="evt-9")).delivery_id == "generic:evt-9"


def test_numeric_payload_id_is_used_as_text() -> None:
    assert run(seed(id=42)).delivery_id == "generic:42"


def test_delivery_id_field_wins_over_id() -> None:
    assert run(seed(id="evt-9", delivery_id="d-1")).delivery_id == "generic:d-1"


def test_without_any_id_the_delivery_id_is_empty() -> None:
    assert run(seed(id=None)).delivery_id == ""


# --- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-05-04T10:15:30Z", EVENT),
        ("2026-05-04T10:15:30+00:00", EVENT),
        ("2026-05-04T10:15:30+0000", EVENT),
        ("2026-05-04T10:15:30", EVENT),
        ("2026-05-04T12:15:30+02:00", EVENT),
        ("2026-05-04T05:15:30-0500", EVENT),
        ("2026-05-04T10:15:30.123Z", EVENT.replace(microsecond=123000)),
        ("2026-05-04T10:15:30.123456789Z", EVENT.replace(microsecond=123456)),
        ("2026-05-04T10:15:30.999999999Z", EVENT.replace(microsecond=999999)),
        (EVENT_EPOCH, EVENT),
        (EVENT_EPOCH + 0.25, EVENT.replace(microsecond=250000)),
        (str(EVENT_EPOCH), EVENT),
        (f"{EVENT_EPOCH}.5", EVENT.replace(microsecond=500000)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamp_formats_become_utc(timestamp: object, expected: datetime) -> None:
    event_time = one(seed(timestamp=timestamp)).event_time
    assert event_time == expected
    assert event_time.tzinfo is UTC


def test_missing_timestamp_is_the_moment_of_receipt() -> None:
    alert = one(seed(timestamp=None))
    assert (alert.event_time, alert.event_time_clamped) == (RECEIVED, False)


@pytest.mark.parametrize(
    "timestamp",
    [
        "yesterday",
        "",
        "2026-13-01T00:00:00Z",
        "2026-05-04T25:00:00Z",
        "1e9",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "99999999999999999999999999",
        1e300,
        -1e300,
        10**25,
        "12345678901234",
        True,
        [EVENT_EPOCH],
    ],
)
def test_bad_timestamp_is_rejected_naming_timestamp(timestamp: object) -> None:
    assert rejected(seed(timestamp=timestamp)).field == "timestamp"


def test_timestamp_up_to_the_tolerance_ahead_is_kept() -> None:
    ahead = RECEIVED + FUTURE_TOLERANCE
    alert = one(seed(timestamp=ahead.isoformat()))
    assert (alert.event_time, alert.event_time_clamped) == (ahead, False)


def test_timestamp_further_ahead_is_clamped_to_receipt_and_flagged() -> None:
    ahead = RECEIVED + FUTURE_TOLERANCE + timedelta(microseconds=1)
    alert = one(seed(timestamp=ahead.isoformat()))
    assert (alert.event_time, alert.event_time_clamped) == (RECEIVED, True)


def test_clamping_keeps_every_other_field() -> None:
    alert = one(seed(timestamp=(RECEIVED + timedelta(hours=3)).isoformat(), fingerprint="f"))
    assert (alert.id, alert.signature, alert.fingerprint) == ("alert-1", "cpu_high", "f")


def test_old_timestamp_is_kept() -> None:
    alert = one(seed(timestamp="2020-01-01T00:00:00Z"))
    assert alert.event_time == datetime(2020, 1, 1, tzinfo=UTC)
    assert alert.event_time_clamped is False


def test_future_tolerance_is_five_minutes() -> None:
    assert timedelta(minutes=5) == FUTURE_TOLERANCE


def test_naive_received_at_is_taken_as_utc() -> None:
    alert = one(seed(), received_at=RECEIVED.replace(tzinfo=None))
    assert alert.received_at == RECEIVED
    assert alert.received_at.tzinfo is UTC


def test_received_at_in_another_zone_is_converted_to_utc() -> None:
    local = RECEIVED.astimezone(timezone(timedelta(hours=2)))
    alert = one(seed(), received_at=local)
    assert alert.received_at.tzinfo is UTC
    assert alert.received_at == RECEIVED
    assert alert.event_time.tzinfo is UTC
