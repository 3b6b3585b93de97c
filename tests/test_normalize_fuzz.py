"""``normalize`` raises only MalformedPayload or NormalizationError, whatever it is given.

Three layers of fuzz: any bytes; any JSON document; and each source's own payload with random
values (of every JSON type, nested, huge, non-finite) in every field it reads, detected and
forced. Whatever is accepted must satisfy the normalized alert's invariants.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core import AlertStatus, Severity
from alertwhisperer_core.errors import MalformedPayload, NormalizationError
from alertwhisperer_core.normalize import (
    FUTURE_TOLERANCE,
    SOURCES,
    Delivery,
    normalize,
    sniff_sender,
)

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED = datetime(2026, 5, 4, 10, 20, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def attempt(body: bytes, source: str | None = None) -> Delivery | None:
    """Normalize; None when rejected the allowed way; any other exception fails the test."""
    rejection: MalformedPayload | NormalizationError
    try:
        delivery = normalize(
            body, company_id="acme", received_at=RECEIVED, new_id=lambda: "id-1", source=source
        )
    except (MalformedPayload, NormalizationError) as error:
        rejection = error
    else:
        check_invariants(delivery)
        return delivery
    check_rejection(rejection)
    return None


def check_rejection(error: MalformedPayload | NormalizationError) -> None:
    if isinstance(error, NormalizationError):
        assert error.error_status_hint == 422
        assert isinstance(error.field, str)
        assert error.field
        assert error.errors == ({"field": error.field, "message": error.message},)
    else:
        assert error.error_status_hint == 400


def check_invariants(delivery: Delivery) -> None:
    assert delivery.source in SOURCES
    assert isinstance(delivery.delivery_id, str)
    for alert in delivery.alerts:
        assert alert.source == delivery.source
        assert alert.delivery_id == delivery.delivery_id
        assert alert.company_id == "acme"
        assert alert.id == "id-1"
        assert isinstance(alert.severity, Severity)
        assert isinstance(alert.status, AlertStatus)
        for text in (alert.asset_name, alert.signature, alert.message, alert.tool_source):
            assert isinstance(text, str)
        assert alert.asset_name.strip()
        assert alert.signature.strip()
        assert alert.event_time.tzinfo is UTC
        assert alert.received_at == RECEIVED
        assert alert.event_time - RECEIVED <= FUTURE_TOLERANCE
        assert alert.event_time_clamped == (
            alert.event_time == RECEIVED and alert.event_time_clamped
        )
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in alert.labels.items())
        assert alert.fingerprint is None or isinstance(alert.fingerprint, str)
        assert isinstance(alert.raw, bytes)
        assert alert.raw


# --- value strategies --------------------------------------------------------------------------

TRICKY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "$HOSTNAME",
        "$ALERT_TRANSITION",
        "{EVENT.NAME}",
        "*UNKNOWN*",
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "2026-05-04T10:15:30.123456789Z",
        "2026-05-04T10:15:30.123+0000",
        "2099-01-01T00:00:00Z",
        "2026.05.04",
        "2026.02.30",
        "10:15:30",
        "99:99:99",
        "1406662672000",
        "9" * 40,
        "-1",
        "1e400",
        "nan",
        "inf",
        "P1",
        "P9",
        "Triggered",
        "Recovered",
        "No Data",
        "firing",
        "resolved",
        "ALARM",
        "OK",
        "INSUFFICIENT_DATA",
        "Notification",
        "SubscriptionConfirmation",
        "Problem: x",
        "Resolved in 1m: ",
        "critical",
        "warning",
        "4",
        "7",
        "1",
        "0",
        "[::1]:9100",
        "web-01:9100",
        "host:web-01,env:prod",
        "a:b, c, :d,,",
    ]
)
HUGE_NUMBERS = st.sampled_from(
    [2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), 1e308, -1e308, 5e-324, 10**18, -(10**18)]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | HUGE_NUMBERS
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | TRICKY_STRINGS
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8) | TRICKY_STRINGS, children, max_size=3)
    ),
    max_leaves=8,
)


def mutated(base: dict[str, Any], fields: list[str], values: st.SearchStrategy[Any]) -> Any:
    """``base`` with a random subset of ``fields`` set to random values or removed."""
    return st.dictionaries(
        st.sampled_from(fields), st.one_of(values, st.just(...)), max_size=len(fields)
    ).map(lambda changes: _apply(base, changes))


def _apply(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --- layer 1 and 2: anything -------------------------------------------------------------------


@given(st.binary(max_size=300), st.sampled_from([None, *SOURCES]))
def test_any_bytes_are_normalized_or_rejected_the_allowed_way(
    body: bytes, source: str | None
) -> None:
    attempt(body, source)


@given(JSON_VALUES, st.sampled_from([None, *SOURCES]) | st.text(max_size=12))
def test_any_json_document_is_normalized_or_rejected_the_allowed_way(
    document: Any, source: str | None
) -> None:
    attempt(encode(document), source)


@given(
    st.recursive(
        st.floats() | st.integers() | st.none(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.sampled_from(["asset_name", "signature", "timestamp"]), children)
        ),
        max_leaves=6,
    ),
)
def test_non_finite_numbers_anywhere_are_rejected_the_allowed_way(document: Any) -> None:
    # json.dumps writes NaN and Infinity, which are not JSON.
    attempt(encode({"asset_name": "a", "signature": "s", "timestamp": document}))


# --- layer 3: each source's payload with random fields -----------------------------------------

GENERIC_FIELDS = [
    "asset_name",
    "signature",
    "severity",
    "status",
    "message",
    "tool_source",
    "timestamp",
    "labels",
    "fingerprint",
    "delivery_id",
    "id",
]


@given(
    mutated(fixture("generic-seed-format.json"), GENERIC_FIELDS, JSON_VALUES),
    st.sampled_from([None, "generic"]),
)
def test_generic_payload_with_random_fields(payload: dict[str, Any], source: str | None) -> None:
    attempt(encode(payload), source)


@given(
    st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4),
    st.one_of(st.integers(), st.floats(allow_nan=False), st.text(max_size=30), TRICKY_STRINGS),
)
def test_generic_labels_and_timestamp_of_any_shape(labels: Any, timestamp: Any) -> None:
    payload = {"asset_name": "a", "signature": "s", "labels": labels, "timestamp": timestamp}
    delivery = attempt(encode(payload))
    if delivery is not None:
        assert delivery.source == "generic"


AM_TOP_FIELDS = ["version", "alerts", "groupKey", "status", "receiver"]
AM_ELEMENT_FIELDS = ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint"]
AM_LABEL_FIELDS = ["alertname", "instance", "host", "job", "severity", "tenant"]
AM_BASE = fixture("alertmanager-webhook-v4-mixed.json")


def _am_element(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    labels = mutated(base["labels"], AM_LABEL_FIELDS, JSON_VALUES)
    element_values = st.one_of(JSON_VALUES, labels, TRICKY_STRINGS)
    return st.one_of(mutated(base, AM_ELEMENT_FIELDS, element_values), JSON_VALUES)


AM_ELEMENTS = st.lists(
    st.one_of(_am_element(AM_BASE["alerts"][0]), _am_element(AM_BASE["alerts"][1])), max_size=4
)


@given(
    mutated(AM_BASE, AM_TOP_FIELDS, st.one_of(JSON_VALUES, AM_ELEMENTS)),
    AM_ELEMENTS,
    st.sampled_from([None, "alertmanager"]),
)
def test_alertmanager_payload_with_random_fields_and_elements(
    payload: dict[str, Any], elements: list[Any], source: str | None
) -> None:
    attempt(encode(payload), source)
    attempt(encode({**payload, "alerts": elements}), source)


DATADOG_FIELDS = [
    "id",
    "alert_id",
    "alert_transition",
    "alert_type",
    "alert_priority",
    "alert_title",
    "alert_status",
    "alert_metric",
    "alert_scope",
    "title",
    "host_name",
    "tags",
    "date",
    "org",
]


@given(
    st.sampled_from(
        [
            "datadog-webhook-triggered.json",
            "datadog-webhook-recovered.json",
            "datadog-webhook-template.json",
        ]
    ).flatmap(lambda name: mutated(fixture(name), DATADOG_FIELDS, JSON_VALUES)),
    st.sampled_from([None, "datadog"]),
)
def test_datadog_payload_with_random_fields(payload: dict[str, Any], source: str | None) -> None:
    attempt(encode(payload), source)


ZABBIX_FIELDS = [
    "eventid",
    "eventvalue",
    "eventupdate",
    "eventname",
    "severity",
    "hostname",
    "hostip",
    "triggerid",
    "triggerdesc",
    "eventtags",
    "eventdate",
    "eventtime",
]


@given(
    st.sampled_from(["zabbix-webhook-problem.json", "zabbix-webhook-resolved.json"]).flatmap(
        lambda name: mutated(fixture(name), ZABBIX_FIELDS, JSON_VALUES)
    ),
    st.sampled_from([None, "zabbix"]),
)
def test_zabbix_payload_with_random_fields(payload: dict[str, Any], source: str | None) -> None:
    attempt(encode(payload), source)


SNS_FIELDS = ["Type", "TopicArn", "Message", "MessageId", "Token", "SubscribeURL", "Timestamp"]
ALARM_FIELDS = [
    "AlarmName",
    "AlarmDescription",
    "AWSAccountId",
    "NewStateValue",
    "NewStateReason",
    "StateChangeTime",
    "Region",
    "AlarmArn",
    "Trigger",
]
ALARM_BASE = json.loads(fixture("cloudwatch-sns-alarm.json")["Message"])
DIMENSIONS = st.lists(
    st.one_of(
        st.fixed_dictionaries({}, optional={"name": JSON_VALUES, "value": JSON_VALUES}),
        st.fixed_dictionaries({}, optional={"Name": JSON_VALUES, "Value": JSON_VALUES}),
        JSON_VALUES,
    ),
    max_size=3,
)
TRIGGERS = st.fixed_dictionaries(
    {},
    optional={
        "Dimensions": st.one_of(DIMENSIONS, JSON_VALUES),
        "Metrics": st.lists(
            st.one_of(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "MetricStat": st.one_of(
                            st.fixed_dictionaries(
                                {},
                                optional={
                                    "Metric": st.fixed_dictionaries(
                                        {}, optional={"Dimensions": DIMENSIONS}
                                    )
                                },
                            ),
                            JSON_VALUES,
                        ),
                        "Expression": JSON_VALUES,
                    },
                ),
                JSON_VALUES,
            ),
            max_size=3,
        ),
    },
)
MESSAGES = st.one_of(
    mutated(ALARM_BASE, ALARM_FIELDS, st.one_of(JSON_VALUES, TRIGGERS)).map(json.dumps),
    JSON_VALUES.map(json.dumps),
    st.text(max_size=40),
    JSON_VALUES,
)


@given(
    st.sampled_from(
        [
            "cloudwatch-sns-alarm.json",
            "cloudwatch-sns-ok.json",
            "cloudwatch-sns-subscription-confirmation.json",
        ]
    ).flatmap(lambda name: mutated(fixture(name), SNS_FIELDS, st.one_of(JSON_VALUES, MESSAGES))),
    st.sampled_from([None, "cloudwatch"]),
)
def test_cloudwatch_payload_with_random_fields(payload: dict[str, Any], source: str | None) -> None:
    attempt(encode(payload), source)


@given(MESSAGES)
def test_cloudwatch_notification_with_any_message(message: Any) -> None:
    payload = fixture("cloudwatch-sns-alarm.json")
    payload["Message"] = message
    attempt(encode(payload))


# --- sniff_sender ------------------------------------------------------------------------------


@given(
    st.binary(max_size=200),
    st.none() | st.text(max_size=30),
    st.none() | st.text(max_size=12) | st.sampled_from(SOURCES),
)
def test_sniff_never_raises_and_answers_a_source_or_none(
    body: bytes, user_agent: str | None, source: str | None
) -> None:
    assert sniff_sender(body, user_agent=user_agent, source=source) in (None, *SOURCES)
