"""``/api/companies/{id}/aws-credentials``: a company's own AWS credentials (issue #5).

``PUT`` stores them (encrypted at rest), ``GET`` shows whether they are set, the region, the
key id's last four characters or the role ARN and when they were set, ``DELETE`` forgets them.
No answer carries a secret. After a change the app's ``on_aws_credentials_changed`` hook drops
the company's cached AWS clients in this process (other processes notice within their cache's
TTL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from alertwhisperer_core.service import (
    AwsCredentialsInput,
    clear_aws_credentials,
    decode_command,
    get_aws_credentials,
    set_aws_credentials,
)

from ._auth import authenticate
from ._context import app_services
from ._io import json_response, read_body
from ._routing import Endpoint

__all__ = ["ENDPOINTS", "AwsCredentialsOut"]

_NO_STORE = {"Cache-Control": "no-store"}


class AwsCredentialsOut(msgspec.Struct, frozen=True):
    configured: bool
    kind: Literal["access_key", "role"] | None
    region: str | None
    access_key_id_last4: str | None
    role_arn: str | None
    updated_at: datetime | None


def _out(summary: dict[str, Any]) -> AwsCredentialsOut:
    return AwsCredentialsOut(**summary)


async def aws_credentials_get(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    summary = await get_aws_credentials(app.services, actor, request.path_params["id"])
    return json_response(_out(summary), 200, _NO_STORE)


async def aws_credentials_put(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    given = decode_command(await read_body(request), AwsCredentialsInput)
    company_id = request.path_params["id"]
    summary = await set_aws_credentials(app.services, actor, company_id, given)
    app.on_aws_credentials_changed(company_id)
    return json_response(_out(summary), 200, _NO_STORE)


async def aws_credentials_delete(request: Request) -> Response:
    app = app_services(request)
    actor = (await authenticate(request)).user
    company_id = request.path_params["id"]
    if await clear_aws_credentials(app.services, actor, company_id):
        app.on_aws_credentials_changed(company_id)
    return Response(status_code=204)


_PATH = "/api/companies/{id}/aws-credentials"
_WHO = "Company admins of the company and MSP admins (technicians: 403). "
ENDPOINTS = (
    Endpoint("GET", _PATH, aws_credentials_get, "Show a company's AWS credentials (no secret)",
             "companies", response=AwsCredentialsOut,
             description=_WHO + "Whether the company has its own AWS credentials, their region, "
             "the access key id's last 4 characters or the role ARN, and when they were set. "
             "Never a secret."),
    Endpoint("PUT", _PATH, aws_credentials_put, "Set a company's AWS credentials", "companies",
             body=AwsCredentialsInput, response=AwsCredentialsOut,
             description=_WHO + "region, and either access_key_id + secret_access_key "
             "(+ session_token, required for temporary ASIA keys) or role_arn (+ external_id) "
             "for the server to assume through STS. A malformed value is a 422 naming the "
             "field, and nothing is stored. Stored encrypted; used by the SSM executor and the "
             "patch-compliance sync for this company instead of the server's own credentials. "
             "Audited as aws_credentials_set (no secret in the audit log)."),
    Endpoint("DELETE", _PATH, aws_credentials_delete, "Forget a company's AWS credentials",
             "companies", status=204,
             description=_WHO + "The company falls back to the server's AWS credentials "
             "(AW_AWS_REGION), if any. Audited as aws_credentials_cleared when there were "
             "credentials."),
)  # fmt: skip
