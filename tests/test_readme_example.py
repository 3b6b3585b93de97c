"""The README's ten-line library example runs and prints what the README says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def library_example() -> str:
    text = README.read_text()
    block = re.search(r"<!-- example:library -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README lost its library example"
    return block.group(1)


def test_readme_library_example_is_at_most_ten_lines_of_logic() -> None:
    lines = [
        line
        for line in library_example().splitlines()
        if line.strip() and not line.startswith(("from ", "import ", "#"))
    ]
    assert len(lines) <= 10


def test_readme_library_example_prints_the_documented_incident() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(library_example(), "README.md", "exec"), {})  # noqa: S102 - our own README
    assert out.getvalue().strip() == "srv-db-03|disk_full 3 critical"
    assert "prints `srv-db-03|disk_full 3 critical`" in README.read_text()
