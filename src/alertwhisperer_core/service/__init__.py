"""Use cases: orchestration over ports. No I/O of its own; adapters stay thin."""

from ._ingest import MAX_BODY_BYTES, WebhookOutcome, WebhookRequest, ingest_webhook
from ._services import RemediationRequest, Services

__all__ = [
    "MAX_BODY_BYTES",
    "RemediationRequest",
    "Services",
    "WebhookOutcome",
    "WebhookRequest",
    "ingest_webhook",
]
