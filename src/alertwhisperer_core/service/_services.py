"""The bundle of ports a use case needs, assembled once by a composition root."""

from __future__ import annotations

import attrs

from .._models import Incident, Runbook
from ..ports import Clock, EventBus, IdSource, RateLimiter, ReplayGuard, UnitOfWorkFactory

__all__ = ["RemediationRequest", "Services"]


@attrs.frozen
class Services:
    uow: UnitOfWorkFactory
    rate_limiter: RateLimiter
    replay_guard: ReplayGuard
    events: EventBus
    clock: Clock
    ids: IdSource


@attrs.frozen
class RemediationRequest:
    """A low-risk runbook cleared to run automatically for a new incident (after commit)."""

    incident: Incident
    runbook: Runbook
