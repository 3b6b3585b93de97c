"""Real processes for end-to-end tests: the server under uvicorn, on 127.0.0.1 only."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import httpx

_PASSWORD = re.compile(r"Generated password \(shown only now[^)]*\): (\S+)")


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(url: str, timeout: float = 30.0, process: subprocess.Popen[Any] | None = None) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s ({last})")


@attrs.define
class Server:
    """A running ``alertwhisperer serve``."""

    process: subprocess.Popen[str]
    base_url: str
    workdir: Path
    output: Path

    def stdout(self) -> str:
        return self.output.read_text()

    def generated_password(self) -> str | None:
        found = _PASSWORD.search(self.stdout())
        return found.group(1) if found else None

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10.0)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def running_server(
    workdir: Path,
    env: Mapping[str, str] | None = None,
    *,
    port: int | None = None,
    workers: int = 1,
) -> Iterator[Server]:
    """``alertwhisperer serve`` in ``workdir`` (where ``./var/`` lives), stopped afterwards."""
    port = port or free_port()
    output = workdir / f"server-{port}.out"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AW_")}
    environment.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    with output.open("w") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "alertwhisperer_adapters.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            cwd=workdir,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base_url}/readyz", process=process)
        yield Server(process, base_url, workdir, output)
    finally:
        _stop(process)
