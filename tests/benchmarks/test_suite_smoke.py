"""The benchmark suite's runner, end to end on one cheap case, writing into a temp folder.

Speed targets live in benchmarks/ (and docs/benchmarks.md), never here: this only checks that
the suite still runs and produces its JSON, Markdown and PNG, so CI catches a broken suite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks.md"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_quick_run_writes_json_markdown_and_plot_into_the_out_folder(tmp_path: Path) -> None:
    repo_doc = DOC.read_bytes() if DOC.exists() else None
    done = _run("storm_scaling", "--quick", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "[1/1] storm_scaling done" in done.stderr

    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["quick"] is True
    case = results["cases"]["storm_scaling"]
    assert "error" not in case
    assert [lv["open_incidents"] for lv in case["levels"]] == [10, 1000, 10000]
    assert all(lv["ns_per_alert"] > 0 for lv in case["levels"])
    assert case["load_average_start"] is None or case["load_average_start"] >= 0

    doc = (tmp_path / "benchmarks.md").read_text()
    begin, end = doc.index("<!-- results:begin -->"), doc.index("<!-- results:end -->")
    section = doc[begin:end]
    assert "quick mode" in section
    assert "| open incidents | ns/alert |" in section
    assert "![storm_scaling](benchmarks/storm_scaling.png)" in section
    assert ("**pass**" in section) or ("**miss**" in section)

    png = tmp_path / "benchmarks" / "storm_scaling.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The repository's own document is left alone.
    assert (DOC.read_bytes() if DOC.exists() else None) == repo_doc


def test_an_unknown_case_is_a_usage_error_naming_the_choices(tmp_path: Path) -> None:
    done = _run("no_such_case", "--out", str(tmp_path))
    assert done.returncode == 2
    assert "unknown case no_such_case" in done.stderr
    assert "storm_scaling" in done.stderr
    assert not (tmp_path / "latest.json").exists()
