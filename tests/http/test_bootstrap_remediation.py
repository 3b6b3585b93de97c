"""The composition root's remediation: which executor, the approval sweeper, restart recovery."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest

from alertwhisperer_adapters.bootstrap import (
    ServerConfig,
    _opened,
    _prepare_database,
    sweep_approvals,
)
from alertwhisperer_adapters.executors import (
    DryRunExecutor,
    LocalExecutor,
    LocalExecutorRefused,
    SsmExecutor,
    remediator_from_env,
)
from alertwhisperer_core import ApprovalStatus, Execution, ExecutionStatus, Risk, request_approval

from ..support.world import make_world


def test_without_configuration_runbooks_are_dry_runs() -> None:
    remediator = remediator_from_env({})
    assert isinstance(remediator.executor, DryRunExecutor)
    assert remediator.dry_run


def test_an_aws_region_selects_ssm_with_a_probe_through_it() -> None:
    remediator = remediator_from_env({"AW_AWS_REGION": "eu-west-1"})
    assert isinstance(remediator.executor, SsmExecutor)
    assert remediator.probe is not None
    assert not remediator.dry_run


def test_the_local_executor_needs_its_own_switch() -> None:
    env = {"AW_LOCAL_EXECUTOR": "1", "AW_LOCAL_EXECUTOR_ALLOW_ROOT": "1"}
    assert isinstance(remediator_from_env(env).executor, LocalExecutor)
    assert isinstance(remediator_from_env({"AW_LOCAL_EXECUTOR": "yes"}).executor, DryRunExecutor)


@pytest.mark.skipif(os.geteuid() != 0, reason="checks the refusal to run as root")
def test_the_local_executor_refuses_root_without_consent() -> None:
    with pytest.raises(LocalExecutorRefused):
        remediator_from_env({"AW_LOCAL_EXECUTOR": "1"})


def test_server_config_reads_the_executor_switches(tmp_path: Path) -> None:
    env = {"AW_SECRET_KEY": "k" * 32, "AW_LOCAL_EXECUTOR": "1", "AW_LOCAL_EXECUTOR_ALLOW_ROOT": "1"}
    config = ServerConfig.from_env(env, var_dir=tmp_path)
    assert (config.local_executor, config.local_executor_allow_root) == (True, True)
    assert isinstance(config.remediator().executor, LocalExecutor)


async def test_the_sweeper_expires_due_requests_and_keeps_going() -> None:
    world = make_world()
    await world.add_company("acme")
    async with world.store() as uow:
        await uow.approvals.add(
            request_approval(id="ap", company_id="acme", incident_id="i", runbook_id="r",
                             risk=Risk.HIGH, requested_by="system", now=world.clock.now())
        )  # fmt: skip
        await uow.commit()
    world.clock.advance(timedelta(hours=2))
    task = asyncio.create_task(sweep_approvals(world.services, every=0.01))
    for _ in range(100):
        if world.store.approvals["ap"].status is ApprovalStatus.EXPIRED:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert world.store.approvals["ap"].status is ApprovalStatus.EXPIRED


def test_starting_the_server_fails_executions_cut_off_by_a_restart(tmp_path: Path) -> None:
    env = {
        "AW_DATABASE_URL": f"sqlite:///{tmp_path}/aw.db",
        "AW_SECRET_KEY": "k" * 32,
        "AW_ADMIN_PASSWORD": "a long enough password 123",
    }
    config = ServerConfig.from_env(env, var_dir=tmp_path)

    async def seed() -> None:
        async with _opened(config) as services, services.uow() as uow:
            await uow.executions.add(
                Execution(id="ex-1", company_id="acme", incident_id="i", runbook_id="r",
                          status=ExecutionStatus.IN_PROGRESS, requested_by="system",
                          created_at=services.clock.now(), started_at=services.clock.now())
            )  # fmt: skip
            await uow.commit()

    async def read() -> Execution | None:
        async with _opened(config) as services, services.uow() as uow:
            return await uow.executions.get("ex-1")

    from alertwhisperer_adapters.sql import upgrade_database

    upgrade_database(config.database_url)
    asyncio.run(seed())
    asyncio.run(_prepare_database(config))
    recovered = asyncio.run(read())
    assert recovered is not None
    assert recovered.status is ExecutionStatus.FAILED
    assert recovered.output == "interrupted by restart"
