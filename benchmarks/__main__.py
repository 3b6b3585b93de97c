"""Run every benchmark case, each in a fresh process, and rewrite docs/benchmarks.md.

    python -m benchmarks [CASE ...] [--quick]

Each case is a module whose ``main()`` prints one JSON object on its last stdout line. Results
go to ``benchmarks/results/latest.json`` and into the generated section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

# name → (module, full arguments, quick arguments)
CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "core_pipeline": ("benchmarks.core_pipeline", [], ["--alerts", "200000"]),
}


def run_case(name: str, quick: bool) -> dict[str, Any]:
    module, full, short = CASES[name]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", module, *(short if quick else full)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"case": name, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def render_core(result: dict[str, Any]) -> list[str]:
    rows = [
        (
            "pipeline (bytes → normalize → correlate → score)",
            f"{result['pipeline_alerts_per_s']:,.0f} alerts/s",
            "≥ 200,000",
        ),
        (
            "bare floor (msgspec decode + dict append)",
            f"{result['floor_alerts_per_s']:,.0f} alerts/s",
            "n/a",
        ),
        ("pipeline / floor, same run", f"{result['ratio_to_floor']:.2f}", "≥ 0.25"),
        ("memory per open incident", f"{result['bytes_per_open_incident']:,.0f} B", "≤ 1,024 B"),
        (
            f"peak RSS ({result['alerts']:,} alerts as bytes in memory)",
            f"{result['peak_rss_mib']:,.0f} MiB",
            "n/a",
        ),
    ]
    return ["| metric | value | target |", "| --- | --- | --- |"] + [
        f"| {name} | {value} | {target} |" for name, value, target in rows
    ]


RENDERERS = {"core_pipeline": render_core}


def render(results: dict[str, Any]) -> str:
    lines = [
        BEGIN,
        "",
        f"Last run: {results['date']}, Python {results['python']}, "
        f"{results['machine']}, load average at start {results['load_average']}"
        f"{' (quick mode)' if results['quick'] else ''}.",
        "",
    ]
    for name, result in results["cases"].items():
        lines.append(f"### {name}")
        lines.append("")
        if "error" in result:
            lines.append(f"Failed: `{result['error']}`")
        else:
            lines.extend(
                RENDERERS.get(name, lambda r: [f"```\n{json.dumps(r, indent=2)}\n```"])(result)
            )
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_doc(results: dict[str, Any]) -> None:
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + render(results) + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    parser.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke run")
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": load_average(),
        "quick": args.quick,
        "cases": {},
    }
    for n, name in enumerate(names, start=1):
        print(f"[{n}/{len(names)}] {name} …", file=sys.stderr, flush=True)
        results["cases"][name] = run_case(name, args.quick)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    write_doc(results)
    print(render(results))
    return 0 if all("error" not in r for r in results["cases"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
