"""PNG plots of the suite's results (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after use(): the backend must be chosen first


def _save(figure: Any, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def http_latency(result: dict[str, Any], path: Path) -> Path:
    """Served alerts/s and p50/p99 latency against offered load, one row per shape."""
    shapes = [s for s in ("single", "batch100") if any(p["shape"] == s for p in result["points"])]
    figure, axes = plt.subplots(len(shapes), 2, figsize=(11, 4 * len(shapes)), squeeze=False)
    titles = {"single": "one alert per request", "batch100": "100-alert Alertmanager payloads"}
    for row, shape in zip(axes, shapes, strict=True):
        points = sorted(
            (p for p in result["points"] if p["shape"] == shape),
            key=lambda p: p["offered_alerts_per_s"],
        )
        offered = [p["offered_alerts_per_s"] for p in points]
        served = [p["served_alerts_per_s"] for p in points]
        row[0].plot(offered, offered, "--", color="grey", label="offered (ideal)")
        row[0].plot(offered, served, "o-", label="served")
        row[0].set(xlabel="offered alerts/s", ylabel="alerts/s answered",
                   title=f"Throughput, {titles[shape]}")  # fmt: skip
        row[0].legend()
        # A lost request makes its percentile infinite: drawn at the top, marked "lost".
        ceiling = 1000 * (max(p["schedule_seconds"] for p in points) + 5)
        for key, style in (("p50_ms", "o-"), ("p99_ms", "s-")):
            values = [p[key] if p[key] is not None else ceiling for p in points]
            row[1].plot(offered, values, style, label=key.replace("_ms", ""))
            for x, p in zip(offered, points, strict=True):
                if p[key] is None:
                    row[1].annotate("lost", (x, ceiling), textcoords="offset points",
                                    xytext=(0, 4), ha="center", fontsize=8)  # fmt: skip
        row[1].set_yscale("log")
        row[1].set(xlabel="offered alerts/s", ylabel="latency, ms (log)",
                   title=f"Latency, {titles[shape]}")  # fmt: skip
        row[1].legend()
        for axis in row:
            axis.grid(True, alpha=0.3)
    figure.suptitle("HTTP server, one worker, embedded SQLite: open-loop load from the other core")
    return _save(figure, path)


def storm_scaling(result: dict[str, Any], path: Path) -> Path:
    """Cost per alert against open incidents (log x): raw, and relative to the baseline."""
    levels = sorted(result["levels"], key=lambda lv: lv["open_incidents"])
    x = [lv["open_incidents"] for lv in levels]
    cost = [lv["ns_per_alert"] for lv in levels]
    base = [lv["baseline_ns_per_alert"] for lv in levels]
    ratio = [lv["ratio_to_baseline"] for lv in levels]
    relative = [r / min(ratio) for r in ratio]
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.plot(x, cost, "o-", label="with N open incidents")
    left.plot(x, base, "x--", color="grey", label="10-incident baseline, same process")
    left.set_ylim(0, max(cost + base) * 1.15)
    left.set(xlabel="open incidents (log)", ylabel="ns per alert (Correlator.observe)",
             title="Cost per alert (moves with the machine's load)")  # fmt: skip
    right.plot(x, relative, "o-", label="cost ÷ same-process baseline, ÷ its minimum")
    right.axhline(result["target_ratio"], color="red", linestyle=":",
                  label=f"target: within {result['target_ratio']:g}x")  # fmt: skip
    right.set_ylim(0, max(max(relative), result["target_ratio"]) * 1.2)
    right.set(xlabel="open incidents (log)", ylabel="relative cost",
              title="Relative cost (load drift cancelled): the verdict")  # fmt: skip
    for axis in (left, right):
        axis.set_xscale("log")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("Storm scaling: cost per alert as open incidents grow")
    return _save(figure, path)


def alertmanager(result: dict[str, Any], path: Path) -> Path:
    """Alerts/s of Alertmanager and of our server on the same stream, per shape."""
    rows = result["comparison"]
    labels = [r["shape"] for r in rows]
    theirs = [r["alertmanager"]["alerts_per_s"] for r in rows]
    ours = [r["ours"]["alerts_per_s"] for r in rows]
    figure, axis = plt.subplots(figsize=(7, 4))
    width = 0.38
    xs = range(len(rows))
    axis.bar([i - width / 2 for i in xs], theirs, width, label="Alertmanager 0.25")
    axis.bar([i + width / 2 for i in xs], ours, width, label="Alert Whisperer (SQLite)")
    axis.set_xticks(list(xs), labels)
    top = max(theirs + ours + [1])
    axis.set_yscale("log")
    axis.set_ylim(max(1, min(theirs + ours + [top]) / 3), top * 3)
    axis.set(ylabel="alerts/s (log)", title="Same stream, same client, one core each")
    for i, row in enumerate(rows):
        if row["ratio"] is not None and not math.isnan(row["ratio"]):
            axis.annotate(f"ratio {row['ratio']:.2f}", (i, top * 1.5), ha="center", fontsize=9)
    axis.legend(loc="upper right", fontsize=8)
    axis.grid(True, axis="y", alpha=0.3)
    return _save(figure, path)


PLOTS = {"http_latency": http_latency, "storm_scaling": storm_scaling, "alertmanager": alertmanager}
