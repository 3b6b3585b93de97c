"""Scaffolding of the per-source normalization tests: deliveries of company ``acme`` received at
a fixed time, the captured fixtures of ``tests/fixtures``, and variants of them."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from alertwhisperer_core import Alert
from alertwhisperer_core.errors import NormalizationError
from alertwhisperer_core.normalize import Delivery, normalize

FIXTURES = Path(__file__).parent.parent / "fixtures"


def ids() -> Callable[[], str]:
    """Alert ids alert-1, alert-2, ... (a fresh sequence for each delivery)."""
    counter = itertools.count(1)
    return lambda: f"alert-{next(counter)}"


def fixture(name: str) -> dict[str, Any]:
    """A JSON fixture of ``tests/fixtures``, decoded (a fresh copy each time)."""
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def changed(payload: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` with ``changes`` applied; a key set to ``...`` is removed."""
    return {k: v for k, v in {**payload, **changes}.items() if v is not ...}


@attrs.frozen
class Normalize:
    """``normalize`` for company ``acme`` with ``received`` as the receive time unless a test
    passes ``received_at``; payloads are dicts (sent as JSON) or raw bytes."""

    received: datetime

    def __call__(self, payload: Mapping[str, Any] | bytes, **options: Any) -> Delivery:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        options.setdefault("received_at", self.received)
        return normalize(body, company_id="acme", new_id=ids(), **options)

    def one(self, payload: Mapping[str, Any] | bytes, **options: Any) -> Alert:
        """The one alert of the delivery."""
        (alert,) = self(payload, **options).alerts
        return alert

    def rejected(self, payload: Mapping[str, Any] | bytes, **options: Any) -> NormalizationError:
        """The error the delivery is rejected with."""
        with pytest.raises(NormalizationError) as caught:
            self(payload, **options)
        return caught.value
