"""AWS CloudWatch alarms delivered by SNS, and SNS subscription messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from alertwhisperer_core import Alert, AlertStatus, Severity
from alertwhisperer_core.normalize import Delivery, SnsSubscription

from .support.normalizing import FIXTURES, Normalize, changed, fixture

RECEIVED = datetime(2026, 5, 4, 10, 32, tzinfo=UTC)
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-01-cpu"
REASON = (
    "Threshold Crossed: 1 out of the last 1 datapoints [97.0 (04/05/26 10:15:00)] was greater "
    "than the threshold (90.0) (minimum 1 datapoint for OK -> ALARM transition)."
)
LABELS = {
    "InstanceId": "i-0abc123",
    "region": "US East (N. Virginia)",
    "aws_account_id": "123456789012",
}


run = Normalize(RECEIVED)
one, rejected = run.one, run.rejected


def envelope(**changes: Any) -> dict[str, Any]:
    return changed(fixture("cloudwatch-sns-alarm.json"), changes)


def alarm(**changes: Any) -> dict[str, Any]:
    """The alarm fixture with its decoded Message changed; a key set to ... is removed."""
    payload = envelope()
    return {**payload, "Message": json.dumps(changed(json.loads(payload["Message"]), changes))}


def test_alarm_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "cloudwatch-sns-alarm.json").read_bytes()
    delivery_id = "cloudwatch:95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    assert run(body) == Delivery(
        source="cloudwatch",
        alerts=(
            Alert(
                id="alert-1",
                company_id="acme",
                asset_name="i-0abc123",
                signature="web-01-cpu",
                severity=Severity.CRITICAL,
                status=AlertStatus.FIRING,
                message=REASON,
                tool_source="CloudWatch",
                event_time=datetime(2026, 5, 4, 10, 15, 30, 123000, tzinfo=UTC),
                received_at=RECEIVED,
                labels=LABELS,
                delivery_id=delivery_id,
                fingerprint=ARN,
                source="cloudwatch",
                event_time_clamped=False,
                raw=body,
            ),
        ),
        delivery_id=delivery_id,
    )


def test_ok_fixture_normalizes_to_exactly_these_fields() -> None:
    body = (FIXTURES / "cloudwatch-sns-ok.json").read_bytes()
    delivery_id = "cloudwatch:1f0c2b7e-0f5e-5d7b-9a43-2a1b3c4d5e6f"
    assert one(body) == Alert(
        id="alert-1",
        company_id="acme",
        asset_name="i-0abc123",
        signature="web-01-cpu",
        severity=Severity.LOW,
        status=AlertStatus.RESOLVED,
        message=REASON,
        tool_source="CloudWatch",
        event_time=datetime(2026, 5, 4, 10, 31, 2, tzinfo=UTC),
        received_at=RECEIVED,
        labels=LABELS,
        delivery_id=delivery_id,
        fingerprint=ARN,
        source="cloudwatch",
        event_time_clamped=False,
        raw=body,
    )


def test_subscription_confirmation_fixture_is_recorded_not_alerted() -> None:
    body = (FIXTURES / "cloudwatch-sns-subscription-confirmation.json").read_bytes()
    payload = json.loads(body)
    assert run(body) == Delivery(
        source="cloudwatch",
        alerts=(),
        delivery_id="cloudwatch:165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        subscription=SnsSubscription(
            type="SubscriptionConfirmation",
            topic_arn="arn:aws:sns:us-east-1:123456789012:acme-alarms",
            subscribe_url=payload["SubscribeURL"],
            message_id="165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            token=payload["Token"],
        ),
    )


def test_unsubscribe_confirmation_is_recorded_too() -> None:
    payload = json.loads((FIXTURES / "cloudwatch-sns-subscription-confirmation.json").read_text())
    payload["Type"] = "UnsubscribeConfirmation"
    delivery = run(payload)
    assert delivery.alerts == ()
    assert delivery.subscription is not None
    assert delivery.subscription.type == "UnsubscribeConfirmation"


def test_subscription_confirmation_without_its_url_is_rejected() -> None:
    payload = json.loads((FIXTURES / "cloudwatch-sns-subscription-confirmation.json").read_text())
    del payload["SubscribeURL"]
    assert rejected(payload).field == "SubscribeURL"


# --- alarm states ----------------------------------------------------------------------------


def test_insufficient_data_is_firing_low() -> None:
    alert = one(alarm(NewStateValue="INSUFFICIENT_DATA"))
    assert (alert.status, alert.severity) == (AlertStatus.FIRING, Severity.LOW)


def test_unknown_state_is_rejected_naming_the_message_field() -> None:
    error = rejected(alarm(NewStateValue="BROKEN"))
    assert error.field == "Message.NewStateValue"
    assert error.message.startswith("unknown alarm state 'BROKEN'")


def test_missing_state_is_rejected() -> None:
    assert rejected(alarm(NewStateValue=...)).field == "Message.NewStateValue"


def test_missing_alarm_name_is_rejected() -> None:
    error = rejected(alarm(AlarmName=None))
    assert (error.field, error.message) == ("Message.AlarmName", "missing")


# --- the embedded Message --------------------------------------------------------------------


def test_message_that_is_not_json_is_rejected_naming_message() -> None:
    error = rejected(envelope(Message="ALARM: web-01-cpu"))
    assert error.field == "Message"
    assert error.message.startswith("not valid JSON")


def test_message_that_is_json_but_not_an_object_is_rejected() -> None:
    assert rejected(envelope(Message="[1, 2]")).field == "Message"


def test_message_that_is_not_a_string_is_rejected() -> None:
    assert rejected(envelope(Message={"AlarmName": "x"})).field == "Message"


def test_wrong_type_inside_the_message_is_named_with_its_path() -> None:
    assert rejected(alarm(AlarmName=5)).field == "Message.AlarmName"


def test_wrong_type_deep_inside_the_trigger_is_named_with_its_path() -> None:
    error = rejected(alarm(Trigger={"Dimensions": [{"name": "InstanceId", "value": 7}]}))
    assert error.field == "Message.Trigger.Dimensions[0].value"


def test_missing_message_is_rejected_when_the_source_is_forced() -> None:
    error = rejected(envelope(Message=...), source="cloudwatch")
    assert (error.field, error.message) == ("Message", "missing")


def test_unknown_sns_type_is_rejected() -> None:
    error = rejected(envelope(Type="Bogus"))
    assert error.field == "Type"


def test_forced_source_without_type_is_rejected() -> None:
    error = rejected({"asset_name": "a", "signature": "s"}, source="cloudwatch")
    assert (error.field, error.message) == ("Type", "missing")


# --- asset and labels ------------------------------------------------------------------------

METRIC_MATH_TRIGGER = {
    "Metrics": [
        {"Expression": "m1 + m2", "Id": "e1", "Label": "total", "ReturnData": True},
        {
            "Id": "m1",
            "MetricStat": {
                "Metric": {
                    "Dimensions": [{"Value": "lb-7", "Name": "LoadBalancer"}],
                    "MetricName": "RequestCount",
                    "Namespace": "AWS/ELB",
                },
                "Period": 60,
                "Stat": "Sum",
            },
            "ReturnData": False,
        },
        {
            "Id": "m2",
            "MetricStat": {
                "Metric": {"Dimensions": [{"value": "lb-8", "name": "LoadBalancer"}]},
            },
        },
    ]
}


def test_metric_math_alarm_takes_the_first_metric_with_a_dimension() -> None:
    alert = one(alarm(Trigger=METRIC_MATH_TRIGGER))
    assert alert.asset_name == "lb-7"
    assert alert.labels["LoadBalancer"] == "lb-7"


def test_alarm_without_any_dimension_uses_its_name_as_asset() -> None:
    alert = one(alarm(Trigger={"Metrics": [{"Expression": "SUM(METRICS())", "Id": "e1"}]}))
    assert alert.asset_name == "web-01-cpu"
    assert alert.labels == {"region": "US East (N. Virginia)", "aws_account_id": "123456789012"}


def test_capitalised_dimension_keys_are_read() -> None:
    trigger = {"Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "orders-db"}]}
    alert = one(alarm(Trigger=trigger))
    assert alert.asset_name == "orders-db"
    assert alert.labels["DBInstanceIdentifier"] == "orders-db"


def test_every_dimension_becomes_a_label_and_the_first_is_the_asset() -> None:
    trigger = {
        "Dimensions": [
            {"name": "AutoScalingGroupName", "value": "web-asg"},
            {"name": "InstanceType", "value": "m5.large"},
        ]
    }
    alert = one(alarm(Trigger=trigger))
    assert alert.asset_name == "web-asg"
    assert alert.labels == {
        "AutoScalingGroupName": "web-asg",
        "InstanceType": "m5.large",
        "region": "US East (N. Virginia)",
        "aws_account_id": "123456789012",
    }


def test_missing_alarm_arn_makes_the_name_the_fingerprint() -> None:
    assert one(alarm(AlarmArn=None)).fingerprint == "web-01-cpu"


def test_message_falls_back_to_the_description() -> None:
    assert one(alarm(NewStateReason=None)).message == "CPU>90"


# --- time and ids ----------------------------------------------------------------------------


def test_bad_state_change_time_is_rejected_naming_it() -> None:
    error = rejected(alarm(StateChangeTime="04/05/2026 10:15"))
    assert error.field == "Message.StateChangeTime"


def test_missing_state_change_time_falls_back_to_the_sns_timestamp() -> None:
    alert = one(alarm(StateChangeTime=...))
    assert alert.event_time == datetime(2026, 5, 4, 10, 15, 30, 200000, tzinfo=UTC)


def test_without_any_time_the_event_time_is_the_moment_of_receipt() -> None:
    payload = alarm(StateChangeTime=...)
    del payload["Timestamp"]
    assert one(payload).event_time == RECEIVED


def test_future_state_change_is_clamped() -> None:
    ahead = (RECEIVED + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    alert = one(alarm(StateChangeTime=ahead))
    assert (alert.event_time, alert.event_time_clamped) == (RECEIVED, True)


def test_without_message_id_there_is_no_delivery_id() -> None:
    assert run(envelope(MessageId=...)).delivery_id == ""


def test_header_delivery_id_wins() -> None:
    assert run(envelope(), delivery_id="h-3").delivery_id == "h-3"
