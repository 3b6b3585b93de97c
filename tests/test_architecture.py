"""The core stays pure: it imports only its four libraries and never reads the clock."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "src" / "alertwhisperer_core"
ALLOWED_THIRD_PARTY = {"attrs", "cattrs", "msgspec", "sortedcontainers"}
# Standard-library modules that would let the core do I/O, spawn work or read the clock.
FORBIDDEN_STDLIB = {
    "socket",
    "ssl",
    "http",
    "urllib.request",
    "urllib.error",
    "subprocess",
    "threading",
    "multiprocessing",
    "sqlite3",
    "shutil",
    "tempfile",
    "select",
    "selectors",
    "random",
    "concurrent",
    "os",
    "io",
    "pathlib",
    "glob",
}
CLOCK_READS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "monotonic_ns"),
    ("time", "perf_counter"),
    ("time", "perf_counter_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("datetime", "today"),
}
ADAPTER_PACKAGES = {
    "starlette",
    "sqlalchemy",
    "boto3",
    "botocore",
    "pymongo",
    "redis",
    "uvicorn",
    "psycopg",
    "aiosqlite",
    "httpx",
    "alembic",
    "alertwhisperer_adapters",
}


def core_modules() -> list[Path]:
    return sorted(CORE.rglob("*.py"))


def dotted_imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def top_level_imports(tree: ast.AST) -> set[str]:
    return {name.split(".")[0] for name in dotted_imports(tree)}


def forbidden(names: set[str]) -> set[str]:
    """Imports of a forbidden module or of any of its submodules."""
    return {n for n in names if any(n == f or n.startswith(f + ".") for f in FORBIDDEN_STDLIB)}


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_only_stdlib_and_its_four_libraries(path: Path) -> None:
    imported = top_level_imports(ast.parse(path.read_text()))
    stdlib = set(sys.stdlib_module_names)
    third_party = {
        name for name in imported if name not in stdlib and name != "alertwhisperer_core"
    }
    assert third_party <= ALLOWED_THIRD_PARTY, (
        f"{path.name} imports {third_party - ALLOWED_THIRD_PARTY}"
    )
    bad = forbidden(dotted_imports(ast.parse(path.read_text())))
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", core_modules(), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_never_reads_the_clock(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in CLOCK_READS, (
                f"{path.name}:{node.lineno} reads the clock with {node.value.id}.{node.attr}"
            )
        if isinstance(node, ast.ImportFrom) and node.module == "time":
            clock = {a.name for a in node.names} & {name for _, name in CLOCK_READS}
            assert not clock, f"{path.name}:{node.lineno} imports clock function {clock}"


def test_service_layer_uses_asyncio_only_through_ports() -> None:
    # The in-memory event bus and store need asyncio primitives; nothing else in the core does.
    allowed = {CORE / "memory" / "_events.py", CORE / "memory" / "_store.py"}
    for path in core_modules():
        if "asyncio" in top_level_imports(ast.parse(path.read_text())):
            assert path in allowed, f"{path.name} imports asyncio"


def test_core_imports_with_no_adapter_package_installed() -> None:
    # Block every adapter-level package, then import the whole public surface of the core.
    blocked = sorted(ADAPTER_PACKAGES)
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import alertwhisperer_core, alertwhisperer_core.normalize, alertwhisperer_core.ports\n"
        "import alertwhisperer_core.memory, alertwhisperer_core.service\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_core_never_imports_an_adapter_module() -> None:
    for path in core_modules():
        imported = top_level_imports(ast.parse(path.read_text()))
        assert not (imported & ADAPTER_PACKAGES), (
            f"{path.name} imports {imported & ADAPTER_PACKAGES}"
        )
