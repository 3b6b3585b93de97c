"""A real Prometheus Alertmanager for end-to-end tests (Debian's ``prometheus-alertmanager``).

It listens on a free loopback port, groups alerts by ``alertname`` and ``instance`` with
one-second group waits, and posts every group (firing and resolved) to the webhook URL given.
Installed with apt-get when missing and possible; otherwise the tests that need it skip, or
fail under ``AW_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from .servers import free_port, wait_for

BINARY = "prometheus-alertmanager"
PACKAGE = "prometheus-alertmanager"


def _install() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", PACKAGE]):
        done = subprocess.run(
            command, env=environment, capture_output=True, timeout=600, check=False
        )
        if done.returncode != 0:
            return None
    return shutil.which(BINARY)


def alertmanager_binary() -> str:
    """The binary's path, installing the package if needed; skip (or fail in CI) otherwise."""
    found = shutil.which(BINARY) or _install()
    if found:
        return found
    reason = f"{BINARY} is not installed and could not be installed with apt-get"
    if os.environ.get("AW_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason}, but AW_REQUIRE_SERVICES=1 requires it")
    pytest.skip(reason)


def _config(webhook_url: str, group_by: Sequence[str]) -> str:
    labels = ", ".join(f"'{label}'" for label in group_by)
    return (
        "route:\n"
        "  receiver: alert-whisperer\n"
        f"  group_by: [{labels}]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 4h\n"
        "receivers:\n"
        "  - name: alert-whisperer\n"
        "    webhook_configs:\n"
        f"      - url: '{webhook_url}'\n"
        "        send_resolved: true\n"
    )


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
    """Alertmanager posting to ``webhook_url``, stopped (and its data dropped) afterwards."""
    binary = alertmanager_binary()
    port = free_port()
    home = workdir / f"alertmanager-{port}"
    (home / "data").mkdir(parents=True)
    (home / "alertmanager.yml").write_text(_config(webhook_url, group_by))
    log = home / "log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={home / 'alertmanager.yml'}",
                f"--storage.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
                f"--web.external-url=http://127.0.0.1:{port}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/-/ready", timeout=30, process=process)
        yield Alertmanager(base_url, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
