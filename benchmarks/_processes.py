"""Real processes for the HTTP benchmarks: the server, Alertmanager, wrk; loopback only.

Shared by :mod:`benchmarks.bench_http`, :mod:`benchmarks.bench_scaling`,
:mod:`benchmarks.http_latency`, :mod:`benchmarks.alertmanager_compare` and
:mod:`benchmarks.bench_ingest_stores` (and Alertmanager's start by ``tests/support``), so each
starts, waits for and stops a process the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

ADMIN = ("bench@example.test", "benchmark admin password")
ALERTMANAGER_BINARIES = ("prometheus-alertmanager", "alertmanager")
_INGESTED = re.compile(r"^aw_alerts_ingested_total\{[^}]*\} (\S+)$", re.MULTILINE)


def apt_binary(package: str, names: Sequence[str]) -> str | None:
    """The first of ``names`` on PATH; installs Debian's ``package`` when missing and possible."""
    for name in names:
        if found := shutil.which(name):
            return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(command, env=env, capture_output=True, timeout=600, check=False)
        if done.returncode != 0:
            return None
    return next(filter(None, map(shutil.which, names)), None)


def ensure_wrk() -> str | None:
    """wrk's path; installs Debian's package when missing and possible."""
    return apt_binary("wrk", ("wrk",))


def alertmanager_binary() -> str | None:
    """Alertmanager's path; installs Debian's package when missing and possible."""
    return apt_binary("prometheus-alertmanager", ALERTMANAGER_BINARIES)


