"""SQL stores write an incident read under its key's lock as an update of the changed columns
only (an upsert rewrites every indexed column); what is stored is the same either way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from alertwhisperer_adapters.sql import SqlStore, open_sql_store
from alertwhisperer_adapters.sql._mapping import incident_changes, incident_row
from alertwhisperer_adapters.sql._uow import SqlUnitOfWork
from alertwhisperer_core import IncidentStatus, Note, Resolution, Severity, TimelineEntry
from alertwhisperer_core.ports import IncidentQuery

from .conftest import service_url
from .contract._databases import postgres_schema
from .contract.records import at, incident
from .support.sqlite_files import sqlite_store

KEY = "srv-app-01|disk_full"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/aw.db"
        return
    with postgres_schema(service_url("AW_TEST_POSTGRES_URL")) as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    opened = await open_sql_store(database_url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Each incident statement flushed: ("upsert", rows) or ("update a,b", rows)."""
    seen: list[tuple[str, int]] = []
    original = SqlUnitOfWork._incident_writes

    def recording(self: SqlUnitOfWork) -> Any:
        found = original(self)
        for prepared, rows in found:
            if prepared is self.dialect.upsert_incident:
                seen.append(("upsert", len(rows)))
            else:
                columns = sorted(k[2:] for k in rows[0] if k.startswith("v_"))
                seen.append(("update " + ",".join(columns), len(rows)))
        return found

    monkeypatch.setattr(SqlUnitOfWork, "_incident_writes", recording)
    return seen


STORED = incident(
    "inc-1", severity=Severity.HIGH, alert_count=2, first_event_at=at(0), last_event_at=at(5),
    created_at=at(0), firing_fingerprints=frozenset({"fp"}),
)  # fmt: skip


async def _stored(store: SqlStore) -> None:
    async with store() as uow:
        await uow.incidents.add(STORED)
        await uow.commit()


async def _get(store: SqlStore, incident_id: str = "inc-1") -> Any:
    async with store() as uow:
        return await uow.incidents.get(incident_id)


async def test_a_new_incident_is_inserted_whole(
    store: SqlStore, writes: list[tuple[str, int]]
) -> None:
    await _stored(store)
    assert writes == [("upsert", 1)]
    assert await _get(store) == STORED


async def test_an_incident_read_under_its_lock_is_updated_in_the_changed_columns_only(
    store: SqlStore, writes: list[tuple[str, int]]
) -> None:
    await _stored(store)
    writes.clear()
    grown = attrs.evolve(STORED, alert_count=3, last_event_at=at(7))
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        assert await uow.incidents.open_sessions("acme", KEY, at(0), at(9)) == [STORED]
        await uow.incidents.update(grown)
        await uow.commit()
    assert writes == [("update alert_count,last_event_at", 1)]
    assert await _get(store) == grown


async def test_an_unchanged_incident_writes_nothing(
    store: SqlStore, writes: list[tuple[str, int]]
) -> None:
    await _stored(store)
    writes.clear()
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        await uow.incidents.open_for_key("acme", KEY)
        await uow.incidents.update(STORED)
        await uow.commit()
    assert writes == []
    assert await _get(store) == STORED


async def test_an_incident_not_read_first_is_upserted_whole(
    store: SqlStore, writes: list[tuple[str, int]]
) -> None:
    await _stored(store)
    writes.clear()
    closed = attrs.evolve(STORED, status=IncidentStatus.RESOLVED)
    async with store() as uow:
        await uow.incidents.update(closed)
        await uow.commit()
    assert writes == [("upsert", 1)]
    assert await _get(store) == closed


async def test_writes_on_both_sides_of_a_flush_each_compare_with_what_is_stored(
    store: SqlStore, writes: list[tuple[str, int]]
) -> None:
    # The second write puts the severity back to the stored value: compared with the row the
    # first write flushed (critical), not with the one read (high), it must be written.
    await _stored(store)
    writes.clear()
    raised = attrs.evolve(STORED, severity=Severity.CRITICAL, alert_count=3)
    lowered = attrs.evolve(raised, severity=Severity.HIGH, alert_count=4)
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        await uow.incidents.open_for_key("acme", KEY)
        await uow.incidents.update(raised)
        await uow.incidents.list(IncidentQuery())  # a list reads the table: it flushes first
        await uow.incidents.update(lowered)
        await uow.commit()
    assert writes == [("update alert_count,severity", 1), ("update alert_count,severity", 1)]
    assert await _get(store) == lowered


async def test_a_rolled_back_unit_of_work_leaves_the_stored_incident(
    store: SqlStore, writes: list[tuple[str, int]]
) -> None:
    await _stored(store)
    async with store() as uow:
        await uow.incidents.lock_key("acme", KEY)
        await uow.incidents.open_for_key("acme", KEY)
        await uow.incidents.update(attrs.evolve(STORED, alert_count=9))
        await uow.incidents.list(IncidentQuery())
    assert await _get(store) == STORED


async def test_sqlite_refuses_an_update_of_a_row_it_does_not_hold(tmp_path: Path) -> None:
    async with sqlite_store(tmp_path) as store:
        async with store() as uow:
            ghost = attrs.evolve(STORED, id="ghost")
            uow.buffer_incident(attrs.evolve(ghost, alert_count=5), stored=ghost)
            with pytest.raises(RuntimeError, match="matched 0 of 1"):
                await uow.commit()
        assert await _get(store, "ghost") is None


# --- the column diff itself -----------------------------------------------------------------

_TIMES = st.sampled_from([at(0), at(3), at(5), at(9)])
_ENTRY = st.builds(
    TimelineEntry, at=_TIMES, kind=st.sampled_from(["opened", "assigned", "note"]),
    detail=st.sampled_from(["", "u-1", "u-2"]),
)  # fmt: skip
_CHANGES = st.fixed_dictionaries({}, optional={
    "severity": st.sampled_from(list(Severity)),
    "status": st.sampled_from(list(IncidentStatus)),
    "alert_count": st.integers(1, 5),
    "tool_sources": st.frozensets(st.sampled_from(["Datadog", "Zabbix", "Prometheus"])),
    "first_event_at": _TIMES,
    "last_event_at": _TIMES,
    "firing_fingerprints": st.frozensets(st.sampled_from(["", "fp", "fp2"])),
    "resolution": st.sampled_from([None, *Resolution]),
    "resolved_at": st.sampled_from([None, at(9)]),
    "assigned_to": st.sampled_from([None, "u-1", "u-2"]),
    "notes": st.lists(st.builds(Note, author_id=st.just("u-1"), author_name=st.just("Ann"),
                                text=st.sampled_from(["a", "b"]), created_at=_TIMES),
                      max_size=2).map(tuple),
    "timeline": st.lists(_ENTRY, max_size=3).map(tuple),
    "merged_into": st.sampled_from([None, "inc-2"]),
    "in_maintenance": st.booleans(),
})  # fmt: skip


@given(before=_CHANGES, after=_CHANGES)
# Reassigned to the same user: only the timeline changes, and the derived column with it.
@example(before={"assigned_to": "u-1"}, after={"timeline": (TimelineEntry(at(9), "assigned"),)})
def test_the_changed_columns_turn_the_stored_row_into_the_new_one(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    stored = attrs.evolve(STORED, **before)
    new = attrs.evolve(stored, **after)
    columns, params = incident_changes(new, stored)
    row = incident_row(stored)
    for column in columns:
        assert row[column] != params[f"v_{column}"], column  # only what differs is written
        row[column] = params[f"v_{column}"]
    assert params["id"] == new.id
    assert row == incident_row(new)
