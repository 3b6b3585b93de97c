"""Without a browser the browser tests skip with the reason, except in CI where they fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..support import dashboard
from .conftest import require_browser


def test_a_missing_chromium_skips_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dashboard, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.delenv("AW_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        require_browser()


def test_a_missing_chromium_fails_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(dashboard, "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setenv("AW_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="AW_REQUIRE_SERVICES=1"):
        require_browser()
