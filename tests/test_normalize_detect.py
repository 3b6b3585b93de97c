"""Which sender wrote a payload: detection, ``?source=``, malformed bodies, and the sniff."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core.errors import MalformedPayload, NormalizationError
from alertwhisperer_core.normalize import SOURCES, Delivery, detect_source, normalize, sniff_sender
from alertwhisperer_core.normalize._detect import PROBE_DECODER, detect_probe

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED = datetime(2026, 12, 1, tzinfo=UTC)

FIXTURE_SOURCES = {
    "alertmanager-webhook-v4-captured-resolved.json": "alertmanager",
    "alertmanager-webhook-v4-captured.json": "alertmanager",
    "alertmanager-webhook-v4-mixed.json": "alertmanager",
    "cloudwatch-sns-alarm.json": "cloudwatch",
    "cloudwatch-sns-ok.json": "cloudwatch",
    "cloudwatch-sns-subscription-confirmation.json": "cloudwatch",
    "datadog-webhook-recovered.json": "datadog",
    "datadog-webhook-template.json": "datadog",
    "datadog-webhook-triggered.json": "datadog",
    "generic-seed-format.json": "generic",
    "zabbix-webhook-problem.json": "zabbix",
    "zabbix-webhook-resolved.json": "zabbix",
}


def run(body: bytes | dict[str, Any], **options: Any) -> Delivery:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    return normalize(body, company_id="acme", received_at=RECEIVED, new_id=lambda: "a", **options)


def test_sources_are_listed_in_detection_order() -> None:
    assert SOURCES == ("generic", "alertmanager", "datadog", "zabbix", "cloudwatch")


def test_every_fixture_is_covered_by_this_table() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(FIXTURE_SOURCES)


@pytest.mark.parametrize(("name", "source"), sorted(FIXTURE_SOURCES.items()))
def test_fixture_is_detected_as_its_source(name: str, source: str) -> None:
    assert detect_source(json.loads((FIXTURES / name).read_text())) == source


@pytest.mark.parametrize(("name", "source"), sorted(FIXTURE_SOURCES.items()))
def test_fixture_is_normalized_by_its_source(name: str, source: str) -> None:
    body = (FIXTURES / name).read_bytes()
    if name == "datadog-webhook-template.json":
        with pytest.raises(NormalizationError, match="alert_transition"):
            run(body)
    else:
        assert run(body).source == source


@pytest.mark.parametrize(
    ("payload", "source"),
    [
        ({"asset_name": 1, "signature": None}, "generic"),
        ({"version": "4", "alerts": []}, "alertmanager"),
        ({"alert_transition": "Triggered", "alert_id": "1"}, "datadog"),
        ({"alert_transition": "Triggered", "id": "1"}, "datadog"),
        ({"eventid": "1", "eventvalue": "1"}, "zabbix"),
        ({"Type": "Notification", "TopicArn": "t", "Message": "{}"}, "cloudwatch"),
        ({"asset_name": "a", "signature": "s", "version": "4", "alerts": []}, "generic"),
        ({"version": "4", "alerts": [], "eventid": "1", "eventvalue": "0"}, "alertmanager"),
    ],
)
def test_identifying_keys_decide_in_detection_order(payload: dict[str, Any], source: str) -> None:
    assert detect_source(payload) == source


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"asset_name": "a"},
        {"signature": "s"},
        {"version": "4"},
        {"alert_transition": "Triggered"},
        {"alert_id": "1", "id": "2"},
        {"eventid": "1"},
        {"Type": "Notification", "TopicArn": "t"},
        {"labels": {"asset_name": "a", "signature": "s"}},
    ],
)
def test_payload_without_a_full_set_of_identifying_keys_fits_no_source(
    payload: dict[str, Any],
) -> None:
    assert detect_source(payload) is None
    with pytest.raises(NormalizationError) as caught:
        run(payload)
    assert caught.value.field == "source"
    assert caught.value.message.startswith("the payload fits no known source")


def test_generic_with_a_wrong_type_is_still_generic_and_names_the_field() -> None:
    with pytest.raises(NormalizationError) as caught:
        run({"asset_name": 5, "signature": "s"})
    assert caught.value.field == "asset_name"


def test_other_source_sharing_a_generic_field_name_with_another_type_is_detected() -> None:
    # Zabbix's numeric "severity" does not fit the generic schema's string severity.
    payload = json.loads((FIXTURES / "zabbix-webhook-problem.json").read_text())
    payload["severity"] = 4
    assert run(payload).source == "zabbix"


def test_other_source_with_an_id_of_another_type_is_detected() -> None:
    payload = json.loads((FIXTURES / "datadog-webhook-triggered.json").read_text())
    payload["labels"] = "not an object"
    assert run(payload).source == "datadog"


IDENTIFYING_KEYS = [
    "asset_name",
    "signature",
    "version",
    "alerts",
    "alert_transition",
    "alert_id",
    "id",
    "eventid",
    "eventvalue",
    "Type",
    "TopicArn",
    "Message",
]


@given(st.dictionaries(st.sampled_from(IDENTIFYING_KEYS), st.text(max_size=3)))
def test_the_probe_agrees_with_detect_source(payload: dict[str, str]) -> None:
    body = json.dumps(payload).encode()
    assert detect_probe(PROBE_DECODER.decode(body)) == detect_source(payload)


@given(
    st.dictionaries(
        st.sampled_from([*IDENTIFYING_KEYS, "labels", "severity"]),
        st.none() | st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=2),
    )
)
def test_the_probe_detects_whatever_the_value_types(payload: dict[str, object]) -> None:
    assert detect_probe(PROBE_DECODER.decode(json.dumps(payload).encode())) == detect_source(
        payload
    )


def _outcome(body: bytes, **options: Any) -> object:
    """What normalize made of ``body``: the delivery, or the error's type, field and message."""
    try:
        return run(body, **options)
    except (NormalizationError, MalformedPayload) as exc:
        return type(exc), getattr(exc, "field", None), str(exc)


