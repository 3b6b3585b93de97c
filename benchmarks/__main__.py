"""Run the benchmark suite, each case in a fresh process, and rewrite docs/benchmarks.md.

    python -m benchmarks [CASE ...] [--quick] [--out DIR] [--render-only]
    make bench                                                  (every case, about 9 minutes)

Each case is a module whose ``main()`` prints one JSON object on its last stdout line. Results
go to ``benchmarks/results/latest.json``, tables into the generated section of
``docs/benchmarks.md`` (between ``<!-- results:begin -->`` and ``<!-- results:end -->``) and
plots to ``docs/benchmarks/*.png``; ``--out DIR`` writes all three under DIR instead
(``DIR/latest.json``, ``DIR/benchmarks.md``, ``DIR/benchmarks/``). Running some cases only
keeps the other cases' previous results, each shown with its own date. A progress bar (case
i/n, elapsed) is drawn on stderr while it runs; the load average is recorded around each case,
because this machine is shared: compare figures only as ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alertwhisperer_adapters._progress import Progress

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
CASE_TIMEOUT_S = 900
SUITE_TARGET_S = 15 * 60


class Case:
    def __init__(self, module: str, title: str, full: list[str], quick: list[str]) -> None:
        self.module, self.title, self.full, self.quick = module, title, full, quick


CASES: dict[str, Case] = {
    "core_pipeline": Case(
        "benchmarks.core_pipeline",
        "(a) Core pipeline: bytes to scored incidents",
        [],
        ["--alerts", "100000", "--keys", "1000"],
    ),
    "ingest_stores": Case(
        "benchmarks.bench_ingest_stores",
        "(b) Ingest use case into memory, SQLite, PostgreSQL",
        [
            "--cases",
            "memory_single,memory_batch100,sqlite_single,sqlite_batch100,"
            "postgres_single,postgres_batch100",
            "--repeat",
            "2",
            "--single-alerts",
            "2000",
            "--alerts",
            "20000",
        ],
        [
            "--cases",
            "memory_single,memory_batch100,sqlite_batch100",
            "--repeat",
            "1",
            "--single-alerts",
            "300",
            "--alerts",
            "2000",
        ],
    ),
    "http_latency": Case(
        "benchmarks.http_latency",
        "(c) HTTP server: latency against offered load",
        [],
        ["--duration", "2", "--single-rates", "100,400", "--batch-rates", "500,2000"],
    ),
    "storm_scaling": Case(
        "benchmarks.storm_scaling",
        "(d) Storm scaling: cost per alert vs open incidents",
        [],
        ["--levels", "10,1000,10000", "--stream", "20000", "--repeat", "2"],
    ),
    "memory_per_incident": Case(
        "benchmarks.memory_per_incident",
        "(e) Memory per open incident",
        [],
        ["--traced", "2000", "--rss-incidents", "20000"],
    ),
    "alertmanager": Case(
        "benchmarks.alertmanager_compare",
        "Side by side with Prometheus Alertmanager, and Alertmanager as the sender",
        [],
        ["--duration", "2", "--shapes", "batch100", "--e2e-alerts", "100"],
    ),
    "scaling": Case(
        "benchmarks.bench_scaling",
        "Multi-process scaling (PostgreSQL + Redis, serve --workers N)",
        ["--duration", "10"],
        ["--levels", "1", "--duration", "3"],
    ),
}


# --- running ------------------------------------------------------------------------------


def load_average() -> float | None:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return None


def run_case(name: str, quick: bool) -> dict[str, Any]:
    case = CASES[name]
    started = time.monotonic()
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "load_average_start": load_average(),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", case.module, *(case.quick if quick else case.full)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=CASE_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        result: dict[str, Any] = {"error": [f"timed out after {CASE_TIMEOUT_S} s"]}
    else:
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            result = {"error": done.stderr.strip().splitlines()[-3:] or ["failed"]}
        else:
            try:
                result = json.loads(lines[-1])
            except json.JSONDecodeError:
                result = {"error": [f"last line is not JSON: {lines[-1][:200]}"]}
    result.update(meta)
    result["load_average_end"] = load_average()
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    return result


def run_all(names: list[str], quick: bool) -> dict[str, dict[str, Any]]:
    progress = Progress(len(names), "bench", min_total=1, show_rate=False)
    state = {"note": ""}
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(0.5):
            progress.advance(0, state["note"])

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    results = {}
    try:
        for i, name in enumerate(names, start=1):
            state["note"] = f"[{i}/{len(names)}] {name}"
            print(
                f"\r[{i}/{len(names)}] {name} … (load {load_average()})".ljust(100),
                file=sys.stderr,
                flush=True,
            )
            results[name] = result = run_case(name, quick)
            status = "FAILED" if "error" in result else "done"
            print(
                f"\r[{i}/{len(names)}] {name} {status} in {result['wall_seconds']} s "
                f"(total {progress.elapsed:.0f} s)".ljust(100),
                file=sys.stderr,
                flush=True,
            )
            if "error" in result:
                print("    " + "\n    ".join(result["error"]), file=sys.stderr)
            progress.advance(1)
    finally:
        stop.set()
        ticker.join()
        progress.close()
    return results


# --- rendering ----------------------------------------------------------------------------


def _n(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isinf(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _ms(value: float | None) -> str:
    return "lost (> drain)" if value is None else f"{value:,.1f}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**pass**" if ok else "**miss**")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def render_core(r: dict[str, Any]) -> list[str]:
    rate, floor = r["pipeline_alerts_per_s"], r["floor_alerts_per_s"]
    return _table(
        ["metric", "value", "target", "verdict"],
        [
            [
                "pipeline (bytes → normalize → correlate → score), one core",
                f"{_n(rate)} alerts/s",
                "≥ 200,000",
                _verdict(rate >= 200_000),
            ],
            [
                "bare floor (msgspec decode + dict append), same run",
                f"{_n(floor)} alerts/s",
                "",
                "",
            ],
            [
                "pipeline / floor, same run",
                f"{r['ratio_to_floor']:.2f}",
                "≥ 0.25",
                _verdict(r["ratio_to_floor"] >= 0.25),
            ],
            [
                f"peak RSS ({r['alerts']:,} alerts as bytes in memory)",
                f"{_n(r['peak_rss_mib'])} MiB",
                "",
                "",
            ],
        ],
    )


STORE_TARGETS = {
    "sqlite_single": 2000,
    "sqlite_batch100": 20000,
    "postgres_single": 2000,
    "postgres_batch100": 10000,
}


def render_ingest(r: dict[str, Any]) -> list[str]:
    by_case = {x["case"]: x for x in r["results"]}
    rows = []
    for x in r["results"]:
        if "skipped" in x:
            rows.append([x["case"], "skipped", "", "", "", "", x["skipped"]])
            continue
        shape = x["case"].split("_", 1)[1]
        memory = by_case.get(f"memory_{shape}", {}).get("alerts_per_s")
        target = STORE_TARGETS.get(x["case"])
        rows.append(
            [
                x["case"],
                _n(x["alerts_per_s"]),
                _n(x.get("p50_ms"), 2),
                _n(x.get("p99_ms"), 2),
                f"{x['alerts_per_s'] / memory:.2f}" if memory else "",
                _n(target) if target else "",
                _verdict(x["alerts_per_s"] >= target) if target else "",
            ]
        )
    return [
        f"`ingest_webhook` in one process, {r['concurrency']} concurrent senders, each delivery "
        f"with its own `X-Delivery-ID`; best of {r['repeat']}; SQLite "
        f"`synchronous={r['sqlite_synchronous']}`.",
        "",
        *_table(
            [
                "case",
                "alerts/s",
                "p50 ms",
                "p99 ms",
                "÷ memory store, same shape",
                "target alerts/s",
                "verdict",
            ],
            rows,
        ),
    ]


def render_http(r: dict[str, Any]) -> list[str]:
    rows = [
        [
            p["shape"],
            _n(p["offered_alerts_per_s"]),
            _n(p["served_alerts_per_s"]),
            _ms(p["p50_ms"]),
            _ms(p["p90_ms"]),
            _ms(p["p99_ms"]),
            _n(p["lost"]),
            _n(sum(v for k, v in p["statuses"].items() if not k.startswith("2"))),
            f"{p['generator_cpu_share']:.0%}",
        ]
        for p in r["points"]
    ]
    target = r.get("p99_at_1000_single_ms")
    pinned = r["pinned"]
    return [
        f"Store: {r['store']}. Load: {r['generator']}, {r['connections']} keep-alive "
        f"connections, {r['duration_s']:g} s per rate; server on CPU {pinned['server'] or '?'}, "
        f"generator on CPU {pinned['generator'] or '?'}.",
        "",
        *_table(
            [
                "shape",
                "offered alerts/s",
                "served alerts/s",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "lost",
                "non-2xx",
                "generator CPU",
            ],
            rows,
        ),
        "",
        f"Target p99 < {r['p99_target_ms']:g} ms at 1,000 single alerts/s: "
        + (
            f"{_ms(target)} ms, {_verdict(target is not None and target < r['p99_target_ms'])}"
            if any(p["offered_alerts_per_s"] == 1000 for p in r["points"])
            else "not measured"
        )
        + ".",
    ]


def render_scaling(r: dict[str, Any]) -> list[str]:
    rows = [
        [
            _n(lv["open_incidents"]),
            _n(lv["ns_per_alert"]),
            _n(lv["baseline_ns_per_alert"]),
            f"{lv['ratio_to_baseline']:.2f}",
            _n(lv["alerts_per_s"]),
            _n(lv["rss_bytes_per_incident"]) if lv["open_incidents"] >= 10_000 else "—",
        ]
        for lv in r["levels"]
    ]
    ratio, raw = r["max_min_ratio"], r["raw_max_min_ratio"]
    return [
        *_table(
            [
                "open incidents",
                "ns/alert",
                "ns/alert, 10-incident baseline same process",
                "÷ baseline",
                "alerts/s",
                "RSS B/incident",
            ],
            rows,
        ),
        "",
        f"Max/min across levels of the cost per alert ÷ its same-process baseline: "
        f"**{ratio:.2f}x** (target ≤ {r['target_ratio']:g}x): "
        f"{_verdict(ratio <= r['target_ratio'])}. Max/min of the raw costs, which also carries "
        f"the machine's load drift between levels: {raw:.2f}x.",
    ]


def render_memory(r: dict[str, Any]) -> list[str]:
    target = r["target_bytes"]
    rows = [
        [
            f"tracemalloc, {int(n):,} open incidents (correlator's own allocations)",
            f"{_n(b)} B",
            f"≤ {target:,} B",
            _verdict(b <= target),
        ]
        for n, b in r["tracemalloc_bytes"].items()
    ]
    rows.append(
        [
            f"RSS growth, {r['rss_incidents']:,} open incidents (ids, names, allocator)",
            f"{_n(r['rss_bytes'])} B",
            f"≤ {target:,} B",
            _verdict(r["rss_bytes"] <= target),
        ]
    )
    return _table(["measure", "bytes per open incident", "target", "verdict"], rows)


def render_alertmanager(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return [f"Skipped: {r['skipped']}."]
    rows = []
    for c in r["comparison"]:
        theirs, ours = c["alertmanager"], c["ours"]
        ok = None if c["ratio"] is None else c["ratio"] >= 1.0
        rows.append(
            [
                f"{c['alerts_per_request']} alert(s)/request",
                _n(theirs["alerts_per_s"]),
                _n(ours["alerts_per_s"]),
                f"{c['ratio']:.3f}" if c["ratio"] is not None else "—",
                f"{theirs['p99_ms']:,.1f} / {ours['p99_ms']:,.1f}",
                f"{theirs['non_2xx']} / {ours['non_2xx']}",
                "≥ 1" if c["alerts_per_request"] == 100 else "",
                _verdict(ok) if c["alerts_per_request"] == 100 else "",
            ]
        )
    e2e = [
        [
            ", ".join(e["group_by"]),
            _n(e["alerts"]),
            _n(e["stored"]),
            "yes" if e["complete"] else "**no**",
            f"{e['post_seconds']:.2f}",
            f"{e['seconds']:.2f}",
            _n(e["alerts_per_s"]),
        ]
        for e in r["end_to_end"]
    ]
    return [
        f"{r['alertmanager_version']}. Client: {r['client']}, {r['duration_s']} s per side; "
        f"ours: {r['store']}.",
        "",
        *_table(
            [
                "payload",
                "Alertmanager alerts/s",
                "ours alerts/s",
                "ours ÷ Alertmanager",
                "p99 ms (AM / ours)",
                "non-2xx (AM / ours)",
                "target",
                "verdict",
            ],
            rows,
        ),
        "",
        "End to end, Alertmanager as the sender (posted to Alertmanager, timed until our "
        "server has stored every alert; `group_wait` 1 s):",
        "",
        *_table(
            [
                "Alertmanager group_by",
                "alerts",
                "alerts stored (incl. re-sent groups)",
                "complete",
                "posting s",
                "until all stored s",
                "alerts/s",
            ],
            e2e,
        ),
    ]


def render_processes(r: dict[str, Any]) -> list[str]:
    rows = [
        [
            str(lv["workers"]),
            _n(lv["alerts_per_s"]),
            f"{lv['speedup']:.2f}",
            f"{lv['p50_ms']:.0f}",
            f"{lv['p99_ms']:.0f}",
            f"{lv['machine_busy']:.0%}",
            f"{lv['server_cpu_per_s']:.2f}",
            f"{lv['postgres_cpu_per_s']:.2f}",
            str(lv["non_2xx"] + lv["socket_errors"]),
        ]
        for lv in r["levels"]
    ]
    return [
        f"Single-alert webhooks from wrk ({r['connections']} connections, {r['duration_s']} s "
        f"per level) to `serve --workers N` on PostgreSQL"
        f"{' + Redis' if r.get('redis') else ''}, on a {r['cores']}-core machine shared by the "
        f"workers, PostgreSQL, Redis and the load generator: once the machine is busy, more "
        f"processes cannot help (see docs/deployment.md).",
        "",
        *_table(
            [
                "workers",
                "alerts/s",
                "speed-up vs 1 worker",
                "p50 ms",
                "p99 ms",
                "machine busy",
                "server CPU s/s",
                "PostgreSQL CPU s/s",
                "errors",
            ],
            rows,
        ),
    ]


def render_generic(r: dict[str, Any]) -> list[str]:
    shown = {k: v for k, v in r.items() if k not in META_KEYS}
    return ["```json", json.dumps(shown, indent=2), "```"]


META_KEYS = {"date", "quick", "load_average_start", "load_average_end", "wall_seconds"}
RENDERERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "core_pipeline": render_core,
    "ingest_stores": render_ingest,
    "http_latency": render_http,
    "storm_scaling": render_scaling,
    "memory_per_incident": render_memory,
    "alertmanager": render_alertmanager,
    "scaling": render_processes,
}


def summary(cases: dict[str, dict[str, Any]]) -> list[str]:
    """The issue's targets at a glance."""
    rows = []

    def get(name: str) -> dict[str, Any] | None:
        r = cases.get(name)
        return None if r is None or "error" in r or "skipped" in r else r

    if core := get("core_pipeline"):
        rate = core["pipeline_alerts_per_s"]
        rows.append(
            [
                "core pipeline, one core",
                "≥ 200,000 alerts/s",
                f"{_n(rate)} alerts/s",
                _verdict(rate >= 200_000),
            ]
        )
    if am := get("alertmanager"):
        for c in am["comparison"]:
            if c["alerts_per_request"] == 100 and c["ratio"] is not None:
                rows.append(
                    [
                        "our server ÷ Alertmanager, 100-alert payloads, same stream",
                        "≥ 1",
                        f"{c['ratio']:.3f} ({_n(c['ours']['alerts_per_s'])} vs "
                        f"{_n(c['alertmanager']['alerts_per_s'])} alerts/s)",
                        _verdict(c["ratio"] >= 1),
                    ]
                )
    if sc := get("storm_scaling"):
        levels = [lv["open_incidents"] for lv in sc["levels"]]
        rows.append(
            [
                f"cost per alert, {min(levels):,} → {max(levels):,} open incidents "
                "(÷ same-process baseline)",
                "flat within 2x",
                f"{sc['max_min_ratio']:.2f}x",
                _verdict(sc["max_min_ratio"] <= sc["target_ratio"]),
            ]
        )
    if mem := get("memory_per_incident"):
        worst = max(mem["tracemalloc_bytes"].values())
        rows.append(
            [
                "memory per open incident (tracemalloc)",
                f"≤ {mem['target_bytes']:,} B",
                f"{_n(worst)} B",
                _verdict(worst <= mem["target_bytes"]),
            ]
        )
    if http := get("http_latency"):
        target = http.get("p99_at_1000_single_ms")
        if any(p["offered_alerts_per_s"] == 1000 for p in http["points"]):
            rows.append(
                [
                    "HTTP p99 at 1,000 single alerts/s",
                    f"< {http['p99_target_ms']:g} ms",
                    f"{_ms(target)} ms",
                    _verdict(target is not None and target < http["p99_target_ms"]),
                ]
            )
    return _table(["target", "wanted", "measured", "verdict"], rows) if rows else []


