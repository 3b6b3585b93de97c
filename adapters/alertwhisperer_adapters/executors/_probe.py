"""HTTP health-check probes (the core's ``HttpProbe`` port).

Where a runbook's ``http`` check is seen from matters: ``http://localhost/healthz`` means the
target machine. :class:`ExecutorHttpProbe` asks from the target itself, with ``curl`` through
the runbook's executor (what the server uses with SSM). :class:`DirectHttpProbe` asks from this
process (the local executor's target *is* this machine).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import urllib.error
import urllib.request

from alertwhisperer_core import ExecutionStatus
from alertwhisperer_core.ports import RunbookExecutor

__all__ = ["DirectHttpProbe", "ExecutorHttpProbe"]

_STATUS = re.compile(r"(\d{3})\s*$")


class ExecutorHttpProbe:
    """Runs ``curl`` on the target through ``executor`` and reads the status it printed."""

    def __init__(self, executor: RunbookExecutor) -> None:
        self._executor = executor

    async def status(
        self, url: str, *, instance_id: str | None, timeout_seconds: float
    ) -> int | None:
        seconds = max(1, int(timeout_seconds))
        command = (
            f"curl -s -o /dev/null -w '%{{http_code}}' --max-time {seconds} {shlex.quote(url)}"
        )
        result = await self._executor.run(
            instance_id=instance_id, commands=(command,), timeout_seconds=seconds + 5
        )
        found = _STATUS.search(result.output)
        # curl prints 000 when nothing answered.
        if result.status is not ExecutionStatus.SUCCESS or found is None or found[1] == "000":
            return None
        return int(found[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a health check reports the status it got, redirects included


class DirectHttpProbe:
    """``GET url`` from this process (in a worker thread); redirects are not followed."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect)

    async def status(
        self, url: str, *, instance_id: str | None, timeout_seconds: float
    ) -> int | None:
        if not url.startswith(("http://", "https://")):
            return None
        return await asyncio.to_thread(self._get, url, timeout_seconds)

    def _get(self, url: str, timeout: float) -> int | None:
        request = urllib.request.Request(url, method="GET")  # noqa: S310 - scheme checked above
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except (urllib.error.URLError, OSError, ValueError):
            return None
