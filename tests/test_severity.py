"""Severity names: the canonical four, the documented synonyms, and everything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core import Severity
from alertwhisperer_core.errors import NormalizationError
from alertwhisperer_core.normalize import SEVERITY_SYNONYMS, parse_severity

EXPECTED_TABLE = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "fatal": Severity.CRITICAL,
    "emergency": Severity.CRITICAL,
    "emerg": Severity.CRITICAL,
    "panic": Severity.CRITICAL,
    "alert": Severity.CRITICAL,
    "disaster": Severity.CRITICAL,
    "p1": Severity.CRITICAL,
    "high": Severity.HIGH,
    "error": Severity.HIGH,
    "err": Severity.HIGH,
    "major": Severity.HIGH,
    "p2": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "warning": Severity.MEDIUM,
    "warn": Severity.MEDIUM,
    "minor": Severity.MEDIUM,
    "average": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "p3": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.LOW,
    "information": Severity.LOW,
    "informational": Severity.LOW,
    "notice": Severity.LOW,
    "debug": Severity.LOW,
    "not classified": Severity.LOW,
    "p4": Severity.LOW,
    "p5": Severity.LOW,
}


def test_synonym_table_is_exactly_the_documented_one() -> None:
    assert dict(SEVERITY_SYNONYMS) == EXPECTED_TABLE


def test_synonym_table_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        SEVERITY_SYNONYMS["sev1"] = Severity.CRITICAL  # type: ignore[index]


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED_TABLE.items()))
def test_every_documented_spelling_maps_to_its_severity(name: str, expected: Severity) -> None:
    assert parse_severity(name, field="severity") is expected


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED_TABLE.items()))
def test_spellings_are_matched_in_upper_case(name: str, expected: Severity) -> None:
    assert parse_severity(name.upper(), field="severity") is expected


def test_surrounding_white_space_is_ignored() -> None:
    assert parse_severity("  Warning\t", field="severity") is Severity.MEDIUM


def test_a_severity_member_is_accepted_as_itself() -> None:
    assert parse_severity(Severity.HIGH, field="severity") is Severity.HIGH


@given(
    st.sampled_from(sorted(EXPECTED_TABLE)).flatmap(
        lambda name: st.tuples(
            st.just(name),
            st.lists(st.booleans(), min_size=len(name), max_size=len(name)),
        )
    )
)
def test_matching_ignores_any_mix_of_case(case: tuple[str, list[bool]]) -> None:
    name, upper = case
    mixed = "".join(c.upper() if u else c for c, u in zip(name, upper, strict=True))
    assert parse_severity(mixed, field="severity") is EXPECTED_TABLE[name]


def test_unknown_name_is_rejected_naming_the_field_and_the_value() -> None:
    with pytest.raises(NormalizationError) as caught:
        parse_severity("banana", field="alerts[2].labels.severity")
    assert caught.value.field == "alerts[2].labels.severity"
    assert caught.value.message == (
        "unknown severity 'banana'; use critical, high, medium, low or a synonym"
    )
    assert caught.value.errors == (
        {"field": "alerts[2].labels.severity", "message": caught.value.message},
    )


def test_empty_name_is_rejected() -> None:
    with pytest.raises(NormalizationError, match="unknown severity ''"):
        parse_severity("", field="severity")


def test_a_huge_unknown_name_is_echoed_shortened() -> None:
    with pytest.raises(NormalizationError) as caught:
        parse_severity("x" * 10_000, field="severity")
    assert len(caught.value.message) < 200
    assert "…" in caught.value.message


@pytest.mark.parametrize(
    ("value", "kind"), [(3, "int"), (2.5, "float"), (None, "null"), (True, "bool"), ([], "array")]
)
def test_a_non_string_is_rejected_with_its_json_type(value: object, kind: str) -> None:
    with pytest.raises(NormalizationError) as caught:
        parse_severity(value, field="severity")
    assert caught.value.field == "severity"
    assert caught.value.message == f"expected a severity name, got {kind}"


@given(st.text(max_size=30))
def test_any_text_either_maps_through_the_table_or_is_rejected(text: str) -> None:
    key = text.strip().lower()
    if key in EXPECTED_TABLE:
        assert parse_severity(text, field="severity") is EXPECTED_TABLE[key]
    else:
        with pytest.raises(NormalizationError):
            parse_severity(text, field="severity")
