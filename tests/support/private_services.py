"""Throwaway PostgreSQL clusters and Redis servers of a test's own, on free loopback ports.

Fault tests stop and start these; the machine's shared PostgreSQL and Redis, which other tests
use at the same time, are never touched. Without the binaries a test skips, and fails under
``AW_REQUIRE_SERVICES=1`` (CI).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs

from .servers import free_port

__all__ = ["PrivatePostgres", "PrivateRedis", "private_postgres", "private_redis"]


def _missing(what: str) -> None:
    import pytest

    if os.environ.get("AW_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is not installed but AW_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{what} is not installed")


def _postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: p.split("/")[4])
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@attrs.define
class PrivatePostgres:
    """A PostgreSQL cluster in a temporary directory, run as the ``postgres`` user when we are
    root (PostgreSQL refuses to run as root)."""

    bindir: Path
    root: Path
    port: int
    as_user: list[str]

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        # fsync off: a stop, even ``immediate``, is a crash of PostgreSQL, not of the machine,
        # so what was written to the kernel survives. Commits still wait for their WAL write
        # (synchronous_commit stays on): an acknowledged commit is never lost.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
            " -c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """``immediate`` is a crash as far as clients and the data are concerned: connections
        drop, open transactions are lost, the next start replays the log."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        done = subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh cluster (trust authentication, loopback only), removed afterwards."""
    bindir = _postgres_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        _missing("PostgreSQL server binaries (initdb, pg_ctl)")
        raise AssertionError("unreachable")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="aw-pg-"))
    if os.geteuid() == 0:
        import pwd

        runuser = shutil.which("runuser")
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = None
        if runuser is None or account is None:
            shutil.rmtree(root, ignore_errors=True)
            _missing("a postgres user and runuser (PostgreSQL refuses to run as root)")
        assert account is not None
        assert runuser is not None
        os.chown(root, account.pw_uid, account.pw_gid)
        as_user = [runuser, "-u", "postgres", "--"]
    cluster = PrivatePostgres(bindir, root, free_port(), as_user)
    try:
        cluster._run(
            str(bindir / "initdb"), "-D", str(cluster.data), "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        if cluster.running():
            cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@attrs.define
class PrivateRedis:
    """A ``redis-server`` without persistence on a loopback port; ``kill`` and ``start`` it."""

    binary: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = (self.workdir / f"redis-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 30
        import socket

        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.workdir}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), 1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not answer PING")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server")
        raise AssertionError("unreachable")
    server = PrivateRedis(binary, free_port(), workdir)
    server.start()
    try:
        yield server
    finally:
        server.kill()
