"""AWS adapters besides the SSM runbook executor (:mod:`..executors`).

- :class:`SsmPatchSource`: patch compliance from Systems Manager Patch Manager.

See ``docs/remediation.md`` (patch compliance, IAM permissions).
"""

from ._patch import MAX_IDS_PER_CALL, SsmPatchSource, patch_state

__all__ = ["MAX_IDS_PER_CALL", "SsmPatchSource", "patch_state"]
