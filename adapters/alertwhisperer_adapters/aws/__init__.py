"""AWS adapters besides the SSM runbook executor (:mod:`..executors`).

- :class:`SsmPatchSource`: patch compliance from Systems Manager Patch Manager.
- :class:`CompanyAwsClients`: boto3 clients made with each company's own credentials (access
  keys, or a role assumed through STS), cached per company.
- :class:`CompanyPatchSource`: patch compliance through the company's own client when it has
  one, else the server's.

See ``docs/remediation.md`` (patch compliance, IAM permissions, per-company credentials).
"""

from ._company import CompanyPatchSource
from ._patch import MAX_IDS_PER_CALL, SsmPatchSource, patch_state
from ._sessions import CompanyAwsClients, role_session_name

__all__ = [
    "MAX_IDS_PER_CALL",
    "CompanyAwsClients",
    "CompanyPatchSource",
    "SsmPatchSource",
    "patch_state",
    "role_session_name",
]
