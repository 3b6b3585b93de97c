"""What the server does with executions: run them with the configured executor and probe.

:func:`remediator_from_env` picks the executor (``docs/remediation.md``): SSM when
``AW_AWS_REGION`` is set, the local executor only when ``AW_LOCAL_EXECUTOR=1`` (never as root
unless ``AW_LOCAL_EXECUTOR_ALLOW_ROOT=1`` too), and a dry run otherwise.

With ``aws`` (the companies' clients, :class:`~..aws.CompanyAwsClients`), an execution of a
company that has AWS credentials of its own runs through SSM with that company's client,
whatever the server-wide executor is; the other companies' executions use the server-wide one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from alertwhisperer_core import CommandResult, ExecutionStatus
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
from ._ssm import SsmExecutor

if TYPE_CHECKING:
    from ..aws import CompanyAwsClients

__all__ = ["Remediator", "remediator_from_env"]

logger = logging.getLogger("alertwhisperer.remediation")


class _Unusable:
    """Fails every run with why the company's AWS credentials cannot be used (a stored blob
    that does not decrypt, say): the execution ends ``Failed`` with the reason on it."""

    name = "ssm"

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def run(
        self, *, instance_id: str | None, commands: Sequence[str], timeout_seconds: int
    ) -> CommandResult:
        return CommandResult(
            status=ExecutionStatus.FAILED,
            command_id="",
            output=f"the company's AWS credentials cannot be used: {self._reason}",
        )


class Remediator:
    """An executor, the probe for its ``http`` health checks, and whether it only pretends;
    with ``aws``, SSM with a company's own client for companies that have credentials."""

    def __init__(
        self,
        executor: RunbookExecutor,
        probe: HttpProbe | None = None,
        *,
        aws: CompanyAwsClients | None = None,
        ssm_executor: Callable[[Any], RunbookExecutor] = SsmExecutor,
    ) -> None:
        self.executor = executor
        self.probe = probe
        self.dry_run = isinstance(executor, DryRunExecutor)
        self.aws = aws
        self._ssm_executor = ssm_executor

    async def executor_for(
        self, services: Services, execution_id: str
    ) -> tuple[RunbookExecutor, HttpProbe | None, bool]:
        """The executor, probe and dry-run flag for one execution (module docstring)."""
        default = (self.executor, self.probe, self.dry_run)
        if self.aws is None:
            return default
        async with services.uow() as uow:
            execution = await uow.executions.get(execution_id)
        if execution is None:
            return default  # run_execution answers the 404
        try:
            client = await self.aws.client(execution.company_id, "ssm")
        except Exception as error:
            logger.exception("AWS client of company %s", execution.company_id)
            return _Unusable(str(error)), None, False
        if client is None:
            return default
        ssm = self._ssm_executor(client)
        return ssm, ExecutorHttpProbe(ssm), False

    async def run(self, services: Services, execution_id: str) -> None:
        """Run one pending execution to its end (errors are logged: the caller has answered)."""
        try:
            executor, probe, dry_run = await self.executor_for(services, execution_id)
            await run_execution(services, executor, execution_id, probe=probe, dry_run=dry_run)
        except Exception:
            logger.exception("execution %s could not run", execution_id)

    async def auto(self, services: Services, requests: Sequence[RemediationRequest]) -> None:
        """The ``on_remediations`` hook: create and run each cleared low-risk runbook."""
        for request in requests:
            execution = await create_auto_execution(services, request)
            if execution is not None:
                await self.run(services, execution.id)


def remediator_from_env(
    env: Mapping[str, str], *, ssm_client: Any = None, aws: CompanyAwsClients | None = None
) -> Remediator:
    """The remediator the environment asks for (module docstring)."""
    region = env.get("AW_AWS_REGION")
    if region:
        import boto3

        ssm = SsmExecutor(ssm_client or boto3.client("ssm", region_name=region))
        return Remediator(ssm, ExecutorHttpProbe(ssm), aws=aws)
    if env.get("AW_LOCAL_EXECUTOR") == "1":
        local = LocalExecutor(
            enabled=True, allow_root=env.get("AW_LOCAL_EXECUTOR_ALLOW_ROOT") == "1"
        )
        return Remediator(local, DirectHttpProbe(), aws=aws)
    return Remediator(DryRunExecutor(), aws=aws)
