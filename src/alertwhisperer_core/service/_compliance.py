"""Patch compliance (SPEC §9): sync from a :class:`PatchComplianceSource` into the cache, read
the cached figures back, and feed them to the KPIs.

Which instances are a company's: those of its assets with an ``instance_id``. The source
reports the whole fleet its credentials can see (the company's own AWS account when it has
credentials of its own, else the server's, which may serve several companies); the sync keeps
only the company's own instances, which is also what keeps one tenant's machines out of
another's figures. An asset's
``environment`` names the instance's environment when set (the company admin's word wins over
whatever the source derived); otherwise the source's, else ``unknown`` in the summary.

The source is asked outside any unit of work: a fleet scan takes seconds and must not hold a
database transaction open. The cache is then replaced whole, with the ``compliance_synced``
audit entry, in one unit of work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import attrs

from .._kpis import ComplianceSummary, InstancePatchState, summarize_compliance
from .._models import Asset, User
from .._rbac import Action
from ..errors import AlertWhispererError
from ..ports import PatchComplianceSource, UnitOfWork
from ._access import audit, load_company
from ._services import Services

__all__ = [
    "CompanyCompliance",
    "ComplianceNotConfigured",
    "ComplianceSourceFailed",
    "cached_compliance",
    "get_compliance",
    "sync_compliance",
]

NOT_CONFIGURED = (
    "AWS is not configured: set AW_AWS_REGION (and AWS credentials) on the server to sync "
    "patch compliance from AWS Systems Manager"
)


class ComplianceNotConfigured(AlertWhispererError):
    """The server has no patch-compliance source (no AWS region configured)."""

    error_status_hint = 503


class ComplianceSourceFailed(AlertWhispererError):
    """The patch-compliance source refused or failed (an AWS error, throttled too long)."""

    error_status_hint = 502


@attrs.frozen
class CompanyCompliance:
    """A company's cached compliance: the summary, each instance, and when it was synced."""

    company_id: str
    summary: ComplianceSummary
    instances: tuple[InstancePatchState, ...]
    synced_at: datetime | None


async def sync_compliance(
    services: Services,
    actor: User,
    company_id: str,
    source: PatchComplianceSource | None,
) -> CompanyCompliance:
    """Fetch the company's instance patch states from ``source`` and replace its cache.

    Audited as ``compliance_synced``. Without a source: :class:`ComplianceNotConfigured`
    (after the access check, so other tenants still get their 404).
    """
    async with services.uow() as uow:
        await load_company(uow, actor, Action.SYNC_COMPLIANCE, company_id)
        assets = await uow.assets.list(company_id)
    if source is None:
        raise ComplianceNotConfigured(NOT_CONFIGURED)
    fleet = await source.instance_states(company_id)
    states = _company_states(fleet, assets)
    now = services.clock.now()
    async with services.uow() as uow:
        # The company may have been deleted while the source was being asked.
        await load_company(uow, actor, Action.SYNC_COMPLIANCE, company_id)
        await uow.compliance.replace(company_id, states, now)
        summary = summarize_compliance(states)
        await audit(
            services,
            uow,
            actor,
            "compliance_synced",
            now,
            company_id,
            {
                "instances": summary.total,
                "compliant": summary.compliant,
                "critical_missing": summary.critical_missing,
                "security_missing": summary.security_missing,
                "failed": summary.failed,
                # Instances the source reported that are no asset of this company's.
                "ignored": len({s.instance_id for s in fleet}) - summary.total,
            },
        )
        await uow.commit()
    return CompanyCompliance(company_id, summary, tuple(states), now)


async def get_compliance(services: Services, actor: User, company_id: str) -> CompanyCompliance:
    """The company's cached compliance (empty, with ``synced_at`` None, before a sync)."""
    async with services.uow() as uow:
        await load_company(uow, actor, Action.VIEW_COMPLIANCE, company_id)
        states = await uow.compliance.states(company_id)
        synced_at = await uow.compliance.last_synced(company_id)
    return CompanyCompliance(company_id, summarize_compliance(states), tuple(states), synced_at)


async def cached_compliance(
    uow: UnitOfWork, company_ids: frozenset[str] | None
) -> ComplianceSummary | None:
    """The summary over the cached instances of ``company_ids`` (None: every company), or
    None when none of them was ever synced (the KPI then has no value rather than 0 %)."""
    if company_ids is None:
        company_ids = frozenset(c.id for c in await uow.companies.list())
    states: list[InstancePatchState] = []
    synced = False
    for company_id in sorted(company_ids):
        if await uow.compliance.last_synced(company_id) is None:
            continue
        synced = True
        # Two companies may list the same instance id; each is counted for its company.
        states.extend(
            attrs.evolve(s, instance_id=f"{company_id}/{s.instance_id}")
            for s in await uow.compliance.states(company_id)
        )
    return summarize_compliance(states) if synced else None


def _company_states(
    fleet: Iterable[InstancePatchState], assets: Sequence[Asset]
) -> list[InstancePatchState]:
    """The company's instances among ``fleet``, one state each (the newest operation wins),
    with the asset's environment when it has one."""
    environment = {a.instance_id: a.environment for a in assets if a.instance_id}
    newest: dict[str, InstancePatchState] = {}
    for state in fleet:
        if state.instance_id not in environment:
            continue
        seen = newest.get(state.instance_id)
        if seen is None or _order(state) >= _order(seen):
            newest[state.instance_id] = state
    return [
        attrs.evolve(s, environment=environment[i] or s.environment)
        for i, s in sorted(newest.items())
    ]


_NEVER = datetime.min.replace(tzinfo=UTC)


def _order(state: InstancePatchState) -> tuple[bool, datetime]:
    at = state.last_operation_at
    return (at is not None, _NEVER if at is None else at)
