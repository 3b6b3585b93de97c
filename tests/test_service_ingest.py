"""The ingest use case: SPEC §5's gate in order, and what an accepted delivery stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alertwhisperer_core import (
    AuthenticationFailed,
    CorrelationSettings,
    HealthCheck,
    IncidentStatus,
    MalformedPayload,
    NormalizationError,
    PayloadTooLarge,
    Policy,
    RateLimited,
    RateLimitSettings,
    Risk,
    Role,
    Runbook,
    SignatureRejected,
    ValidationError,
    sign_hmac,
)
from alertwhisperer_core.service import MAX_BODY_BYTES

from .support.world import T0, generic, make_world, minutes

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


async def test_accepted_alert_answers_202_with_alert_and_incident_ids() -> None:
    world = make_world()
    await world.add_company()
    outcome = await world.post(generic(at=T0))
    assert outcome.status == 202
    assert outcome.body["duplicate"] is False
    assert len(outcome.body["alert_ids"]) == 1
    assert len(outcome.body["incident_ids"]) == 1
    assert await world.counts() == (1, 1)


async def test_success_carries_rate_limit_headers() -> None:
    world = make_world()
    await world.add_company(rate_limit=RateLimitSettings(requests_per_minute=60, burst=5))
    outcome = await world.post(generic(at=T0))
    assert outcome.headers["X-RateLimit-Limit"] == "60"
    assert outcome.headers["X-RateLimit-Burst"] == "5"
    assert outcome.headers["X-RateLimit-Remaining"] == "4"


async def test_guide_disk_full_example_correlates_three_alerts_into_one_incident() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company()
    ids = set()
    for offset in (0, 2, 5):
        outcome = await world.post(generic(at=T0 + minutes(offset)))
        ids.update(outcome.body["incident_ids"])
    assert len(ids) == 1
    incident = world.store.incidents[ids.pop()]
    assert incident.alert_count == 3
    assert incident.status is IncidentStatus.NEW


async def test_oversized_body_is_413_and_stores_nothing() -> None:
    world = make_world()
    await world.add_company()
    with pytest.raises(PayloadTooLarge):
        await world.post(b"{" + b" " * MAX_BODY_BYTES + b"}")
    assert await world.counts() == (0, 0)


async def test_unknown_api_key_is_401_with_one_message_for_every_failure() -> None:
    world = make_world()
    await world.add_company()
    world.api_keys["acme"] = "aw_wrong"
    with pytest.raises(AuthenticationFailed) as wrong:
        await world.post(generic(at=T0))
    world.api_keys["acme"] = ""
    with pytest.raises(AuthenticationFailed) as missing:
        await world.post(generic(at=T0))
    assert wrong.value.detail == missing.value.detail
    assert await world.counts() == (0, 0)


async def test_api_key_is_accepted_from_the_header_too() -> None:
    world = make_world()
    await world.add_company()
    key = world.api_keys.pop("acme")
    from alertwhisperer_core.service import WebhookRequest, ingest_webhook

    outcome = await ingest_webhook(
        world.services,
        WebhookRequest(
            body=json.dumps(generic(at=T0)).encode(), headers={"x-api-key": key}, query={}
        ),
    )
    assert outcome.status == 202


async def test_throttled_generic_sender_gets_429_with_retry_after() -> None:
    world = make_world()
    await world.add_company(rate_limit=RateLimitSettings(requests_per_minute=60, burst=2))
    await world.post(generic(at=T0))
    await world.post(generic(at=T0))
    with pytest.raises(RateLimited) as throttled:
        await world.post(generic(at=T0))
    assert throttled.value.status == 429
    assert throttled.value.retry_after_seconds == 1
    assert throttled.value.headers["Retry-After"] == "1"
    assert throttled.value.headers["X-RateLimit-Remaining"] == "0"
    assert await world.counts() == (2, 1)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ("alertmanager-webhook-v4-captured.json", {}),
        ("alertmanager-webhook-v4-captured.json", {"user-agent": "Alertmanager/0.25.0"}),
        ("datadog-webhook-triggered.json", {}),
    ],
)
async def test_throttled_sender_that_drops_4xx_gets_503(body: str, headers: dict[str, str]) -> None:
    world = make_world()
    await world.add_company(rate_limit=RateLimitSettings(requests_per_minute=1, burst=1))
    await world.post(generic(at=T0))
    with pytest.raises(RateLimited) as throttled:
        await world.post(fixture(body), headers=headers)
    assert throttled.value.status == 503


async def test_hmac_signed_request_is_accepted_and_its_replay_refused() -> None:
    world = make_world()
    await world.add_company(hmac_secrets=("whsec_" + "A" * 43,))
    body = json.dumps(generic(at=T0)).encode()
    ts = int(T0.timestamp())
    headers = {"x-timestamp": str(ts), "x-signature": sign_hmac("whsec_" + "A" * 43, body, ts)}
    assert (await world.post(body, headers=headers)).status == 202
    with pytest.raises(SignatureRejected) as replay:
        await world.post(body, headers=headers)
    assert replay.value.reason == "replay"
    assert await world.counts() == (1, 1)


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "missing"])
async def test_bad_hmac_is_401_and_stores_nothing(tamper: str) -> None:
    world = make_world()
    secret = "whsec_" + "B" * 43
    await world.add_company(hmac_secrets=(secret,))
    body = json.dumps(generic(at=T0)).encode()
    ts = int(T0.timestamp()) - (301 if tamper == "stale" else 0)
    signature = sign_hmac("other-secret" if tamper == "secret" else secret, body, ts)
    headers = {} if tamper == "missing" else {"x-timestamp": str(ts), "x-signature": signature}
    sent = body.replace(b"critical", b"low") if tamper == "body" else body
    with pytest.raises(SignatureRejected):
        await world.post(sent, headers=headers)
    assert await world.counts() == (0, 0)


async def test_signature_of_a_rejected_delivery_can_be_retried() -> None:
    world = make_world()
    secret = "whsec_" + "C" * 43
    await world.add_company(hmac_secrets=(secret,), correlation=CorrelationSettings())
    body = b'{"asset_name": "a", "signature": "s", "severity": "bogus"}'
    ts = int(T0.timestamp())
    headers = {"x-timestamp": str(ts), "x-signature": sign_hmac(secret, body, ts)}
    for _ in range(2):  # the second attempt is not mistaken for a replay
        with pytest.raises(NormalizationError):
            await world.post(body, headers=headers)


async def test_repeated_delivery_id_returns_the_first_result_and_stores_nothing_new() -> None:
    world = make_world()
    await world.add_company()
    first = await world.post(generic(at=T0), headers={"x-delivery-id": "abc"})
    second = await world.post(generic(at=T0), headers={"x-delivery-id": "abc"})
    assert second.status == 200
    assert second.body == {**first.body, "duplicate": True}
    assert await world.counts() == (1, 1)


async def test_delivery_ids_are_per_company() -> None:
    world = make_world()
    await world.add_company("acme")
    await world.add_company("globex")
    await world.post(generic(at=T0), "acme", headers={"x-delivery-id": "same"})
    other = await world.post(generic(at=T0), "globex", headers={"x-delivery-id": "same"})
    assert other.status == 202


async def test_delivery_id_expires_after_24_hours() -> None:
    world = make_world()
    await world.add_company()
    await world.post(generic(at=T0), headers={"x-delivery-id": "abc"})
    world.clock.advance(minutes(24 * 60 + 1))
    again = await world.post(generic(at=T0 + minutes(24 * 60)), headers={"x-delivery-id": "abc"})
    assert again.status == 202


async def test_source_stable_id_deduplicates_without_a_header() -> None:
    world = make_world()
    await world.add_company()
    first = await world.post(fixture("datadog-webhook-triggered.json"))
    again = await world.post(fixture("datadog-webhook-triggered.json"))
    assert first.status == 202
    assert again.status == 200
    assert again.body["duplicate"] is True


async def test_overlong_delivery_id_header_is_422() -> None:
    world = make_world()
    await world.add_company()
    with pytest.raises(ValidationError) as bad:
        await world.post(generic(at=T0), headers={"x-delivery-id": "x" * 300})
    assert bad.value.errors[0]["field"] == "X-Delivery-ID"


async def test_malformed_json_is_400_and_stores_nothing() -> None:
    world = make_world()
    await world.add_company()
    with pytest.raises(MalformedPayload):
        await world.post(b"{not json")
    assert await world.counts() == (0, 0)


async def test_batch_with_one_bad_alert_stores_none_of_it() -> None:
    world = make_world()
    await world.add_company()
    payload = json.loads(fixture("alertmanager-webhook-v4-mixed.json"))
    payload["alerts"][1]["startsAt"] = "yesterday"
    with pytest.raises(NormalizationError) as bad:
        await world.post(payload)
    assert "alerts[1]" in bad.value.field
    assert await world.counts() == (0, 0)


async def test_alertmanager_resolution_resolves_the_incident_as_source_recovered() -> None:
    world = make_world()
    await world.add_company()
    fired = await world.post(fixture("alertmanager-webhook-v4-captured.json"))
    resolved = await world.post(fixture("alertmanager-webhook-v4-captured-resolved.json"))
    incident = world.store.incidents[fired.body["incident_ids"][0]]
    assert resolved.body["incident_ids"] == fired.body["incident_ids"]
    assert incident.status is IncidentStatus.RESOLVED
    assert incident.resolution == "source_recovered"


async def test_alert_after_resolution_opens_a_new_incident() -> None:
    world = make_world(T0 + minutes(30))
    await world.add_company()
    first = await world.post(generic(at=T0))
    await world.post(generic(at=T0 + minutes(1), status="resolved"))
    later = await world.post(generic(at=T0 + minutes(2)))
    assert later.body["incident_ids"] != first.body["incident_ids"]


async def test_late_alert_bridging_two_incidents_merges_them() -> None:
    world = make_world(T0 + minutes(60))
    await world.add_company(correlation=CorrelationSettings(window_minutes=10))
    early = await world.post(generic(at=T0))
    late = await world.post(generic(at=T0 + minutes(18)))
    assert early.body["incident_ids"] != late.body["incident_ids"]
    bridge = await world.post(generic(at=T0 + minutes(9)))
    survivor, absorbed = early.body["incident_ids"][0], late.body["incident_ids"][0]
    assert bridge.body["incident_ids"] == [survivor]
    assert world.store.incidents[absorbed].merged_into == survivor
    assert world.store.incidents[survivor].alert_count == 3
    assert len(world.store.alerts_by_incident[survivor]) == 3


async def test_min_alerts_keeps_a_group_pending_until_reached() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company(correlation=CorrelationSettings(min_alerts=3))
    await world.add_user("tech", Role.TECHNICIAN, "acme")
    for offset in (0, 1):
        outcome = await world.post(generic(at=T0 + minutes(offset)))
    incident = world.store.incidents[outcome.body["incident_ids"][0]]
    assert incident.status is IncidentStatus.PENDING
    assert incident.assigned_to is None
    await world.post(generic(at=T0 + minutes(2)))
    incident = world.store.incidents[incident.id]
    assert incident.status is IncidentStatus.NEW
    assert incident.assigned_to == "tech"


async def test_auto_correlate_off_makes_every_alert_its_own_incident() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company(correlation=CorrelationSettings(auto_correlate=False))
    a = await world.post(generic(at=T0))
    b = await world.post(generic(at=T0 + minutes(1)))
    assert a.body["incident_ids"] != b.body["incident_ids"]


async def test_new_incident_goes_to_the_least_loaded_technician() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company()
    await world.add_user("t1", Role.TECHNICIAN, "acme")
    await world.add_user("t2", Role.TECHNICIAN, "acme")
    await world.add_user("other", Role.TECHNICIAN, "globex")
    assigned = []
    for n in range(4):
        outcome = await world.post(generic(asset=f"srv-{n}", at=T0))
        assigned.append(world.store.incidents[outcome.body["incident_ids"][0]].assigned_to)
    assert sorted(assigned) == ["t1", "t1", "t2", "t2"]
    assert [e.action for e in world.store.audit].count("incident_assigned") == 4


async def test_incident_inside_a_maintenance_window_is_flagged_and_not_assigned() -> None:
    world = make_world(T0 + minutes(10))  # 2026-11-26 is a Thursday
    await world.add_company(policy=Policy(maintenance_windows=("Thu 11:00-13:00",)))
    await world.add_user("tech", Role.TECHNICIAN, "acme")
    outcome = await world.post(generic(at=T0))
    incident = world.store.incidents[outcome.body["incident_ids"][0]]
    assert incident.in_maintenance is True
    assert incident.assigned_to is None


async def _add_runbook(world, risk: Risk) -> Runbook:  # type: ignore[no-untyped-def]
    runbook = Runbook(
        id=f"rb-{risk}",
        name="Clean old logs",
        signature="disk_*",
        risk=risk,
        actions=("find /var/log -mtime +7 -delete",),
        health_check=HealthCheck(kind="command", command="df -h /"),
    )
    async with world.store() as uow:
        await uow.runbooks.add(runbook)
        await uow.commit()
    return runbook


async def test_low_risk_runbook_is_queued_to_run_automatically() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company()
    await world.add_user("tech", Role.TECHNICIAN, "acme")
    runbook = await _add_runbook(world, Risk.LOW)
    outcome = await world.post(generic(at=T0))
    assert [r.runbook.id for r in outcome.remediations] == [runbook.id]
    assert world.store.incidents[outcome.body["incident_ids"][0]].assigned_to is None


async def test_medium_risk_runbook_creates_an_approval_request_and_assigns() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company()
    await world.add_user("tech", Role.TECHNICIAN, "acme")
    await _add_runbook(world, Risk.MEDIUM)
    outcome = await world.post(generic(at=T0))
    assert outcome.remediations == ()
    (approval,) = world.store.approvals.values()
    assert approval.status == "pending"
    assert approval.incident_id == outcome.body["incident_ids"][0]
    assert "approval_requested" in [e.action for e in world.store.audit]
    assert world.store.incidents[approval.incident_id].assigned_to == "tech"


async def test_low_risk_runbook_needs_approval_when_policy_disables_auto_approval() -> None:
    world = make_world(T0 + minutes(10))
    await world.add_company(policy=Policy(auto_approve_low_risk=False))
    await _add_runbook(world, Risk.LOW)
    outcome = await world.post(generic(at=T0))
    assert outcome.remediations == ()
    assert len(world.store.approvals) == 1


async def test_events_are_published_after_commit() -> None:
    world = make_world()
    await world.add_company()
    await world.post(generic(at=T0))
    kinds = [e.type for e in world.events.published]
    assert kinds == ["alert.created", "incident.created"]
    assert all(e.company_id == "acme" for e in world.events.published)


async def test_sns_subscription_confirmation_is_recorded_not_fetched() -> None:
    world = make_world()
    await world.add_company()
    outcome = await world.post(fixture("cloudwatch-sns-subscription-confirmation.json"))
    assert outcome.status == 202
    assert outcome.body["alert_ids"] == []
    assert outcome.body["subscription"]["confirm_url"].startswith("https://sns.")
    assert [e.action for e in world.store.audit] == ["sns_subscription_received"]


class _ConflictingStore:
    """Wraps a store so the first ``conflicts`` storing units of work lose a race at commit."""

    def __init__(self, store, conflicts: int) -> None:  # type: ignore[no-untyped-def]
        self.store = store
        self.conflicts = conflicts

    def __call__(self):  # type: ignore[no-untyped-def]
        uow = self.store()
        outer = self

        class Conflicting(type(uow)):  # type: ignore[misc]
            async def commit(self) -> None:
                if outer.conflicts > 0:
                    outer.conflicts -= 1
                    from alertwhisperer_core.ports import TransientConflict

                    raise TransientConflict("write conflict")
                await super().commit()

        uow.__class__ = Conflicting
        return uow


async def test_a_unit_of_work_that_loses_a_race_is_retried() -> None:
    import attrs

    world = make_world()
    await world.add_company()
    world.services = attrs.evolve(world.services, uow=_ConflictingStore(world.store, 2))
    outcome = await world.post(generic(at=T0))
    assert outcome.status == 202
    assert await world.counts() == (1, 1)


async def test_endless_conflicts_give_up_and_store_nothing() -> None:
    import attrs

    from alertwhisperer_core.ports import TransientConflict

    world = make_world()
    await world.add_company()
    world.services = attrs.evolve(world.services, uow=_ConflictingStore(world.store, 100))
    with pytest.raises(TransientConflict):
        await world.post(generic(at=T0))
    assert await world.counts() == (0, 0)


def _alertmanager_batch(alerts: list[tuple[str, int]]) -> dict[str, object]:
    """An Alertmanager v4 payload: one firing alert per (instance, minutes after T0)."""
    return {
        "version": "4",
        "groupKey": "g",
        "alerts": [
            {
                "status": "firing",
                "startsAt": (T0 + minutes(at)).isoformat(),
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": f"{n:016x}",
                "labels": {"alertname": "disk_full", "instance": f"{host}:9100"},
                "annotations": {"summary": "disk full"},
            }
            for n, (host, at) in enumerate(alerts)
        ],
    }


async def test_a_batch_reads_each_keys_sessions_and_the_technicians_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alertwhisperer_core.memory import _store

    world = make_world(T0 + minutes(60))
    await world.add_company()
    await world.add_user("t1", Role.TECHNICIAN, "acme")
    earlier = await world.post(generic(asset="srv-a", at=T0))
    reads: list[list[str]] = []
    user_lists: list[object] = []
    open_sessions = _store._Incidents.open_sessions_of_keys
    list_users = _store._Users.list

    async def counting_sessions(self, company_id, ranges):  # type: ignore[no-untyped-def]
        reads.append(sorted(ranges))
        return await open_sessions(self, company_id, ranges)

    async def counting_users(self, company_ids=None):  # type: ignore[no-untyped-def]
        user_lists.append(company_ids)
        return await list_users(self, company_ids)

    monkeypatch.setattr(_store._Incidents, "open_sessions_of_keys", counting_sessions)
    monkeypatch.setattr(_store._Users, "list", counting_users)
    batch = [("srv-a", 1), ("srv-b", 1), ("srv-a", 2), ("srv-b", 3), ("srv-a", 4), ("srv-c", 5)]
    outcome = await world.post(
        _alertmanager_batch(batch), headers={"user-agent": "Alertmanager/0.25.0"}
    )
    assert outcome.status == 202
    # One read for the whole delivery, not one per key or alert; srv-a's alerts join the
    # incident stored before.
    assert reads == [["srv-a|disk_full", "srv-b|disk_full", "srv-c|disk_full"]]
    incident_ids = outcome.body["incident_ids"]
    assert incident_ids[0] == earlier.body["incident_ids"][0]
    assert [world.store.incidents[i].alert_count for i in incident_ids] == [4, 2, 1]
    # srv-b and srv-c opened incidents, both routed from one read of the technicians.
    assert user_lists == [frozenset({"acme"})]
    assert all(world.store.incidents[i].assigned_to == "t1" for i in incident_ids)