def render(results: dict[str, Any], plots: dict[str, str]) -> str:
    cases = results["cases"]
    wall = results.get("suite_wall_seconds")
    lines = [
        BEGIN,
        "",
        f"Last run: {results['date']}, Python {results['python']}, {results['machine']}; "
        f"load average {results['load_average']} at the start"
        + (
            f", suite wall time {wall / 60:.1f} min (target < {SUITE_TARGET_S // 60} min: "
            f"{_verdict(wall < SUITE_TARGET_S)})"
            if wall and not results["quick"]
            else ""
        )
        + (" (**quick mode**: small inputs, not for comparison)" if results["quick"] else "")
        + ".",
        "",
        *summary(cases),
        "",
    ]
    for name, result in cases.items():
        title = CASES[name].title if name in CASES else name
        lines += [f"### {title}", ""]
        load = f"load {result.get('load_average_start')} → {result.get('load_average_end')}"
        when = f"{result.get('date', '?')}, {result.get('wall_seconds', '?')} s, {load}"
        if result.get("quick"):
            when += ", quick mode"
        lines += [f"_`{name}`: {when}._", ""]
        if "error" in result:
            lines.append("Failed: `" + " / ".join(result["error"]) + "`")
        elif "skipped" in result:
            lines.append(f"Skipped: {result['skipped']}.")
        else:
            try:
                lines += RENDERERS.get(name, render_generic)(result)
            except (KeyError, TypeError, ValueError) as exc:
                lines += [f"(could not render: {exc!r})", *render_generic(result)]
        if name in plots:
            lines += ["", f"![{name}]({plots[name]})"]
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def write_plots(cases: dict[str, dict[str, Any]], directory: Path) -> dict[str, str]:
    """PNG per plotted case; the paths relative to the document's folder."""
    from benchmarks import _plots

    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, plot in _plots.PLOTS.items():
        result = cases.get(name)
        if result is None or "error" in result or "skipped" in result:
            continue
        path = plot(result, directory / f"{name}.png")
        written[name] = f"{directory.name}/{path.name}"
    return written


