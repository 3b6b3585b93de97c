"""Which sender wrote a payload: full detection, and a cheap sniff for the rate limiter.

Detection follows SPEC §2's "how it is recognised" column and checks the sources in the order
of :data:`SOURCES`; the first whose identifying keys are all present wins (only presence
counts, not the values' types: a generic payload whose ``asset_name`` is a number is still
generic, and its error names ``asset_name``).

:func:`sniff_sender` runs before anything is parsed, when a throttled request must be answered
429 or 503 (SPEC §5.3): it only searches the raw bytes for the quoted identifying keys, so it
cannot tell a top-level key from a nested one. That is the price of being cheap; a wrong guess
only picks the other of two throttling answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec
from msgspec import Raw

from ._delivery import SOURCES

__all__ = ["PROBE_DECODER", "Probe", "detect_probe", "detect_source", "sniff_sender"]

# source → groups of keys; every group needs one of its keys present.
_RULES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("generic", (("asset_name",), ("signature",))),
    ("alertmanager", (("version",), ("alerts",))),
    ("datadog", (("alert_transition",), ("alert_id", "id"))),
    ("zabbix", (("eventid",), ("eventvalue",))),
    ("cloudwatch", (("Type",), ("TopicArn",), ("Message",))),
)
_NEEDLES = tuple(
    (source, tuple(tuple(f'"{key}"'.encode() for key in group) for group in groups))
    for source, groups in _RULES
)
_SNS_USER_AGENT = "Amazon Simple Notification Service Agent"


class Probe(msgspec.Struct, frozen=True, gc=False):
    """Presence of every identifying key, whatever its value (decodes any JSON object)."""

    asset_name: Raw = Raw()
    signature: Raw = Raw()
    version: Raw = Raw()
    alerts: Raw = Raw()
    alert_transition: Raw = Raw()
    alert_id: Raw = Raw()
    id: Raw = Raw()
    eventid: Raw = Raw()
    eventvalue: Raw = Raw()
    Type: Raw = Raw()
    TopicArn: Raw = Raw()
    Message: Raw = Raw()


PROBE_DECODER = msgspec.json.Decoder(Probe)


def _detect(has: Callable[[str], bool]) -> str | None:
    for source, groups in _RULES:
        if all(any(has(key) for key in group) for group in groups):
            return source
    return None


def detect_source(payload: Mapping[str, object]) -> str | None:
    """The source whose identifying keys ``payload`` has, or None when none fits."""
    return _detect(payload.__contains__)


def detect_probe(probe: Probe) -> str | None:
    """:func:`detect_source` for a decoded :class:`Probe`.

    Spelled out rather than driven by ``_RULES`` because it runs for every delivery that is not
    generic; property tests check that it agrees with :func:`detect_source`.
    """
    # An absent field keeps its empty default; a present value is at least one byte.
    if probe.asset_name and probe.signature:
        return "generic"
    if probe.version and probe.alerts:
        return "alertmanager"
    if probe.alert_transition and (probe.alert_id or probe.id):
        return "datadog"
    if probe.eventid and probe.eventvalue:
        return "zabbix"
    if probe.Type and probe.TopicArn and probe.Message:
        return "cloudwatch"
    return None


def sniff_sender(
    body: bytes, *, user_agent: str | None = None, source: str | None = None
) -> str | None:
    """A cheap guess of the sender, made before parsing; never raises.

    ``source`` (the ``?source=`` parameter) wins when it names a known source, then the
    User-Agent (``Alertmanager/…``, SNS's agent), then a byte search of the body for the
    quoted identifying keys, in detection order. None when nothing points anywhere.
    """
    if isinstance(source, str):
        named = source.strip().lower()
        if named in SOURCES:
            return named
    if isinstance(user_agent, str):
        if user_agent.startswith("Alertmanager/"):
            return "alertmanager"
        if user_agent.startswith(_SNS_USER_AGENT):
            return "cloudwatch"
    if isinstance(body, memoryview | bytearray):
        body = bytes(body)
    if not isinstance(body, bytes):
        return None
    for name, groups in _NEEDLES:
        if all(any(needle in body for needle in group) for group in groups):
            return name
    return None
