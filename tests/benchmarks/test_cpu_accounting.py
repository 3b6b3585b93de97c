"""bench_scaling's CPU figures: the CPU time of processes that end between two readings stays
counted (it once summed only the live processes, and a PostgreSQL backend that closed during
the run made ``postgres_cpu_per_s`` negative)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from benchmarks.bench_scaling import _cpu_seconds

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

_BURN_THEN_WAIT = """
import sys, time
end = time.process_time() + 0.3
while time.process_time() < end:
    pass
print("burnt", flush=True)
sys.stdin.read()
"""


def test_a_child_that_ends_between_readings_keeps_its_cpu_time_counted() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _BURN_THEN_WAIT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    assert child.stdout.readline() == "burnt\n"
    pids = [os.getpid(), child.pid]
    own_before = _cpu_seconds([child.pid])
    before = _cpu_seconds(pids)
    child.stdin.close()
    child.wait(timeout=30)
    child.stdout.close()
    after = _cpu_seconds(pids)  # the child is gone: its time is now in our cutime/cstime
    assert own_before >= 0.2  # the child's time was counted while it ran
    assert after - before >= 0  # and still is: no drop when it ended
    assert after >= own_before
