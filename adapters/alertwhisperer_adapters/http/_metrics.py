"""Prometheus metrics of one server process, rendered in the text exposition format.

Small on purpose (counters and one histogram, label values fixed by the code, never by
clients) so the hot path pays a dict lookup per request. With several worker processes each
keeps its own numbers; Prometheus sums them across scrapes of each process.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from alertwhisperer_core.ports import Event, EventBus

__all__ = ["DEFAULT_BUCKETS", "Counter", "Histogram", "MeteredEventBus", "Metrics"]

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class Counter:
    """A monotonically increasing count per label combination."""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self._values[labels] = self._values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self._values.get(labels, 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for labels, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.label_names, labels)} {_number(value)}"


class Histogram:
    """Observations in cumulative buckets, with their sum and count, per label combination."""

    def __init__(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(labels)
        self.buckets = tuple(sorted(buckets))
        self._counts: dict[tuple[str, ...], list[int]] = {}
        self._sums: dict[tuple[str, ...], float] = {}

    def observe(self, value: float, *labels: str) -> None:
        counts = self._counts.get(labels)
        if counts is None:
            counts = self._counts[labels] = [0] * (len(self.buckets) + 1)
        # Per-bucket counts here; render() accumulates them, as the format wants.
        counts[bisect.bisect_left(self.buckets, value)] += 1
        self._sums[labels] = self._sums.get(labels, 0.0) + value

    def count(self, *labels: str) -> int:
        return sum(self._counts.get(labels, ()))

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for labels, counts in sorted(self._counts.items()):
            running = 0
            for bound, n in zip((*self.buckets, float("inf")), counts, strict=True):
                running += n
                le = "+Inf" if bound == float("inf") else _number(bound)
                bucket = _labels(self.label_names, labels, f'le="{le}"')
                yield f"{self.name}_bucket{bucket} {running}"
            plain = _labels(self.label_names, labels)
            yield f"{self.name}_sum{plain} {_number(self._sums[labels])}"
            yield f"{self.name}_count{plain} {running}"


class Metrics:
    """Every metric the server exports."""

    def __init__(self) -> None:
        self.requests = Counter(
            "aw_http_requests_total", "HTTP requests answered.", ("method", "route", "status")
        )
        self.latency = Histogram(
            "aw_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ("method", "route"),
        )
        self.alerts_ingested = Counter(
            "aw_alerts_ingested_total", "Alerts accepted by the webhook, by source.", ("source",)
        )
        self.incidents_opened = Counter(
            "aw_incidents_opened_total", "Incidents opened (made visible) by ingestion."
        )
        self.throttled = Counter(
            "aw_webhook_throttled_total",
            "Webhook deliveries refused by the rate limit.",
            ("status",),
        )
        self.rejected = Counter(
            "aw_webhook_rejected_total", "Webhook deliveries rejected, by reason.", ("reason",)
        )
        self.duplicates = Counter(
            "aw_webhook_duplicates_total", "Webhook deliveries answered as duplicates."
        )
        self.redis_fallbacks = Counter(
            "aw_rate_limit_fallback_total",
            "Webhook rate-limit decisions this process made alone because Redis was unreachable.",
        )

    def all(self) -> tuple[Counter | Histogram, ...]:
        return (
            self.requests,
            self.latency,
            self.alerts_ingested,
            self.incidents_opened,
            self.throttled,
            self.rejected,
            self.duplicates,
            self.redis_fallbacks,
        )

    def render(self) -> str:
        """The exposition text (format version 0.0.4)."""
        lines: list[str] = []
        for metric in self.all():
            lines.extend(metric.render())
        return "\n".join(lines) + "\n"


class MeteredEventBus:
    """An :class:`~alertwhisperer_core.ports.EventBus` that counts what it forwards.

    Incidents become visible through ``incident.created`` events (a pending group is announced
    when it activates, not when it is stored), so counting the events counts exactly the
    incidents people see opened.
    """

    def __init__(self, inner: EventBus, metrics: Metrics) -> None:
        self.inner = inner
        self._metrics = metrics

    async def publish(self, event: Event) -> None:
        if event.type == "incident.created":
            self._metrics.incidents_opened.inc()
        await self.inner.publish(event)