@given(
    st.dictionaries(
        st.sampled_from([*IDENTIFYING_KEYS, "labels", "severity", "timestamp"]),
        st.none() | st.integers() | st.text(max_size=3) | st.lists(st.integers(), max_size=2),
    )
)
def test_detection_normalizes_as_the_detected_source_forced(payload: dict[str, object]) -> None:
    # Whatever path normalize takes (the generic decode, or the probe after it), the result
    # is exactly that of naming the source detect_source picks.
    body = json.dumps(payload).encode()
    expected = detect_source(payload)
    if expected is None:
        with pytest.raises(NormalizationError) as caught:
            run(body)
        assert caught.value.field == "source"
    else:
        assert _outcome(body) == _outcome(body, source=expected)


# --- ?source= ----------------------------------------------------------------------------------


def test_forced_source_overrides_detection() -> None:
    payload = json.loads((FIXTURES / "zabbix-webhook-problem.json").read_text())
    payload.update({"asset_name": "other", "signature": "other", "severity": "high"})
    assert run(payload).source == "generic"
    assert run(payload, source="zabbix").source == "zabbix"


def test_forced_source_is_matched_in_any_case() -> None:
    body = (FIXTURES / "datadog-webhook-triggered.json").read_bytes()
    assert run(body, source=" Datadog ").source == "datadog"


def test_forced_source_names_that_sources_fields() -> None:
    body = (FIXTURES / "zabbix-webhook-problem.json").read_bytes()
    with pytest.raises(NormalizationError) as caught:
        run(body, source="datadog")
    assert (caught.value.field, caught.value.message) == ("alert_transition", "missing")


def test_unknown_forced_source_is_rejected_naming_source() -> None:
    with pytest.raises(NormalizationError) as caught:
        run({"asset_name": "a", "signature": "s"}, source="nagios")
    assert caught.value.field == "source"
    assert caught.value.message == (
        "unknown source 'nagios'; use one of generic, alertmanager, datadog, zabbix, cloudwatch"
    )


