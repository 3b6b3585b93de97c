"""Delivery idempotency: per-company keys, the 24 h window, and the duplicate answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._expiring import ExpiringMap
from alertwhisperer_core._idempotency import (
    DELIVERY_WINDOW,
    MAX_DELIVERY_ID_LENGTH,
    DeliveryRecord,
    delivery_key,
)
from alertwhisperer_core.errors import ValidationError

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def record(company_id: str = "acme", delivery_id: str = "alert-123") -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=delivery_id,
        company_id=company_id,
        alert_ids=("alert-456",),
        incident_ids=("inc-1",),
        first_seen_at=T0,
    )


def test_delivery_window_is_24_hours() -> None:
    assert timedelta(hours=24) == DELIVERY_WINDOW


def test_record_expires_one_window_after_first_seen() -> None:
    assert record().expires_at == T0 + timedelta(hours=24)


def test_duplicate_response_repeats_the_first_ids() -> None:
    assert record().duplicate_response() == {
        "alert_ids": ["alert-456"],
        "incident_ids": ["inc-1"],
        "duplicate": True,
    }


def test_same_delivery_id_of_two_companies_gives_two_keys() -> None:
    assert delivery_key("acme", "alert-123") != delivery_key("globex", "alert-123")


def test_same_company_and_delivery_id_give_the_same_key() -> None:
    assert delivery_key("acme", "alert-123") == delivery_key("acme", "alert-123")


@given(
    a=st.tuples(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8)),
    b=st.tuples(st.text(min_size=1, max_size=8), st.text(min_size=1, max_size=8)),
)
def test_distinct_pairs_never_share_a_key(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert (delivery_key(*a) == delivery_key(*b)) == (a == b)


def test_separator_inside_ids_cannot_forge_another_companys_key() -> None:
    assert delivery_key("a:b", "c") != delivery_key("a", "b:c")


@pytest.mark.parametrize("delivery_id", ["", "x" * (MAX_DELIVERY_ID_LENGTH + 1)])
def test_empty_or_oversized_delivery_id_is_a_422_naming_the_header(delivery_id: str) -> None:
    with pytest.raises(ValidationError) as caught:
        delivery_key("acme", delivery_id)
    assert caught.value.errors[0]["field"] == "X-Delivery-ID"
    assert caught.value.error_status_hint == 422


def test_longest_allowed_delivery_id_is_accepted() -> None:
    assert delivery_key("acme", "x" * MAX_DELIVERY_ID_LENGTH).endswith("x" * 10)


def test_empty_company_id_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="company_id"):
        delivery_key("", "alert-123")


def test_repeat_within_the_window_finds_the_first_record() -> None:
    store: ExpiringMap[str, DeliveryRecord] = ExpiringMap()
    first = record()
    key = delivery_key(first.company_id, first.delivery_id)
    assert store.put_if_absent(key, first, first.expires_at, now=T0) is None
    later = T0 + DELIVERY_WINDOW - timedelta(seconds=1)
    assert store.put_if_absent(
        key, record(delivery_id="other"), later + DELIVERY_WINDOW, later
    ) == (first)


def test_repeat_after_the_window_is_a_new_delivery() -> None:
    store: ExpiringMap[str, DeliveryRecord] = ExpiringMap()
    first = record()
    key = delivery_key(first.company_id, first.delivery_id)
    store.put_if_absent(key, first, first.expires_at, now=T0)
    later = T0 + DELIVERY_WINDOW
    assert store.put_if_absent(key, first, later + DELIVERY_WINDOW, later) is None
