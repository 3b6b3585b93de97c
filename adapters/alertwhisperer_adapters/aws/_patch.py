"""Patch compliance from AWS Systems Manager Patch Manager (the core's
``PatchComplianceSource``).

1. ``DescribeInstanceInformation``, page by page: every managed instance the client's
   credentials can see, with its ``ComputerName`` (or managed-node ``Name``).
2. ``DescribeInstancePatchStates`` for those instances, at most 50 ids per call (the API's
   limit), page by page: the counts of each instance's last scan or install.

An instance's figures: ``installed`` is ``InstalledCount + InstalledOtherCount +
InstalledPendingRebootCount``; ``missing`` is ``MissingCount``; ``failed`` is ``FailedCount``;
``critical_missing`` and ``security_missing`` are ``CriticalNonCompliantCount`` and
``SecurityNonCompliantCount``; ``last_operation_at`` is ``OperationEndTime``. An instance that
was never scanned has no patch state and is left out.

Environment: the Patch Manager calls carry no tags, and fetching every instance's tags is one
more call per instance, so the environment comes from ``environments``, a list of
``(glob, environment)`` pairs matched in order against the instance's ``ComputerName`` (then
its ``Name``), e.g. ``[("prod-*", "production"), ("stg-*", "staging")]``. Unmatched: ``""``.
The sync use case prefers the environment of the company's asset with that instance id.

One client serves every company (credentials per company are not supported yet), so
``instance_states`` ignores its ``company_id`` and reports the whole fleet; the use case keeps
the company's own instances (its assets' instance ids).

Throttling is retried with exponential backoff (``initial_delay`` doubling up to
``max_delay``, at most ``max_retries`` times per call); any other AWS error, or throttling
past the retries, raises :class:`~alertwhisperer_core.service.ComplianceSourceFailed` naming the
call and the error code (the full message, which may name the account, goes to the log only).
boto3 is synchronous: every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import builtins
import fnmatch
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from alertwhisperer_core import InstancePatchState
from alertwhisperer_core.service import ComplianceSourceFailed

from ..executors import THROTTLING_CODES

__all__ = ["MAX_IDS_PER_CALL", "SsmPatchSource", "patch_state"]

logger = logging.getLogger("alertwhisperer.aws.patch")

MAX_IDS_PER_CALL = 50  # DescribeInstancePatchStates takes at most 50 instance ids
_PAGE_SIZE = 50  # the largest MaxResults both calls accept


async def _real_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _count(record: dict[str, Any], *names: str) -> int:
    return sum(max(0, int(record.get(name) or 0)) for name in names)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    # botocore parses timestamps as aware datetimes; a naive one can only mean UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def patch_state(record: dict[str, Any], environment: str = "") -> InstancePatchState:
    """Our state of one ``InstancePatchStates`` entry (module docstring for the mapping)."""
    return InstancePatchState(
        instance_id=str(record["InstanceId"]),
        environment=environment,
        installed=_count(
            record, "InstalledCount", "InstalledOtherCount", "InstalledPendingRebootCount"
        ),
        missing=_count(record, "MissingCount"),
        critical_missing=_count(record, "CriticalNonCompliantCount"),
        security_missing=_count(record, "SecurityNonCompliantCount"),
        failed=_count(record, "FailedCount"),
        last_operation_at=_utc(record.get("OperationEndTime")),
    )


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class SsmPatchSource:
    """Instance patch states from Patch Manager through a boto3 ``ssm`` ``client``.

    The client is made by the composition root (region and credentials from the
    environment); this class never creates one. ``sleep`` exists for tests.
    """

    def __init__(
        self,
        client: Any,
        *,
        environments: Sequence[tuple[str, str]] = (),
        initial_delay: float = 1.0,
        max_delay: float = 15.0,
        max_retries: int = 6,
        sleep: Callable[[float], Awaitable[None]] = _real_sleep,
    ) -> None:
        if initial_delay <= 0 or max_delay < initial_delay or max_retries < 0:
            raise ValueError("need 0 < initial_delay <= max_delay and max_retries >= 0")
        self._client = client
        self._environments = tuple(environments)
        self._initial = initial_delay
        self._max = max_delay
        self._retries = max_retries
        self._sleep = sleep

    async def instance_states(self, company_id: str) -> builtins.list[InstancePatchState]:
        """Every managed instance's patch state, by instance id (``company_id`` is unused:
        see the module docstring)."""
        names = await self._instances()
        states: dict[str, InstancePatchState] = {}
        for ids in _chunks(sorted(names), MAX_IDS_PER_CALL):
            params: dict[str, Any] = {"InstanceIds": ids, "MaxResults": _PAGE_SIZE}
            async for record in self._pages(
                "describe_instance_patch_states", "InstancePatchStates", params
            ):
                instance_id = str(record["InstanceId"])
                states[instance_id] = patch_state(record, self._environment(names[instance_id]))
        return [states[i] for i in sorted(states)]

    async def _instances(self) -> dict[str, tuple[str, ...]]:
        """Instance id → the names its environment is looked up by."""
        found: dict[str, tuple[str, ...]] = {}
        params: dict[str, Any] = {"MaxResults": _PAGE_SIZE}
        async for info in self._pages(
            "describe_instance_information", "InstanceInformationList", params
        ):
            names = (str(info.get("ComputerName") or ""), str(info.get("Name") or ""))
            found[str(info["InstanceId"])] = tuple(n for n in names if n)
        return found

    def _environment(self, names: Sequence[str]) -> str:
        for name in names:
            for pattern, environment in self._environments:
                if fnmatch.fnmatchcase(name, pattern):
                    return environment
        return ""

    async def _pages(
        self, method: str, key: str, params: dict[str, Any]
    ) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = await self._call(method, **params, **({"NextToken": token} if token else {}))
            for item in page.get(key) or ():
                yield item
            token = page.get("NextToken") or None
            if token is None:
                return

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        """One boto3 call in a worker thread, retried with backoff while throttled."""
        operation = "".join(part.title() for part in method.split("_"))
        delay = self._initial
        attempt = 0
        while True:
            try:
                result: dict[str, Any] = await asyncio.to_thread(
                    getattr(self._client, method), **params
                )
                return result
            except ClientError as error:
                code = str(error.response.get("Error", {}).get("Code", "")) or "Unknown"
                if code not in THROTTLING_CODES or attempt >= self._retries:
                    logger.warning("%s failed: %s", operation, error)
                    raise ComplianceSourceFailed(
                        f"AWS Systems Manager {operation} failed: {code}"
                    ) from error
                attempt += 1
                logger.info("%s throttled; retrying in %.1fs", operation, delay)
                await self._sleep(delay)
                delay = min(delay * 2, self._max)
            except BotoCoreError as error:
                logger.warning("%s failed: %s", operation, error)
                raise ComplianceSourceFailed(
                    f"AWS Systems Manager {operation} failed: {type(error).__name__}"
                ) from error
