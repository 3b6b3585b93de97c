"""Runbook executors (the core's ``RunbookExecutor`` port) and health-check probes.

- :class:`SsmExecutor`: AWS Systems Manager ``SendCommand`` (``AWS-RunShellScript``).
- :class:`LocalExecutor`: a local ``/bin/sh`` subprocess, only when explicitly enabled.
- :class:`DryRunExecutor`: records and echoes, runs nothing.

See ``docs/remediation.md``.
"""

from ._dry_run import DryRun, DryRunExecutor
from ._local import LocalExecutor, LocalExecutorRefused
from ._probe import DirectHttpProbe, ExecutorHttpProbe
from ._remediator import Remediator, remediator_from_env
from ._ssm import THROTTLING_CODES, SsmExecutor, ssm_status

__all__ = [
    "THROTTLING_CODES",
    "DirectHttpProbe",
    "DryRun",
    "DryRunExecutor",
    "ExecutorHttpProbe",
    "LocalExecutor",
    "LocalExecutorRefused",
    "Remediator",
    "SsmExecutor",
    "remediator_from_env",
    "ssm_status",
]
