"""Runbook matching (most specific wins) and runbook validation."""

from __future__ import annotations

import itertools
from fnmatch import fnmatchcase
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._models import HealthCheck, Risk, Runbook
from alertwhisperer_core._runbooks import (
    is_glob,
    literal_length,
    match_runbook,
    signature_matches,
    validate_runbook,
    validate_signature_pattern,
)
from alertwhisperer_core.errors import ValidationError


def runbook(
    rb_id: str,
    signature: str,
    *,
    company_id: str | None = None,
    name: str | None = None,
    risk: Risk = Risk.LOW,
) -> Runbook:
    return Runbook(
        id=rb_id,
        name=name or rb_id,
        signature=signature,
        risk=risk,
        actions=("sudo systemctl restart nginx",),
        company_id=company_id,
    )


NGINX = runbook("restart-nginx", "service_down:nginx")
ANY_SERVICE = runbook("restart-service", "service_down:*")


def picked(signature: str, *books: Runbook, company: str = "acme") -> str | None:
    found = match_runbook(signature, company, books)
    return None if found is None else found.id


# --- matching ----------------------------------------------------------------------------


def test_exact_signature_matches() -> None:
    assert picked("service_down:nginx", NGINX) == "restart-nginx"


def test_nothing_matches_gives_none() -> None:
    assert picked("disk_full", NGINX, ANY_SERVICE) is None


def test_no_runbooks_gives_none() -> None:
    assert picked("disk_full") is None


def test_exact_match_is_the_whole_signature() -> None:
    assert picked("service_down:nginx-proxy", NGINX) is None


def test_matching_is_case_sensitive() -> None:
    assert picked("Service_Down:NGINX", NGINX, ANY_SERVICE) is None


def test_glob_matches() -> None:
    assert picked("service_down:redis", NGINX, ANY_SERVICE) == "restart-service"


def test_exact_beats_glob() -> None:
    assert picked("service_down:nginx", ANY_SERVICE, NGINX) == "restart-nginx"


def test_glob_with_more_literal_characters_wins() -> None:
    broad = runbook("broad", "service_*")
    narrow = runbook("narrow", "service_down:ng*")
    assert picked("service_down:nginx", broad, narrow) == "narrow"
    assert picked("service_down:nginx", narrow, broad) == "narrow"


def test_company_runbook_beats_global_even_when_less_specific() -> None:
    own = runbook("acme-any", "service_*", company_id="acme")
    assert picked("service_down:nginx", NGINX, own) == "acme-any"


def test_among_company_runbooks_exact_still_beats_glob() -> None:
    own_glob = runbook("acme-glob", "service_down:*", company_id="acme")
    own_exact = runbook("acme-exact", "service_down:nginx", company_id="acme")
    assert picked("service_down:nginx", own_glob, own_exact) == "acme-exact"


def test_another_companys_runbook_never_matches() -> None:
    theirs = runbook("globex-nginx", "service_down:nginx", company_id="globex")
    assert picked("service_down:nginx", theirs) is None
    assert picked("service_down:nginx", theirs, ANY_SERVICE) == "restart-service"


def test_equal_specificity_is_decided_by_name_then_id() -> None:
    b = runbook("id-1", "service_down:*", name="Beta")
    a = runbook("id-2", "service_down:*", name="Alpha")
    a_twin = runbook("id-0", "service_down:*", name="Alpha")
    for order in itertools.permutations([b, a, a_twin]):
        assert picked("service_down:x", *order) == "id-0"


def test_question_mark_and_brackets_match_one_character() -> None:
    assert picked("disk_full:sda", runbook("rb", "disk_full:sd?")) == "rb"
    assert picked("disk_full:sdb", runbook("rb", "disk_full:sd[ab]")) == "rb"
    assert picked("disk_full:sdc", runbook("rb", "disk_full:sd[ab]")) is None
    assert picked("disk_full:sdc", runbook("rb", "disk_full:sd[!ab]")) == "rb"


def test_bracket_expression_counts_as_no_literal() -> None:
    with_class = runbook("class", "disk_full:sd[ab]")
    with_literal = runbook("literal", "disk_full:sd?")
    assert literal_length("disk_full:sd[ab]") == literal_length("disk_full:sd?") == 12
    assert picked("disk_full:sda", with_class, with_literal) == "class"  # tie: name order


def test_accepts_any_iterable_once() -> None:
    assert match_runbook("service_down:nginx", "acme", iter([ANY_SERVICE, NGINX])) is NGINX


@pytest.mark.parametrize(
    ("pattern", "expected"), [("disk_full", False), ("disk_*", True), ("a?", True), ("[ab]", True)]
)
def test_is_glob(pattern: str, expected: bool) -> None:
    assert is_glob(pattern) is expected


@pytest.mark.parametrize(
    ("pattern", "count"),
    [
        ("abc", 3),
        ("a*c", 2),
        ("a?c", 2),
        ("**", 0),
        ("[abc]x", 1),
        ("[]]x", 1),
        ("[!a]", 0),
        ("a[", 2),
    ],
)
def test_literal_length(pattern: str, count: int) -> None:
    assert literal_length(pattern) == count


SIGNATURE_ALPHABET = "ab:_*?[]!"


