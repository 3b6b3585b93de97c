"""ExpiringMap: expiry boundaries, purging, bounded memory, and agreement with a dict model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._expiring import ExpiringMap

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_get_returns_a_live_value() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    assert m.put_if_absent("a", 1, expires_at=at(10), now=at(0)) is None
    assert m.get("a", at(9)) == 1


def test_get_of_an_unknown_key_is_none() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    assert m.get("nope", at(0)) is None


def test_entry_is_expired_from_its_expiry_time_on() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    assert m.get("a", at(10) - timedelta(microseconds=1)) == 1
    assert m.get("a", at(10)) is None


def test_put_if_absent_returns_the_live_value_and_keeps_it() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    assert m.put_if_absent("a", 2, expires_at=at(99), now=at(5)) == 1
    assert m.get("a", at(9)) == 1
    assert m.get("a", at(10)) is None


def test_put_if_absent_replaces_an_expired_value() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    assert m.put_if_absent("a", 2, expires_at=at(20), now=at(10)) is None
    assert m.get("a", at(15)) == 2


def test_value_already_expired_at_insertion_is_not_stored() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    assert m.put_if_absent("a", 1, expires_at=at(5), now=at(5)) is None
    assert len(m) == 0
    assert m.get("a", at(0)) is None


def test_purge_drops_only_expired_entries_and_counts_them() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    for i in range(5):
        m.put_if_absent(f"k{i}", i, expires_at=at(10 + i), now=at(0))
    assert m.purge(at(12)) == 3
    assert len(m) == 2
    assert m.get("k3", at(12)) == 3


def test_insertion_purges_expired_entries_so_memory_holds_only_live_ones() -> None:
    m: ExpiringMap[int, int] = ExpiringMap()
    for i in range(10_000):
        m.put_if_absent(i, i, expires_at=at(i + 60), now=at(i))
    # At t, only the keys inserted in the last 60 s are live.
    assert len(m) == 60
    assert len(m._heap) == 60


def test_earlier_now_after_a_purge_does_not_resurrect_entries() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    m.purge(at(20))
    assert m.get("a", at(5)) is None


def test_equal_expiry_times_need_no_key_ordering() -> None:
    m: ExpiringMap[object, int] = ExpiringMap()
    # object() instances cannot be ordered; the heap must never compare keys.
    keys = [object() for _ in range(3)]
    for i, key in enumerate(keys):
        m.put_if_absent(key, i, expires_at=at(10), now=at(0))
    assert m.purge(at(10)) == 3


def test_discard_forgets_a_live_value() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    assert m.discard("a") is True
    assert m.get("a", at(1)) is None
    assert len(m) == 0


def test_discard_of_an_unknown_key_reports_nothing_held() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    assert m.discard("a") is False


def test_discarded_key_can_be_inserted_again() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    m.discard("a")
    assert m.put_if_absent("a", 2, expires_at=at(30), now=at(1)) is None
    assert m.get("a", at(2)) == 2


def test_expiry_of_a_discarded_entry_does_not_drop_its_successor() -> None:
    m: ExpiringMap[str, int] = ExpiringMap()
    m.put_if_absent("a", 1, expires_at=at(10), now=at(0))
    m.discard("a")
    m.put_if_absent("a", 2, expires_at=at(30), now=at(1))
    assert m.purge(at(10)) == 0
    assert m.get("a", at(20)) == 2


def test_stale_heap_items_of_discarded_entries_are_dropped_in_time() -> None:
    m: ExpiringMap[int, int] = ExpiringMap()
    for i in range(1000):
        m.put_if_absent(i, i, expires_at=at(i + 60), now=at(i))
        m.discard(i)
    assert len(m) == 0
    assert len(m._heap) <= 61


# --- model-based property --------------------------------------------------------------------

# Every operation is (kind, key, now, ttl, value); kinds ignore the fields they do not use.
ops = st.lists(
    st.tuples(
        st.sampled_from(["get", "put", "purge", "discard"]),
        st.integers(0, 3),
        st.integers(0, 12),
        st.integers(0, 6),
        st.integers(0, 1000),
    ),
    max_size=80,
)


@given(ops)
def test_map_agrees_with_a_plain_dict_model(
    operations: list[tuple[str, int, int, int, int]],
) -> None:
    m: ExpiringMap[int, int] = ExpiringMap()
    model: dict[int, tuple[int, int]] = {}  # key -> (value, expires_at second)

    def model_purge(now: int) -> int:
        expired = [k for k, (_, exp) in model.items() if exp <= now]
        for k in expired:
            del model[k]
        return len(expired)

    for kind, key, now, ttl, value in operations:
        if kind == "get":
            entry = model.get(key)
            expected = entry[0] if entry is not None and entry[1] > now else None
            assert m.get(key, at(now)) == expected
        elif kind == "put":
            model_purge(now)
            existing = model.get(key)
            if existing is None and ttl > 0:
                model[key] = (value, now + ttl)
            expected = existing[0] if existing is not None else None
            assert m.put_if_absent(key, value, expires_at=at(now + ttl), now=at(now)) == expected
        elif kind == "discard":
            assert m.discard(key) == (model.pop(key, None) is not None)
        else:
            assert m.purge(at(now)) == model_purge(now)
        assert len(m) == len(model)