# --- malformed bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"{",
        b'{"asset_name": "a", "signature": "s"} trailing',
        b"[]",
        b'[{"asset_name": "a", "signature": "s"}]',
        b'"text"',
        b"42",
        b"null",
        b"1e400",
        b'{"asset_name": "\xff", "signature": "s"}',
        b'{"asset_name": "\\ud800", "signature": "s"}',
        b'{"a": NaN}',
        b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_body_that_is_not_a_json_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        run(body)


@pytest.mark.parametrize("source", SOURCES)
def test_malformed_body_is_malformed_whatever_the_forced_source(source: str) -> None:
    with pytest.raises(MalformedPayload):
        run(b"[1, 2", source=source)


@pytest.mark.parametrize("source", SOURCES)
def test_json_array_is_malformed_whatever_the_forced_source(source: str) -> None:
    with pytest.raises(MalformedPayload):
        run(b"[]", source=source)


def test_bytearray_body_is_accepted() -> None:
    body = bytearray((FIXTURES / "generic-seed-format.json").read_bytes())
    alert = run(body).alerts[0]  # type: ignore[arg-type]
    assert alert.raw == bytes(body)
    assert type(alert.raw) is bytes


# --- sniff_sender ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "source"), sorted(FIXTURE_SOURCES.items()))
def test_sniff_recognises_every_fixture_from_its_bytes(name: str, source: str) -> None:
    assert sniff_sender((FIXTURES / name).read_bytes()) == source


def test_sniff_source_parameter_wins() -> None:
    body = (FIXTURES / "datadog-webhook-triggered.json").read_bytes()
    assert sniff_sender(body, user_agent="Alertmanager/0.27.0", source="zabbix") == "zabbix"


def test_sniff_source_parameter_in_any_case() -> None:
    assert sniff_sender(b"", source="Alertmanager") == "alertmanager"


def test_sniff_ignores_an_unknown_source_parameter() -> None:
    body = (FIXTURES / "datadog-webhook-triggered.json").read_bytes()
    assert sniff_sender(body, source="nagios") == "datadog"


def test_sniff_alertmanager_user_agent_wins_over_the_body() -> None:
    body = (FIXTURES / "generic-seed-format.json").read_bytes()
    assert sniff_sender(body, user_agent="Alertmanager/0.27.0") == "alertmanager"


def test_sniff_sns_user_agent_is_cloudwatch() -> None:
    assert (
        sniff_sender(b"{}", user_agent="Amazon Simple Notification Service Agent") == "cloudwatch"
    )


def test_sniff_other_user_agent_falls_back_to_the_body() -> None:
    body = (FIXTURES / "alertmanager-webhook-v4-mixed.json").read_bytes()
    assert sniff_sender(body, user_agent="curl/8.5.0") == "alertmanager"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json at all", b'{"version": "4"}', b'{"alert_id": "1"}', b"\xff\xfe\x00", b"[]"],
)
def test_sniff_without_any_clue_is_none(body: bytes) -> None:
    assert sniff_sender(body) is None


def test_sniff_finds_datadog_by_its_keys_even_in_a_broken_body() -> None:
    assert sniff_sender(b'{"alert_transition": "Triggered", "id": "1", ') == "datadog"


@pytest.mark.parametrize("body", [None, "text", 42, ["x"]])
def test_sniff_never_raises_on_a_body_that_is_not_bytes(body: Any) -> None:
    assert sniff_sender(body) is None


def test_sniff_reads_a_memoryview() -> None:
    body = memoryview(b'{"eventid": "1", "eventvalue": "1"}')
    assert sniff_sender(body) == "zabbix"  # type: ignore[arg-type]


def test_sniff_ignores_user_agent_and_source_of_the_wrong_type() -> None:
    assert sniff_sender(b"{}", user_agent=5, source=7) is None  # type: ignore[arg-type]
