"""The bundle of ports a use case needs, assembled once by a composition root."""

from __future__ import annotations

import attrs

from .._models import Incident, Runbook
from ..ports import (
    Clock,
    DeliveryCache,
    EventBus,
    IdSource,
    RateLimiter,
    ReplayGuard,
    UnitOfWorkFactory,
)

__all__ = ["RemediationRequest", "Services"]


@attrs.frozen
class Services:
    uow: UnitOfWorkFactory
    rate_limiter: RateLimiter
    replay_guard: ReplayGuard
    events: EventBus
    clock: Clock
    ids: IdSource
    # A shared pre-check of delivery ids in front of the store (Redis); None: the store only.
    deliveries: DeliveryCache | None = None


@attrs.frozen
class RemediationRequest:
    """A low-risk runbook cleared to run automatically for a new incident (after commit)."""

    incident: Incident
    runbook: Runbook