def free_port() -> int:
    """A TCP port nobody listens on right now (loopback)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def call(base: str, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
    """One JSON request; the decoded JSON answer (or the text of any other answer)."""
    data = json.dumps(body).encode() if body is not None else None
    # Loopback http:// URLs the benchmarks build themselves.
    request = urllib.request.Request(f"{base}{path}", data=data, method=method)  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" \
            else raw.decode()  # fmt: skip


def postgres_base_url() -> str | None:
    """The PostgreSQL server the benchmarks may use, if any."""
    return os.environ.get("AW_BENCH_POSTGRES_URL") or os.environ.get("AW_TEST_POSTGRES_URL")


@contextmanager
def postgres_schema(prefix: str = "aw_bench") -> Iterator[str | None]:
    """A URL whose connections use a fresh schema (dropped afterwards); None without a server."""
    base = postgres_base_url()
    if not base:
        yield None
        return
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    plain = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def pin(pid: int, cpus: set[int] | None) -> None:
    """Pin process ``pid`` (threads it starts later too) to ``cpus``, where the OS allows it."""
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(pid, cpus)


def split_cpus() -> tuple[set[int] | None, set[int] | None]:
    """(server's CPUs, load generator's CPUs): one core each when there are two or more."""
    if not hasattr(os, "sched_getaffinity"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def _stop(process: subprocess.Popen[Any], timeout: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def worker_pids(server_pid: int) -> list[int]:
    """The uvicorn worker processes of ``alertwhisperer serve --workers N`` (spawned children
    of the server process; multiprocessing's helper processes excluded)."""
    pids = []
    for child in children(server_pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            pids.append(child)
    return sorted(pids)


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (those of all its threads); none once it is gone."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


class Server(NamedTuple):
    base: str
    pid: int


@contextmanager
def server(database_url: str, workdir: Path, *, workers: int = 1, redis_url: str | None = None,
           cpus: set[int] | None = None) -> Iterator[Server]:  # fmt: skip
    """A fresh ``alertwhisperer serve`` (log level WARNING) on a free loopback port, once it is
    ready and, with ``workers`` > 1, all its workers run; stopped (SIGTERM) afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AW_")}
    env.update({
        "AW_DATABASE_URL": database_url, "AW_ADMIN_EMAIL": ADMIN[0], "AW_ADMIN_PASSWORD": ADMIN[1],
        "AW_SECRET_KEY": "benchmark-secret-key-0123456789", "AW_LOG_LEVEL": "WARNING",
        **({"AW_REDIS_URL": redis_url} if redis_url else {}),
    })  # fmt: skip
    log = (workdir / f"server-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "alertwhisperer_adapters.cli", "serve", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(workers)],
        cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    pin(process.pid, cpus)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60 * min(workers, 2)
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited; see {log.name}")
            try:
                call(base, "GET", "/readyz")
                # One worker runs in the server process itself; more are its children.
                if workers == 1 or len(worker_pids(process.pid)) >= workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server ({workers} workers) did not start; see {log.name}")
            time.sleep(0.1)
        yield Server(base, process.pid)
    finally:
        _stop(process, 30)
        log.close()


class Company(NamedTuple):
    id: str
    api_key: str
    token: str  # the admin's access token


def company(base: str, name: str = "Bench") -> Company:
    """A new company with roomy rate limits, created through the API as the admin."""
    token = call(base, "POST", "/api/auth/login",
                 {"email": ADMIN[0], "password": ADMIN[1]})["access_token"]  # fmt: skip
    created = call(base, "POST", "/api/companies", {
        "name": name, "rate_limit": {"requests_per_minute": 1000, "burst": 100_000},
    }, token)  # fmt: skip
    return Company(created["company"]["id"], created["api_key"], token)


def ingested(base: str) -> float:
    """The server's ``aw_alerts_ingested_total``, summed over its labels."""
    text = call(base, "GET", "/metrics")
    return sum(float(v) for v in _INGESTED.findall(text))


def wrk_script(path: str, bodies: list[str], headers: dict[str, str],
               delay_ms: float | None) -> str:  # fmt: skip
    """wrk's Lua: POSTs ``bodies`` in turn to ``path``, each request with its own
    ``X-Delivery-ID`` (``-- <run tag>`` makes them unique per run); prints its stats as JSON."""
    pool = ",\n".join(json.dumps(b) for b in bodies)  # JSON strings are valid Lua strings here
    header_lines = "".join(f'wrk.headers[{json.dumps(k)}] = {json.dumps(v)}\n'
                           for k, v in headers.items())  # fmt: skip
    delay = f"function delay() return {delay_ms:.3f} end\n" if delay_ms else ""
    return f"""
wrk.method = "POST"
{header_lines}
local bodies = {{
{pool}
}}
local threads = {{}}
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
  table.insert(threads, thread)
end
local counter = 0
local run = "run"
function init(args)
  if args[1] then run = args[1] end
end
function request()
  counter = counter + 1
  -- Unique per run, thread and request: a repeated id would be answered as a duplicate.
  wrk.headers["X-Delivery-ID"] = run .. "-" .. tid .. "-" .. counter
  return wrk.format(nil, "{path}", nil, bodies[(counter % #bodies) + 1])
end
{delay}
function done(summary, latency, requests)
  local statuses = 0
  if summary.errors.status then statuses = summary.errors.status end
  io.write(string.format(
    '{{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f}}\\n',
    summary.requests, summary.duration, statuses,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
"""


def alertmanager_config(webhook_url: str | None, group_by: Sequence[str],
                        receiver: str = "aw") -> str:  # fmt: skip
    """Alertmanager's YAML: one-second group waits; posts every group (firing and resolved) to
    ``webhook_url``, or, without one, to a receiver with no integrations."""
    labels = ", ".join(f"'{label}'" for label in group_by)
    receivers = f"  - name: {receiver}\n"
    if webhook_url:
        receivers += (
            f"    webhook_configs:\n      - url: '{webhook_url}'\n        send_resolved: true\n"
        )
    return (
        f"route:\n  receiver: {receiver}\n  group_by: [{labels}]\n  group_wait: 1s\n"
        f"  group_interval: 1s\n  repeat_interval: 4h\nreceivers:\n{receivers}"
    )


class RunningAlertmanager(NamedTuple):
    base: str
    log: Path


@contextmanager
def alertmanager(binary: str, workdir: Path, config: str,
                 cpus: set[int] | None = None) -> Iterator[RunningAlertmanager]:  # fmt: skip
    """A fresh Alertmanager with ``config`` on a free loopback port, once ready; stopped (and
    its data left in ``workdir``) afterwards."""
    port = free_port()
    home = workdir / f"alertmanager-{port}"
    (home / "data").mkdir(parents=True)
    (home / "alertmanager.yml").write_text(config)
    log = home / "log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [binary, f"--config.file={home / 'alertmanager.yml'}",
             f"--storage.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address=", f"--web.external-url=http://127.0.0.1:{port}",
             "--log.level=warn"],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    pin(process.pid, cpus)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"alertmanager exited with {process.returncode}; see {log}")
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=2).close()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield RunningAlertmanager(base, log)
    finally:
        _stop(process, 10)
