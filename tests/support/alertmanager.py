"""A real Prometheus Alertmanager for end-to-end tests (Debian's ``prometheus-alertmanager``).

It listens on a free loopback port, groups alerts by ``alertname`` and ``instance`` with
one-second group waits, and posts every group (firing and resolved) to the webhook URL given.
Installed with apt-get when missing and possible; otherwise the tests that need it skip, or
fail under ``AW_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from benchmarks._processes import alertmanager, alertmanager_config
from benchmarks._processes import alertmanager_binary as _installed_binary


def alertmanager_binary() -> str:
    """The binary's path, installing the package if needed; skip (or fail in CI) otherwise."""
    found = _installed_binary()
    if found:
        return found
    reason = "prometheus-alertmanager is not installed and could not be installed with apt-get"
    if os.environ.get("AW_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, but AW_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


@attrs.define
class Alertmanager:
    base_url: str
    log: Path

    def post_alerts(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Hand alerts to Alertmanager as Prometheus would (``POST /api/v2/alerts``)."""
        response = httpx.post(f"{self.base_url}/api/v2/alerts", json=list(alerts), timeout=10.0)
        response.raise_for_status()


@contextmanager
def running_alertmanager(
    workdir: Path, webhook_url: str, group_by: Sequence[str] = ("alertname", "instance")
) -> Iterator[Alertmanager]:
    """Alertmanager posting to ``webhook_url``, stopped afterwards."""
    config = alertmanager_config(webhook_url, group_by, receiver="alert-whisperer")
    with alertmanager(alertmanager_binary(), workdir, config) as (base_url, log):
        yield Alertmanager(base_url, log)
