"""Incident repository contract: correlation look-ups, routing counts, lists and periods."""

from __future__ import annotations

import pytest

from alertwhisperer_core import (
    Incident,
    IncidentStatus,
    Note,
    Resolution,
    Severity,
    TimelineEntry,
    ValidationError,
)
from alertwhisperer_core._cursor import encode_cursor
from alertwhisperer_core.ports import IncidentQuery, UnitOfWorkFactory

from .records import assigned, at, incident

KEY = "srv-app-01|disk_full"


async def _add(store: UnitOfWorkFactory, *incidents: Incident) -> None:
    async with store() as uow:
        for i in incidents:
            await uow.incidents.add(i)
        await uow.commit()


async def _list(store: UnitOfWorkFactory, query: IncidentQuery) -> list[str]:
    async with store() as uow:
        return [i.id for i in (await uow.incidents.list(query)).items]


def _session(incident_id: str, first: float, last: float, **kw: object) -> Incident:
    return incident(incident_id, first_event_at=at(first), last_event_at=at(last), **kw)


async def test_incident_round_trips_with_every_field(store: UnitOfWorkFactory) -> None:
    full = incident(
        "inc-1", severity=Severity.CRITICAL, status=IncidentStatus.RESOLVED, alert_count=4,
        tool_sources=frozenset({"Datadog", "Zabbix"}), first_event_at=at(-5, micro=1),
        last_event_at=at(3), created_at=at(-4), firing_fingerprints=frozenset({"", "fp-1"}),
        resolution=Resolution.SOURCE_RECOVERED, resolved_at=at(4), assigned_to="u-1",
        notes=(Note(author_id="u-1", author_name="Ada", text="on it ✓", created_at=at(1)),),
        timeline=(TimelineEntry(at=at(-4), kind="opened", detail="first alert a-1"),
                  TimelineEntry(at=at(1), kind="assigned", detail="u-1"),
                  TimelineEntry(at=at(4), kind="resolved")),
        merged_into="inc-0", in_maintenance=True,
    )  # fmt: skip
    await _add(store, full)
    async with store() as uow:
        assert await uow.incidents.get("inc-1") == full