@given(
    signature=st.text(alphabet="ab:_", max_size=8),
    specs=st.lists(
        st.tuples(
            st.text(alphabet=SIGNATURE_ALPHABET, min_size=1, max_size=6),
            st.sampled_from([None, "acme", "globex"]),
            st.sampled_from(["n1", "n2"]),
        ),
        max_size=8,
    ),
)
def test_agrees_with_sorting_every_candidate(
    signature: str, specs: list[tuple[str, str | None, str]]
) -> None:
    books = [
        runbook(f"rb-{i}", pattern, company_id=company, name=name)
        for i, (pattern, company, name) in enumerate(specs)
    ]
    candidates = [
        b
        for b in books
        if b.company_id in (None, "acme")
        and (
            fnmatchcase(signature, b.signature)
            if is_glob(b.signature)
            else b.signature == signature
        )
    ]

    def rank(b: Runbook) -> tuple[int, int, int, str, str]:
        scope = 0 if b.company_id == "acme" else 1
        exact = 0 if b.signature == signature and not is_glob(b.signature) else 1
        literals = -literal_length(b.signature) if exact else 0
        return (scope, exact, literals, b.name, b.id)

    expected = min(candidates, key=rank) if candidates else None
    assert match_runbook(signature, "acme", books) is expected


@given(
    pattern=st.text(alphabet=SIGNATURE_ALPHABET, min_size=1, max_size=8),
    signature=st.text(max_size=8),
)
def test_signature_matches_is_fnmatch_for_globs_and_equality_otherwise(
    pattern: str, signature: str
) -> None:
    expected = fnmatchcase(signature, pattern) if is_glob(pattern) else pattern == signature
    assert signature_matches(pattern, signature) is expected


# --- validation --------------------------------------------------------------------------


def valid(**changes: Any) -> Runbook:
    base = Runbook(
        id="rb",
        name="Restart Nginx",
        signature="service_down:nginx",
        risk=Risk.LOW,
        actions=("sudo systemctl restart nginx", "curl -f http://localhost/healthz"),
        description="Restart nginx service and verify health",
        health_check=HealthCheck(kind="http", url="http://localhost/healthz", expected_status=200),
        timeout_seconds=300,
    )
    return attrs.evolve(base, **changes)


def refused_field(book: Runbook) -> str:
    with pytest.raises(ValidationError) as info:
        validate_runbook(book)
    (error,) = info.value.errors
    return str(error["field"])


def test_guides_example_runbook_is_valid() -> None:
    validate_runbook(valid())


@pytest.mark.parametrize(
    "changes",
    [
        {"timeout_seconds": 1},
        {"timeout_seconds": 3600},
        {"health_check": None},
        {"health_check": HealthCheck(kind="command", command="systemctl is-active nginx")},
        {"health_check": HealthCheck(kind="http", url="https://x/h", expected_status=204)},
        {"signature": "service_down:*"},
        {"signature": "disk_full:sd[a-z]"},
        {"company_id": "acme"},
        {"risk": Risk.HIGH},
    ],
)
def test_valid_variations_pass(changes: dict[str, object]) -> None:
    validate_runbook(valid(**changes))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"signature": ""}, "signature"),
        ({"signature": "  "}, "signature"),
        ({"signature": " disk_full"}, "signature"),
        ({"signature": "disk_full\n"}, "signature"),
        ({"signature": "x" * 501}, "signature"),
        ({"signature": "disk_full:sd[ab"}, "signature"),
        ({"signature": "*"}, "signature"),
        ({"signature": "*?*"}, "signature"),
        ({"signature": "[ab]*"}, "signature"),
        ({"risk": "extreme"}, "risk"),
        ({"actions": ()}, "actions"),
        ({"actions": ("ok", "")}, "actions[1]"),
        ({"actions": ("  ",)}, "actions[0]"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"timeout_seconds": 3601}, "timeout_seconds"),
        ({"timeout_seconds": -5}, "timeout_seconds"),
        ({"timeout_seconds": True}, "timeout_seconds"),
        ({"timeout_seconds": 30.0}, "timeout_seconds"),
        ({"company_id": ""}, "company_id"),
        ({"health_check": HealthCheck(kind="http")}, "health_check.url"),
        ({"health_check": HealthCheck(kind="http", url="ftp://x")}, "health_check.url"),
        (
            {"health_check": HealthCheck(kind="http", url="http://x", expected_status=99)},
            "health_check.expected_status",
        ),
        (
            {"health_check": HealthCheck(kind="http", url="http://x", expected_status=600)},
            "health_check.expected_status",
        ),
        ({"health_check": HealthCheck(kind="command")}, "health_check.command"),
        ({"health_check": HealthCheck(kind="command", command=" ")}, "health_check.command"),
        ({"health_check": HealthCheck(kind="ping", url="http://x")}, "health_check.kind"),
    ],
)
def test_invalid_runbook_is_refused_naming_the_field(
    changes: dict[str, object], field: str
) -> None:
    assert refused_field(valid(**changes)) == field


def test_unclosed_bracket_message_says_where() -> None:
    with pytest.raises(ValidationError, match=r"unclosed '\[' at position 3"):
        validate_signature_pattern("sd:[ab")


@pytest.mark.parametrize("pattern", ["[[]x", "[]]x", "[!]]x", "a[*]b"])
def test_brackets_that_fnmatch_closes_are_accepted(pattern: str) -> None:
    validate_signature_pattern(pattern)


def test_signature_pattern_error_uses_the_given_field() -> None:
    with pytest.raises(ValidationError) as info:
        validate_signature_pattern("", field="runbooks[2].signature")
    assert info.value.errors[0]["field"] == "runbooks[2].signature"


@given(pattern=st.text(alphabet=SIGNATURE_ALPHABET + " x", max_size=10))
def test_any_pattern_is_accepted_or_refused_with_a_validation_error(pattern: str) -> None:
    refused = False
    try:
        validate_signature_pattern(pattern)
    except ValidationError:
        refused = True
    if not refused:
        assert pattern.strip() == pattern != ""
        assert literal_length(pattern) > 0
