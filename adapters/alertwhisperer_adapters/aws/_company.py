"""Patch compliance with each company's own AWS credentials when it has them.

:class:`CompanyPatchSource` is the app's ``PatchComplianceSource``: a company with credentials
of its own (``PUT /api/companies/{id}/aws-credentials``) is synced through an
:class:`SsmPatchSource` on its own client; any other company through ``default`` (the server's
client, from ``AW_AWS_REGION``), and without a default the sync answers 503.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from alertwhisperer_core import InstancePatchState
from alertwhisperer_core.ports import PatchComplianceSource
from alertwhisperer_core.service import ComplianceNotConfigured

from ._patch import SsmPatchSource
from ._sessions import CompanyAwsClients

__all__ = ["NOT_CONFIGURED", "CompanyPatchSource"]

NOT_CONFIGURED = (
    "AWS is not configured for this company: set its AWS credentials "
    "(PUT /api/companies/{id}/aws-credentials), or AW_AWS_REGION and AWS credentials on the "
    "server, to sync patch compliance from AWS Systems Manager"
)


class CompanyPatchSource:
    """Patch states through the company's own client, else through ``default``."""

    def __init__(
        self,
        clients: CompanyAwsClients,
        default: PatchComplianceSource | None = None,
        *,
        source: Callable[[Any], PatchComplianceSource] = SsmPatchSource,
    ) -> None:
        self._clients = clients
        self._default = default
        self._source = source

    async def instance_states(self, company_id: str) -> builtins.list[InstancePatchState]:
        client = await self._clients.client(company_id, "ssm")
        if client is not None:
            return await self._source(client).instance_states(company_id)
        if self._default is None:
            raise ComplianceNotConfigured(NOT_CONFIGURED)
        return await self._default.instance_states(company_id)
