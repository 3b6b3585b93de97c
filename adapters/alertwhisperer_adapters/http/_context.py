"""What the HTTP app is given: the core's ports plus what only the web edge needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import attrs
from starlette.requests import Request

from alertwhisperer_core.ports import PatchComplianceSource
from alertwhisperer_core.service import AuthPolicy, PasswordHasher, RemediationRequest, Services

from ..executors import DryRunExecutor, Remediator
from ..realtime import EventFeed, LocalEventFeed, LocalPresence, Presence
from ._metrics import Metrics

__all__ = ["AppServices", "app_services"]


async def _no_remediation(_requests: Sequence[RemediationRequest]) -> None:
    # The remediation issue plugs the runbook executor in here.
    return None


async def _always_ready() -> None:
    return None


def _no_aws_clients(_company_id: str) -> None:
    return None


@attrs.frozen
class AppServices:
    """Everything ``create_app`` needs, assembled by a composition root (``bootstrap``).

    ``startup`` runs when the server starts (before the first request: open connections,
    create the first admin); ``ping`` raises when the store is unreachable (``/readyz``);
    ``on_remediations`` runs after a webhook's unit of work committed, with the low-risk
    runbooks cleared to run; ``remediator`` runs executions (a dry run unless the composition
    root configures a real executor); ``compliance_source`` answers patch-compliance syncs
    (AWS Systems Manager when a region is configured, else None); ``close`` releases the
    store when the app shuts down.

    Real time (``/ws``): ``feed`` carries events to WebSocket connections (the app starts it
    after ``startup`` and closes it before ``close``; when it is not ``services.events`` itself,
    the app publishes to both); ``presence`` knows who is connected; a connection hears a
    heartbeat every ``heartbeat_seconds`` and is dropped when one frame to it takes longer
    than ``ws_send_timeout`` seconds.
    """

    services: Services
    hasher: PasswordHasher
    secret_key: bytes = attrs.field(repr=False)
    public_url: str
    auth_policy: AuthPolicy = attrs.field(factory=AuthPolicy)
    metrics: Metrics = attrs.field(factory=Metrics)
    ping: Callable[[], Awaitable[None]] = _always_ready
    on_remediations: Callable[[Sequence[RemediationRequest]], Awaitable[None]] = _no_remediation
    # Runs executions started over HTTP; the composition root picks the executor.
    remediator: Remediator = attrs.field(factory=lambda: Remediator(DryRunExecutor()))
    # Where patch compliance is synced from; None: sync answers 503 (AWS not configured).
    compliance_source: PatchComplianceSource | None = None
    # Called with a company id after its AWS credentials changed (drops cached AWS clients).
    on_aws_credentials_changed: Callable[[str], None] = _no_aws_clients
    startup: Callable[[], Awaitable[None]] | None = None
    close: Callable[[], Awaitable[None]] | None = None
    # Raises when Redis is unreachable (``/readyz``); None: no Redis configured.
    redis_ping: Callable[[], Awaitable[None]] | None = None
    feed: EventFeed = attrs.field(factory=LocalEventFeed)
    presence: Presence = attrs.field(factory=LocalPresence)
    heartbeat_seconds: float = 15.0
    ws_send_timeout: float = 30.0

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when the public URL is HTTPS (a plain-HTTP dev server
        could not set them otherwise)."""
        return self.public_url.lower().startswith("https://")


def app_services(request: Request) -> AppServices:
    """The app's services, put in the request state by the lifespan."""
    services: AppServices = request.state.services
    return services