async def test_unknown_incident_is_none(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert await uow.incidents.get("nope") is None


async def test_update_replaces_the_incident(store: UnitOfWorkFactory) -> None:
    await _add(store, incident("inc-1"))
    changed = incident("inc-1", alert_count=9, status=IncidentStatus.IN_PROGRESS)
    async with store() as uow:
        await uow.incidents.update(changed)
        await uow.commit()
    async with store() as uow:
        assert await uow.incidents.get("inc-1") == changed


async def test_lock_key_can_be_taken_twice_in_one_unit_of_work(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        await uow.incidents.lock_key("acme", KEY)
        await uow.incidents.lock_key("acme", "other")
        await uow.commit()


async def test_open_sessions_overlap_the_range_inclusively_oldest_first(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        _session("late", 20, 30), _session("early", 0, 10), _session("touch-lo", -10, 5),
        _session("touch-hi", 15, 15), _session("before", -30, 4), _session("after", 16, 40),
    )  # fmt: skip
    async with store() as uow:
        found = await uow.incidents.open_sessions("acme", KEY, at(5), at(15))
    assert [i.id for i in found] == ["touch-lo", "early", "touch-hi"]


async def test_open_sessions_skip_closed_merged_and_other_keys(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        _session("open", 0, 1),
        _session("resolved", 0, 1, status=IncidentStatus.RESOLVED),
        _session("merged", 0, 1, merged_into="open"),
        _session("other-key", 0, 1, key="other"),
        _session("other-company", 0, 1, company_id="globex"),
        _session("pending", 0, 1, status=IncidentStatus.PENDING),
    )
    async with store() as uow:
        found = await uow.incidents.open_sessions("acme", KEY, at(-60), at(60))
    assert [i.id for i in found] == ["open", "pending"]


async def test_open_sessions_break_first_event_ties_by_id(store: UnitOfWorkFactory) -> None:
    await _add(store, _session("b", 0, 1), _session("a", 0, 2), _session("C", 0, 3))
    async with store() as uow:
        found = await uow.incidents.open_sessions("acme", KEY, at(0), at(0))
    assert [i.id for i in found] == ["C", "a", "b"]


async def test_an_incident_closed_in_the_unit_of_work_leaves_open_sessions(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, _session("inc-1", 0, 1))
    async with store() as uow:
        await uow.incidents.update(_session("inc-1", 0, 1, status=IncidentStatus.RESOLVED))
        assert await uow.incidents.open_sessions("acme", KEY, at(0), at(1)) == []


async def test_open_for_key_lists_every_open_session_oldest_first(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        _session("new", 100, 200), _session("old", 0, 1),
        _session("closed", 50, 60, status=IncidentStatus.RESOLVED),
    )  # fmt: skip
    async with store() as uow:
        assert [i.id for i in await uow.incidents.open_for_key("acme", KEY)] == ["old", "new"]


async def test_open_counts_count_open_incidents_per_user(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        incident("i1", assigned_to="u-1"), incident("i2", assigned_to="u-1"),
        incident("i3", assigned_to="u-2", status=IncidentStatus.PENDING),
        incident("i4", assigned_to="u-2", status=IncidentStatus.RESOLVED),
        incident("i5", assigned_to="u-2", merged_into="i3"),
        incident("i6", assigned_to="u-9"),
    )  # fmt: skip
    async with store() as uow:
        counts = await uow.incidents.open_counts(["u-1", "u-2", "u-3"])
    assert dict(counts) == {"u-1": 2, "u-2": 1, "u-3": 0}


async def test_open_counts_of_nobody_is_empty(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert dict(await uow.incidents.open_counts([])) == {}


async def test_last_assignee_is_the_most_recent_assignment(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        assigned(incident("i1"), "u-late", at(30)),
        assigned(incident("i2"), "u-early", at(10)),
        incident("i3", created_at=at(60)),
    )
    async with store() as uow:
        assert await uow.incidents.last_assignee("acme") == "u-late"
        assert await uow.incidents.last_assignee("globex") is None


async def test_last_assignee_without_timeline_uses_the_creation_time(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        assigned(incident("i1"), "u-timeline", at(30)),
        incident("i2", assigned_to="u-created", created_at=at(40)),
    )
    async with store() as uow:
        assert await uow.incidents.last_assignee("acme") == "u-created"


async def test_last_assignee_ties_go_to_the_first_stored_incident(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, assigned(incident("z"), "u-first", at(5)))
    await _add(store, assigned(incident("a"), "u-second", at(5)))
    async with store() as uow:
        await uow.incidents.update(assigned(incident("z", alert_count=2), "u-first", at(5)))
        await uow.commit()
    async with store() as uow:
        assert await uow.incidents.last_assignee("acme") == "u-first"


async def test_incident_list_is_newest_last_event_first_then_id(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        _session("b", 0, 5), _session("a", 0, 5), _session("c", 0, 1), _session("d", 0, 9),
    )  # fmt: skip
    assert await _list(store, IncidentQuery()) == ["d", "b", "a", "c"]


async def test_incident_list_hides_merged_and_pending_unless_asked(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        _session("open", 0, 3),
        _session("pending", 0, 2, status=IncidentStatus.PENDING),
        _session("merged", 0, 1, merged_into="open"),
    )
    assert await _list(store, IncidentQuery()) == ["open"]
    assert await _list(store, IncidentQuery(include_pending=True)) == ["open", "pending"]


async def test_incident_list_filters(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        _session("i1", 0, 1, severity=Severity.LOW, assigned_to="u-1"),
        _session("i2", 0, 2, status=IncidentStatus.RESOLVED, signature="CPU_high"),
        _session("i3", 0, 3, company_id="globex", asset_name="DB-Primary"),
    )
    assert await _list(store, IncidentQuery(severity=Severity.LOW)) == ["i1"]
    assert await _list(store, IncidentQuery(status=IncidentStatus.RESOLVED)) == ["i2"]
    assert await _list(store, IncidentQuery(assigned_to="u-1")) == ["i1"]
    assert await _list(store, IncidentQuery(company_ids=frozenset({"globex"}))) == ["i3"]
    assert await _list(store, IncidentQuery(q="cpu")) == ["i2"]
    assert await _list(store, IncidentQuery(q="db-primary")) == ["i3"]


async def test_incident_list_time_range_is_on_last_event(store: UnitOfWorkFactory) -> None:
    await _add(store, *(_session(f"i{n}", -100, n) for n in range(4)))
    assert await _list(store, IncidentQuery(since=at(1), until=at(3))) == ["i2", "i1"]


async def test_incident_pages_walk_every_incident_once(store: UnitOfWorkFactory) -> None:
    incidents = [_session(f"i{n}", 0, n // 3) for n in range(8)]
    await _add(store, *incidents)
    expected = sorted(incidents, key=lambda i: (i.last_event_at.isoformat(), i.id), reverse=True)
    seen: list[str] = []
    cursor = None
    async with store() as uow:
        while True:
            page = await uow.incidents.list(IncidentQuery(limit=3, cursor=cursor))
            seen += [i.id for i in page.items]
            if page.next_cursor is None:
                break
            last = page.items[-1]
            assert page.next_cursor == encode_cursor(last.last_event_at.isoformat(), last.id)
            cursor = page.next_cursor
    assert seen == [i.id for i in expected]


async def test_malformed_incident_cursor_is_a_validation_error(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        with pytest.raises(ValidationError):
            await uow.incidents.list(IncidentQuery(cursor=encode_cursor("x")))


async def test_all_in_period_is_by_first_event_in_storage_order(store: UnitOfWorkFactory) -> None:
    await _add(
        store,
        _session("z", 5, 6), _session("a", 1, 2, merged_into="z"), _session("out", 9, 9),
        _session("early", -1, 0), _session("g", 2, 3, company_id="globex"),
    )  # fmt: skip
    async with store() as uow:
        found = await uow.incidents.all_in_period(None, at(0), at(9))
        mine = await uow.incidents.all_in_period(frozenset({"globex"}), None, None)
    assert [i.id for i in found] == ["z", "a", "g"]
    assert [i.id for i in mine] == ["g"]


async def test_reads_under_a_key_lock_find_sessions_far_apart(store: UnitOfWorkFactory) -> None:
    await _add(store, _session("now", 0, 5), _session("tomorrow", 24 * 60, 24 * 60 + 5))
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        near = await uow.incidents.open_sessions("acme", KEY, at(-15), at(15))
        far = await uow.incidents.open_sessions("acme", KEY, at(24 * 60 - 15), at(24 * 60 + 15))
        every = await uow.incidents.open_for_key("acme", KEY)
    assert [i.id for i in near] == ["now"]
    assert [i.id for i in far] == ["tomorrow"]
    assert [i.id for i in every] == ["now", "tomorrow"]


async def test_reads_under_a_key_lock_see_the_unit_of_works_own_writes(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, _session("old", 0, 5))
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        assert [i.id for i in await uow.incidents.open_sessions("acme", KEY, at(0), at(10))] == [
            "old"
        ]
        grown = _session("old", 0, 9, alert_count=2)
        await uow.incidents.update(grown)
        await uow.incidents.add(_session("new", 8, 8))
        await uow.incidents.add(_session("closed", 7, 7, status=IncidentStatus.RESOLVED))
        found = await uow.incidents.open_sessions("acme", KEY, at(6), at(12))
        assert [i.id for i in found] == ["old", "new"]
        assert found[0] == grown
        assert await uow.incidents.get("old") == grown
        await uow.commit()
    async with store() as uow:
        assert await uow.incidents.get("old") == grown
        assert [i.id for i in await uow.incidents.open_for_key("acme", KEY)] == ["old", "new"]


async def test_a_second_key_lock_in_one_unit_of_work_reads_its_own_key(
    store: UnitOfWorkFactory,
) -> None:
    await _add(store, _session("a", 0, 1), _session("b", 0, 1, key="other"))
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        await uow.incidents.lock_key("acme", "other")
        others = await uow.incidents.open_sessions("acme", "other", at(0), at(1))
        mine = await uow.incidents.open_sessions("acme", KEY, at(0), at(1))
        await uow.commit()
    assert [i.id for i in others] == ["b"]
    assert [i.id for i in mine] == ["a"]


async def test_keys_locked_up_front_each_read_their_own_sessions(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        _session("a1", 0, 1, key="a"), _session("a2", 60 * 24, 60 * 24, key="a"),
        _session("b1", 0, 2, key="b"), _session("c1", 0, 3, key="c", company_id="globex"),
        _session("shut", 0, 1, key="b", status=IncidentStatus.RESOLVED),
    )  # fmt: skip
    async with store() as uow:
        for key in ("a", "b", "c"):
            await uow.incidents.lock_key("acme", key)
        await uow.incidents.add(_session("b2", 1, 1, key="b"))
        b = await uow.incidents.open_sessions("acme", "b", at(0), at(5))
        a = await uow.incidents.open_sessions("acme", "a", at(0), at(5))
        c = await uow.incidents.open_for_key("acme", "c")
        every_a = await uow.incidents.open_for_key("acme", "a")
        await uow.commit()
    assert [i.id for i in b] == ["b1", "b2"]
    assert [i.id for i in a] == ["a1"]
    assert c == []
    assert [i.id for i in every_a] == ["a1", "a2"]


async def test_open_sessions_of_keys_answer_each_key_as_the_single_key_reads_do(
    store: UnitOfWorkFactory,
) -> None:
    await _add(
        store,
        _session("a-near", 0, 5, key="a"), _session("a-far", 60 * 24, 60 * 24, key="a"),
        _session("b-old", -30, 4, key="b"), _session("b-in", 3, 6, key="b"),
        _session("b-shut", 0, 1, key="b", status=IncidentStatus.RESOLVED),
        _session("c-far", 60 * 24, 60 * 24 + 1, key="c"), _session("c-near", 1, 2, key="c"),
        _session("d-globex", 0, 1, key="d", company_id="globex"),
        _session("e-merged", 0, 1, key="e", merged_into="a-near"),
    )  # fmt: skip
    ranges = {
        "a": (at(-15), at(15)),
        "b": (at(5), at(20)),
        "c": None,  # every open incident of the key, as open_for_key
        "d": (at(-60), at(60)),
        "e": None,
        "none": (at(0), at(1)),
    }
    async with store() as uow:
        for key in sorted(ranges):
            await uow.incidents.lock_key("acme", key)
        # The unit of work's own writes are laid over what is stored, as for single reads.
        await uow.incidents.add(_session("a-new", 10, 10, key="a"))
        await uow.incidents.update(_session("b-in", 3, 6, key="b", status=IncidentStatus.RESOLVED))
        found = await uow.incidents.open_sessions_of_keys("acme", ranges)
        await uow.commit()
    assert {key: [i.id for i in incidents] for key, incidents in found.items()} == {
        "a": ["a-near", "a-new"],
        "b": [],
        "c": ["c-near", "c-far"],
        "d": [],
        "e": [],
        "none": [],
    }


async def test_open_sessions_of_keys_match_single_key_reads_in_the_same_unit_of_work(
    store: UnitOfWorkFactory,
) -> None:
    sessions = [
        _session(f"{key}-{n}", n * 40, n * 40 + 20, key=key) for key in "pqr" for n in range(4)
    ]
    await _add(store, *sessions)
    ranges = {"p": (at(10), at(45)), "q": (at(100), at(100)), "r": None}
    async with store() as uow:
        for key in sorted(ranges):
            await uow.incidents.lock_key("acme", key)
        many = await uow.incidents.open_sessions_of_keys("acme", ranges)
        single = {
            "p": await uow.incidents.open_sessions("acme", "p", at(10), at(45)),
            "q": await uow.incidents.open_sessions("acme", "q", at(100), at(100)),
            "r": await uow.incidents.open_for_key("acme", "r"),
        }
        await uow.commit()
    assert dict(many) == single
    assert [i.id for i in many["p"]] == ["p-0", "p-1"]
    assert [i.id for i in many["q"]] == ["q-2"]
    assert [i.id for i in many["r"]] == ["r-0", "r-1", "r-2", "r-3"]


async def test_open_sessions_of_no_keys_is_empty(store: UnitOfWorkFactory) -> None:
    async with store() as uow:
        assert dict(await uow.incidents.open_sessions_of_keys("acme", {})) == {}
