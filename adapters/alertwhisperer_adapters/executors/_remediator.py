"""What the server does with executions: run them with the configured executor and probe.

:func:`remediator_from_env` picks the executor (``docs/remediation.md``): SSM when
``AW_AWS_REGION`` is set, the local executor only when ``AW_LOCAL_EXECUTOR=1`` (never as root
unless ``AW_LOCAL_EXECUTOR_ALLOW_ROOT=1`` too), and a dry run otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from alertwhisperer_core.ports import HttpProbe, RunbookExecutor
from alertwhisperer_core.service import (
    RemediationRequest,
    Services,
    create_auto_execution,
    run_execution,
)

from ._dry_run import DryRunExecutor
from ._local import LocalExecutor
from ._probe import DirectHttpProbe, ExecutorHttpProbe

__all__ = ["Remediator", "remediator_from_env"]

logger = logging.getLogger("alertwhisperer.remediation")


class Remediator:
    """An executor, the probe for its ``http`` health checks, and whether it only pretends."""

    def __init__(self, executor: RunbookExecutor, probe: HttpProbe | None = None) -> None:
        self.executor = executor
        self.probe = probe
        self.dry_run = isinstance(executor, DryRunExecutor)

    async def run(self, services: Services, execution_id: str) -> None:
        """Run one pending execution to its end (errors are logged: the caller has answered)."""
        try:
            await run_execution(
                services, self.executor, execution_id, probe=self.probe, dry_run=self.dry_run
            )
        except Exception:
            logger.exception("execution %s could not run", execution_id)

    async def auto(self, services: Services, requests: Sequence[RemediationRequest]) -> None:
        """The ``on_remediations`` hook: create and run each cleared low-risk runbook."""
        for request in requests:
            execution = await create_auto_execution(services, request)
            if execution is not None:
                await self.run(services, execution.id)


def remediator_from_env(env: Mapping[str, str], *, ssm_client: Any = None) -> Remediator:
    """The remediator the environment asks for (module docstring)."""
    region = env.get("AW_AWS_REGION")
    if region:
        import boto3

        from ._ssm import SsmExecutor

        ssm = SsmExecutor(ssm_client or boto3.client("ssm", region_name=region))
        return Remediator(ssm, ExecutorHttpProbe(ssm))
    if env.get("AW_LOCAL_EXECUTOR") == "1":
        local = LocalExecutor(
            enabled=True, allow_root=env.get("AW_LOCAL_EXECUTOR_ALLOW_ROOT") == "1"
        )
        return Remediator(local, DirectHttpProbe())
    return Remediator(DryRunExecutor())
