"""A company's own AWS credentials (issue #5): set, show (never a secret), clear.

Company admins of the company and MSP admins manage them (:data:`Action.MANAGE_CLOUD_
CREDENTIALS`); technicians get a 403, other tenants a 404. Setting and clearing are audited as
``aws_credentials_set`` and ``aws_credentials_cleared`` with the region, the kind and the key
id's last four characters or the role ARN: no secret is ever written to the audit log.

:func:`company_aws_credentials` is the system's read (no actor), for the adapters that make a
company's AWS clients (the SSM executor, the patch-compliance source).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from .._cloud_credentials import AwsCredentials, aws_credentials, aws_credentials_summary
from .._models import User
from .._rbac import Action
from ._access import audit, load_company
from ._services import Services

__all__ = [
    "AwsCredentialsInput",
    "clear_aws_credentials",
    "company_aws_credentials",
    "get_aws_credentials",
    "set_aws_credentials",
]

_Field = Annotated[str, Meta(max_length=2048)]
_Token = Annotated[str, Meta(max_length=8192)]


class AwsCredentialsInput(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``PUT /api/companies/{id}/aws-credentials``: ``region`` and either an access key
    (``access_key_id``, ``secret_access_key``, ``session_token`` for temporary keys) or a role
    to assume (``role_arn``, ``external_id``)."""

    region: _Field
    access_key_id: _Field | None = None
    secret_access_key: _Field | None = None
    session_token: _Token | None = None
    role_arn: _Field | None = None
    external_id: _Field | None = None


def _audit_details(credentials: AwsCredentials | None) -> dict[str, Any]:
    summary = aws_credentials_summary(credentials)
    return {
        "region": summary["region"],
        "kind": summary["kind"],
        "access_key_id_last4": summary["access_key_id_last4"],
        "role_arn": summary["role_arn"],
    }


async def set_aws_credentials(
    services: Services, actor: User, company_id: str, given: AwsCredentialsInput
) -> dict[str, Any]:
    """Store the company's AWS credentials (replacing any); answers their summary.

    422 naming the field for a bad value (nothing stored); audited as
    ``aws_credentials_set``.
    """
    now = services.clock.now()
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.MANAGE_CLOUD_CREDENTIALS, company_id)
        credentials = aws_credentials(msgspec.structs.asdict(given), now)
        await uow.companies.set_aws_credentials(company.id, credentials)
        details = _audit_details(credentials)
        await audit(services, uow, actor, "aws_credentials_set", now, company.id, details)
        await uow.commit()
    return aws_credentials_summary(credentials)


async def get_aws_credentials(services: Services, actor: User, company_id: str) -> dict[str, Any]:
    """The summary of the company's AWS credentials (``configured: false`` when none)."""
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.MANAGE_CLOUD_CREDENTIALS, company_id)
        return aws_credentials_summary(await uow.companies.aws_credentials(company.id))


async def clear_aws_credentials(services: Services, actor: User, company_id: str) -> bool:
    """Forget the company's AWS credentials; True when there were some (then audited as
    ``aws_credentials_cleared``), False when there were none (nothing written)."""
    now = services.clock.now()
    async with services.uow() as uow:
        company = await load_company(uow, actor, Action.MANAGE_CLOUD_CREDENTIALS, company_id)
        previous = await uow.companies.aws_credentials(company.id)
        if previous is None:
            return False
        await uow.companies.set_aws_credentials(company.id, None)
        details = _audit_details(previous)
        await audit(services, uow, actor, "aws_credentials_cleared", now, company.id, details)
        await uow.commit()
    return True


async def company_aws_credentials(services: Services, company_id: str) -> AwsCredentials | None:
    """The company's own AWS credentials, for the server's use (never for an answer)."""
    async with services.uow() as uow:
        return await uow.companies.aws_credentials(company_id)
