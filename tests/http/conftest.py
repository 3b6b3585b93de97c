"""Fixtures of the HTTP tests: the app over the in-memory core, with two tenants."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..support.api import Api, running_api


@pytest.fixture
def api() -> Iterator[Api]:
    with running_api() as running:
        yield running