def write_doc(doc: Path, text: str) -> None:
    old = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    head, found, rest = old.partition(BEGIN)
    if not found:
        head, rest = old.rstrip() + "\n\n", END
    _, _, tail = rest.partition(END)
    doc.write_text(head + text + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    results: dict[str, Any]
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    parser.add_argument("--quick", action="store_true", help="small inputs, for a smoke run")
    parser.add_argument("--out", type=Path, help="write JSON, Markdown and PNGs under this folder")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="run nothing: redraw the tables and plots from the last results JSON",
    )
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    if args.out:
        results_path, doc = args.out / "latest.json", args.out / "benchmarks.md"
        args.out.mkdir(parents=True, exist_ok=True)
    else:
        results_path = ROOT / "benchmarks" / "results" / "latest.json"
        doc = ROOT / "docs" / "benchmarks.md"
    if args.render_only:
        results = json.loads(results_path.read_text())
        text = render(results, write_plots(results["cases"], doc.parent / "benchmarks"))
        write_doc(doc, text)
        print(text)
        return 0
    started = time.monotonic()
    results = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_average": load_average(),
        "quick": args.quick,
        "cases": {},
    }
    fresh = run_all(names, args.quick)
    if not args.cases:
        results["suite_wall_seconds"] = round(time.monotonic() - started, 1)
    # A partial run keeps the other cases' previous results (each carries its own date).
    previous: dict[str, Any] = {}
    if args.cases and results_path.exists():
        previous = json.loads(results_path.read_text()).get("cases", {})
    results["cases"] = {
        n: fresh.get(n, previous.get(n)) for n in CASES if n in fresh or n in previous
    }
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    plots = write_plots(results["cases"], doc.parent / "benchmarks")
    text = render(results, plots)
    write_doc(doc, text)
    print(text)
    failed = [n for n in names if "error" in fresh[n]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
