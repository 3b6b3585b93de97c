"""A small in-memory world for use-case tests: services, one or two companies, helpers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from alertwhisperer_core import (
    Company,
    CompanySettings,
    CorrelationSettings,
    Policy,
    RateLimitSettings,
    Role,
    User,
    generate_api_key,
    hash_api_key,
)
from alertwhisperer_core.memory import (
    InMemoryEventBus,
    InMemoryRateLimiter,
    InMemoryReplayGuard,
    InMemoryStore,
    ManualClock,
    SequentialIds,
)
from alertwhisperer_core.service import Services, WebhookOutcome, WebhookRequest, ingest_webhook

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@attrs.define
class World:
    store: InMemoryStore
    clock: ManualClock
    ids: SequentialIds
    events: InMemoryEventBus
    services: Services
    api_keys: dict[str, str] = attrs.field(factory=dict)

    async def add_company(
        self,
        company_id: str = "acme",
        *,
        correlation: CorrelationSettings | None = None,
        rate_limit: RateLimitSettings | None = None,
        policy: Policy | None = None,
        hmac_secrets: tuple[str, ...] = (),
    ) -> Company:
        api_key = generate_api_key(self.ids.token_bytes(32))
        settings = CompanySettings(
            correlation=correlation or CorrelationSettings(),
            rate_limit=rate_limit or RateLimitSettings(requests_per_minute=1000, burst=100_000),
            policy=policy or Policy(),
        )
        company = Company(
            id=company_id,
            name=company_id.title(),
            created_at=self.clock.now(),
            settings=settings,
            api_key_hash=hash_api_key(api_key),
            hmac_enabled=bool(hmac_secrets),
        )
        async with self.store() as uow:
            await uow.companies.add(company)
            if hmac_secrets:
                await uow.companies.set_hmac_secrets(company_id, hmac_secrets)
            await uow.commit()
        self.api_keys[company_id] = api_key
        return company

    async def add_user(self, user_id: str, role: Role, *companies: str) -> User:
        user = User(
            id=user_id,
            email=f"{user_id}@example.test",
            name=user_id,
            role=role,
            company_ids=frozenset(companies),
        )
        async with self.store() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    async def post(
        self,
        payload: Any,
        company_id: str = "acme",
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> WebhookOutcome:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        q = {"api_key": self.api_keys[company_id], **(query or {})}
        return await ingest_webhook(
            self.services, WebhookRequest(body=body, headers=dict(headers or {}), query=q)
        )

    async def counts(self) -> tuple[int, int]:
        return len(self.store.alerts), len(self.store.incidents)


def make_world(start: datetime = T0) -> World:
    store = InMemoryStore()
    clock = ManualClock(start)
    ids = SequentialIds()
    events = InMemoryEventBus()
    services = Services(
        uow=store,
        rate_limiter=InMemoryRateLimiter(),
        replay_guard=InMemoryReplayGuard(),
        events=events,
        clock=clock,
        ids=ids,
    )
    return World(store, clock, ids, events, services)


def generic(
    asset: str = "srv-app-01",
    signature: str = "disk_full",
    *,
    severity: str = "critical",
    at: datetime | None = None,
    status: str = "firing",
    tool: str = "Datadog",
    **extra: Any,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "asset_name": asset,
        "signature": signature,
        "severity": severity,
        "message": f"{signature} on {asset}",
        "tool_source": tool,
        "status": status,
    }
    if at is not None:
        payload["timestamp"] = at.isoformat()
    payload.update(extra)
    return payload


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
