"""Assignment: fewest open incidents first, ties round robin, inactive people skipped."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._models import Role, User
from alertwhisperer_core._routing import pick_technician


def tech(user_id: str, *, active: bool = True) -> User:
    return User(
        id=user_id,
        email=f"{user_id}@x",
        name=user_id,
        role=Role.TECHNICIAN,
        company_ids=frozenset({"acme"}),
        active=active,
    )


ANN, BOB, CID = tech("ann"), tech("bob"), tech("cid")


def test_fewest_open_incidents_wins() -> None:
    assert pick_technician([ANN, BOB, CID], {"ann": 3, "bob": 1, "cid": 2}, None) == "bob"


def test_missing_count_means_no_open_incidents() -> None:
    assert pick_technician([ANN, BOB], {"ann": 1}, None) == "bob"


def test_tie_without_history_goes_to_the_lowest_id() -> None:
    assert pick_technician([CID, BOB, ANN], {}, None) == "ann"


def test_tie_goes_to_the_next_id_after_the_last_assignee() -> None:
    assert pick_technician([ANN, BOB, CID], {}, "ann") == "bob"
    assert pick_technician([ANN, BOB, CID], {}, "bob") == "cid"


def test_tie_wraps_around_after_the_highest_id() -> None:
    assert pick_technician([ANN, BOB, CID], {}, "cid") == "ann"


def test_round_robin_skips_people_who_are_not_tied() -> None:
    # bob is next after ann but has more open work; cid is the next tied one.
    assert pick_technician([ANN, BOB, CID], {"bob": 1}, "ann") == "cid"


def test_last_assignee_who_left_still_orders_the_turn() -> None:
    assert pick_technician([ANN, CID], {}, "bob") == "cid"


def test_inactive_people_are_skipped() -> None:
    assert pick_technician([tech("ann", active=False), BOB], {"bob": 9}, None) == "bob"


@pytest.mark.parametrize(
    "candidates", [[], [tech("ann", active=False)]], ids=["nobody", "only-inactive"]
)
def test_nobody_to_assign_is_none(candidates: list[User]) -> None:
    assert pick_technician(candidates, {}, "ann") is None


def test_candidate_order_does_not_matter() -> None:
    counts = {"ann": 1, "bob": 1, "cid": 1}
    assert pick_technician([CID, ANN, BOB], counts, "ann") == pick_technician(
        [ANN, BOB, CID], counts, "ann"
    )


def brute_force(candidates: list[User], counts: dict[str, int], last: str | None) -> str | None:
    """Walk the ids in order, starting after ``last``, and take the first with the fewest."""
    ids = sorted({u.id for u in candidates if u.active})
    if not ids:
        return None
    fewest = min(counts.get(i, 0) for i in ids)
    start = 0 if last is None else next((k for k, i in enumerate(ids) if i > last), 0)
    for step in range(len(ids)):
        user_id = ids[(start + step) % len(ids)]
        if counts.get(user_id, 0) == fewest:
            return user_id
    raise AssertionError("unreachable: someone has the fewest")


IDS = st.sampled_from(["ann", "bob", "cid", "dan", "eve", "fay"])


@given(
    people=st.lists(st.tuples(IDS, st.booleans()), max_size=8),
    counts=st.dictionaries(IDS, st.integers(0, 3)),
    last=st.none() | IDS | st.just("zed") | st.just("aaa"),
)
def test_agrees_with_brute_force(
    people: list[tuple[str, bool]], counts: dict[str, int], last: str | None
) -> None:
    # The same id twice (active and not) must not confuse it: activity comes per entry.
    candidates = [tech(i, active=a) for i, a in people]
    assert pick_technician(candidates, counts, last) == brute_force(candidates, counts, last)


@given(team=st.sets(IDS, min_size=1), rounds=st.integers(1, 5))
def test_equal_load_is_shared_exactly_evenly(team: set[str], rounds: int) -> None:
    people = [tech(i) for i in sorted(team)]
    counts: Counter[str] = Counter()
    last = None
    for _ in range(rounds * len(team)):
        last = pick_technician(people, counts, last)
        assert last is not None
        counts[last] += 1
    assert set(counts.values()) == {rounds}


@given(team=st.sets(IDS, min_size=1), assignments=st.integers(1, 30))
def test_incidents_resolved_at_once_rotate_through_everyone(
    team: set[str], assignments: int
) -> None:
    # Nobody keeps open work, so every pick is a tie: it must be a pure rotation in id order.
    people = [tech(i) for i in team]
    order = sorted(team)
    last = None
    picks = []
    for _ in range(assignments):
        last = pick_technician(people, {}, last)
        picks.append(last)
    assert picks == [order[k % len(order)] for k in range(assignments)]


@given(
    team=st.sets(IDS, min_size=2),
    events=st.lists(st.booleans(), min_size=1, max_size=60),
)
def test_open_load_never_differs_by_more_than_one(team: set[str], events: list[bool]) -> None:
    # True: a new incident is assigned; False: the busiest person resolves one.
    people = [tech(i) for i in team]
    open_counts: Counter[str] = Counter()
    last = None
    for new_incident in events:
        if new_incident:
            last = pick_technician(people, open_counts, last)
            assert last is not None
            open_counts[last] += 1
        else:
            busiest = max(sorted(team), key=lambda i: open_counts[i])
            if open_counts[busiest]:
                open_counts[busiest] -= 1
        loads = [open_counts[i] for i in team]
        assert max(loads) - min(loads) <= 1
