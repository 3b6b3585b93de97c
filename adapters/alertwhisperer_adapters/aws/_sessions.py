"""boto3 clients made with each company's own AWS credentials (issue #5).

:class:`CompanyAwsClients` answers a company's client for a service (``ssm``), or None when the
company has no credentials of its own (the caller then uses the server's, or none). Per
company it keeps one boto3 session and its clients:

- **Access keys**: a session with those keys and the company's region.
- **A role**: a session whose credentials come from STS ``AssumeRole`` (with the company's
  ``ExternalId``, session name ``alertwhisperer-<company>``), called with the *server's*
  credentials (its environment or instance role: the principal the company's role trusts).
  The credentials are botocore's refreshable kind: fetched at the first call, and fetched
  again before they expire (15 minutes ahead; at the latest 10), so a runbook polling for
  an hour never runs into an expired token.

The cache entry is trusted for ``ttl`` seconds; after that the stored credentials are read
again (one small query) and the session is kept if they did not change, rebuilt if they did.
:meth:`CompanyAwsClients.invalidate` drops a company's entry at once: the HTTP routes call it
after a change, so the process that took the change uses the new credentials from the next
call on, and every other process within ``ttl``.

Creating sessions and clients reads botocore's data files: it runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import attrs
import boto3
import botocore.session
from botocore.credentials import (
    CredentialProvider,
    CredentialResolver,
    DeferredRefreshableCredentials,
)

from alertwhisperer_core import AwsCredentials

__all__ = ["DEFAULT_TTL", "CompanyAwsClients", "role_session_name"]

DEFAULT_TTL = 60.0
ASSUMED_ROLE_SECONDS = 3600
_SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]")

CredentialsLoader = Callable[[str], Awaitable[AwsCredentials | None]]


def role_session_name(company_id: str) -> str:
    """``RoleSessionName`` for a company: visible in its CloudTrail, at most 64 characters."""
    return ("alertwhisperer-" + _SESSION_NAME_CHARS.sub("-", company_id))[:64]


def _server_session(region: str) -> Any:
    # The server's own credentials: environment, shared config or instance role.
    return boto3.Session(region_name=region)


class _Given(CredentialProvider):  # type: ignore[misc]
    """A credential provider that answers credentials made elsewhere (the assumed role's)."""

    METHOD = "alertwhisperer-assume-role"
    CANONICAL_NAME = "alertwhisperer-assume-role"

    def __init__(self, credentials: Any) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Any:
        return self._credentials


@attrs.define
class _Entry:
    credentials: AwsCredentials | None
    session: Any
    checked_at: float
    clients: dict[str, Any] = attrs.field(factory=dict)


class CompanyAwsClients:
    """Companies' boto3 clients, made from their stored credentials (module docstring).

    ``load`` reads a company's credentials (None: it has none). ``server_session`` makes the
    session whose credentials call ``AssumeRole`` (the server's; tests pass their own), and
    ``time_fetcher`` is the clock the refreshable credentials compare expiry times with.
    """

    def __init__(
        self,
        load: CredentialsLoader,
        *,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
        server_session: Callable[[str], Any] = _server_session,
        role_seconds: int = ASSUMED_ROLE_SECONDS,
        time_fetcher: Callable[[], datetime] | None = None,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._monotonic = monotonic
        self._server_session = server_session
        self._role_seconds = role_seconds
        self._time_fetcher = time_fetcher
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()  # boto3 sessions make clients one thread at a time

    def invalidate(self, company_id: str) -> None:
        """Forget the company's session: the next call reads its credentials again."""
        self._entries.pop(company_id, None)

    async def client(self, company_id: str, service: str = "ssm") -> Any | None:
        """The company's ``service`` client, or None when it has no credentials of its own."""
        entry = await self._entry(company_id)
        if entry.session is None:
            return None
        if service not in entry.clients:
            entry.clients[service] = await asyncio.to_thread(self._make_client, entry, service)
        return entry.clients[service]

    async def _entry(self, company_id: str) -> _Entry:
        now = self._monotonic()
        entry = self._entries.get(company_id)
        if entry is not None and now - entry.checked_at < self._ttl:
            return entry
        credentials = await self._load(company_id)
        if entry is not None and entry.credentials == credentials:
            entry.checked_at = now
            return entry
        session = (
            None
            if credentials is None
            else await asyncio.to_thread(self._session, company_id, credentials)
        )
        entry = _Entry(credentials, session, now)
        self._entries[company_id] = entry
        return entry

    def _make_client(self, entry: _Entry, service: str) -> Any:
        with self._lock:
            return entry.session.client(service)

    def _session(self, company_id: str, credentials: AwsCredentials) -> Any:
        if credentials.role_arn is None:
            return boto3.Session(
                aws_access_key_id=credentials.access_key_id,
                aws_secret_access_key=credentials.secret_access_key,
                aws_session_token=credentials.session_token,
                region_name=credentials.region,
            )
        with self._lock:
            sts = self._server_session(credentials.region).client("sts")
        params: dict[str, Any] = {
            "RoleArn": credentials.role_arn,
            "RoleSessionName": role_session_name(company_id),
            "DurationSeconds": self._role_seconds,
        }
        if credentials.external_id:
            params["ExternalId"] = credentials.external_id

        def fetch() -> dict[str, str]:
            issued = sts.assume_role(**params)["Credentials"]
            return {
                "access_key": issued["AccessKeyId"],
                "secret_key": issued["SecretAccessKey"],
                "token": issued["SessionToken"],
                "expiry_time": issued["Expiration"].isoformat(),
            }

        extra = {} if self._time_fetcher is None else {"time_fetcher": self._time_fetcher}
        refreshable = DeferredRefreshableCredentials(
            refresh_using=fetch, method=_Given.METHOD, **extra
        )
        core = botocore.session.Session()
        # Only the assumed role: never fall back to the server's own credentials.
        core.register_component("credential_provider", CredentialResolver([_Given(refreshable)]))
        return boto3.Session(botocore_session=core, region_name=credentials.region)
