"""Shared test configuration: hypothesis profiles and service URLs."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# A fast profile for the edit-test loop and a thorough one for CI (selected by CI=true).
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def service_url(variable: str) -> str:
    """The URL of a test service; skip when unset, fail under AW_REQUIRE_SERVICES=1 (CI)."""
    import pytest

    url = os.environ.get(variable)
    if url:
        return url
    if os.environ.get("AW_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{variable} is not set but AW_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{variable} is not set; this test needs a real server")
