"""Schemathesis fuzzes every operation of ``/openapi.json``: no answer may be a 5xx.

Requests go in process (ASGI) as the MSP admin, who may call everything, so the fuzzer
reaches past authentication into the handlers. Examples per operation are bounded to keep the
whole file well under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from alertwhisperer_adapters.http import create_app
from alertwhisperer_core import InstancePatchState

from ..support.api import build_world, restore_token


class _Fleet:
    """Patch Manager's answer: a server without AWS answers sync with a 503 by design."""

    async def instance_states(self, company_id: str) -> list[InstancePatchState]:
        return [InstancePatchState("i-fuzz", missing=1)]


WORLD, TENANTS, SERVICES, _ = build_world(compliance_source=_Fleet())
APP = create_app(SERVICES)
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)
HEADERS = {"Authorization": "Bearer tok-msp"}
ACME = TENANTS["co-acme"]
# The webhook posts to the other tenant, whose key and settings no fuzzed operation changes.
GLOBEX = TENANTS["co-globex"]
# Real ids for path parameters, so the fuzzed bodies reach the use cases instead of a 404.
# DELETE keeps the fuzzer's ids (deleting the tenant would leave nothing to fuzz), and so do
# key regeneration and HMAC enabling (they would lock the webhook out).
KEEP_FUZZED = ("/api-key/regenerate", "/hmac/enable")
REAL_IDS = {
    "/api/companies/": ACME.company_id,
    "/api/users/": ACME.tech2,
    "/api/incidents/": ACME.incident_id,
}


def _aim(case: schemathesis.Case[Any]) -> None:
    path = case.operation.path
    aimed = case.method.upper() != "DELETE" and not path.endswith(KEEP_FUZZED)
    if aimed and "id" in case.path_parameters:
        prefix = path[: path.index("{id}")]
        case.path_parameters["id"] = REAL_IDS.get(prefix, case.path_parameters["id"])
        if "asset_id" in case.path_parameters:
            case.path_parameters["asset_id"] = ACME.asset_id
    if aimed and "company_id" in case.path_parameters:  # the chat routes
        case.path_parameters["company_id"] = ACME.company_id
    if path == "/api/webhooks/alerts" and isinstance(case.query, dict):
        case.query["api_key"] = GLOBEX.api_key


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_a_server_error(case: schemathesis.Case[Any]) -> None:
    _aim(case)
    try:
        case.call_and_validate(headers=HEADERS, checks=[not_a_server_error])
    finally:
        # The fuzzer may log the admin out or lock things; every example starts signed in.
        restore_token(WORLD, "msp")
