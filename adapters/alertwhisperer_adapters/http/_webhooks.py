"""``POST /api/webhooks/alerts``: read the body (bounded), hand it to ``ingest_webhook``.

Everything SPEC §5 asks (key, rate limit, signature, idempotency, normalization, correlation)
is the use case's; this handler only reads bytes, counts outcomes for ``/metrics`` and, once the
delivery is committed and answered, hands low-risk runbooks to the remediation hook.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core import (
    AlertWhispererError,
    AuthenticationFailed,
    MalformedPayload,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    SignatureRejected,
    ValidationError,
)
from alertwhisperer_core.service import (
    RemediationRequest,
    WebhookRequest,
    ingest_webhook,
)

from ._context import AppServices, app_services
from ._io import TextParam, header_map, json_response, query_map, read_body
from ._routing import AUTH_API_KEY, Endpoint
from ._views import GenericAlertIn, WebhookOut

__all__ = ["ENDPOINTS", "rejection_reason"]

logger = logging.getLogger("alertwhisperer.webhooks")

API_KEY = TextParam("api_key", "The company's API key (or send X-API-Key).", 200)
SOURCE = TextParam(
    "source",
    "Payload format, overriding detection: generic, alertmanager, datadog, zabbix, cloudwatch.",
    50,
)


def rejection_reason(exc: AlertWhispererError) -> str:
    """The ``reason`` label of a rejected delivery (a fixed set, never client text)."""
    if isinstance(exc, PayloadTooLarge):
        return "too_large"
    if isinstance(exc, SignatureRejected):
        return "signature"
    if isinstance(exc, AuthenticationFailed):
        return "api_key"
    if isinstance(exc, MalformedPayload):
        return "malformed"
    if isinstance(exc, ValidationError):
        return "invalid"
    if isinstance(exc, ServiceUnavailable):
        return "unavailable"
    return "other"


async def _remediate(app: AppServices, requests: Sequence[RemediationRequest]) -> None:
    try:
        await app.on_remediations(requests)
    except Exception:
        # The delivery is committed and answered; a failing hook must not pretend otherwise.
        logger.exception("remediation hook failed for %d incident(s)", len(requests))


async def receive_alerts(request: Request) -> Response:
    app = app_services(request)
    try:
        body = await read_body(request)
        outcome = await ingest_webhook(
            app.services,
            WebhookRequest(
                body=body,
                headers=header_map(request),
                query=query_map(request),
            ),
        )
    except RateLimited as exc:
        app.metrics.throttled.inc(str(exc.status))
        raise
    except AlertWhispererError as exc:
        app.metrics.rejected.inc(rejection_reason(exc))
        raise
    if outcome.body.get("duplicate"):
        app.metrics.duplicates.inc()
    for source, count in Counter(a.source for a in outcome.alerts).items():
        app.metrics.alerts_ingested.inc(source, amount=count)
    background = None
    if outcome.remediations:
        background = BackgroundTask(_remediate, app, outcome.remediations)
    return json_response(outcome.body, outcome.status, outcome.headers, background)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/api/webhooks/alerts",
        receive_alerts,
        "Receive alerts from any tool",
        "webhooks",
        auth=AUTH_API_KEY,
        # Documents the generic format; the handler takes every sender's bytes as they are.
        body=GenericAlertIn,
        query=(API_KEY, SOURCE),
        status=202,
        response=WebhookOut,
        errors=(200, 401, 413, 429, 503),
        description="Generic JSON, Alertmanager v4, Datadog, Zabbix or CloudWatch via SNS, "
        "detected from the payload. Checks in order: size (1 MiB), API key, rate limit "
        "(429, or 503 for Alertmanager and Datadog, with Retry-After and X-RateLimit-*), "
        "HMAC signature when enabled (X-Timestamp, X-Signature), idempotency (X-Delivery-ID "
        "or the source's id: a repeat answers 200 with duplicate true), then parsing "
        "(400 malformed JSON, 422 naming the field).",
    ),
)
