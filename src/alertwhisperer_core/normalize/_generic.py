"""The generic format (the product guide's own): one alert per request, mapped as is.

Recognised by ``asset_name`` and ``signature``. Optional fields:

- ``severity``: a canonical name or a synonym (see ``SEVERITY_SYNONYMS``); missing → medium.
- ``status``: ``firing`` or ``resolved`` (any case); missing → firing.
- ``message``: missing → the signature, so every alert has something to show.
- ``tool_source``: the display name of the reporting tool; missing or empty → ``Generic``.
- ``timestamp``: ISO 8601, or epoch seconds as a number or a numeric string; missing → the
  moment the request was received.
- ``labels``: an object whose values are strings, numbers or booleans (kept as their text;
  booleans as ``true``/``false``); a nested value is a 422.
- ``fingerprint``: kept as the alert's fingerprint (pairs a resolved alert with its firing one).
- ``delivery_id``, else ``id``: the sender's stable id for the request (``generic:<id>``).

``null`` counts as missing for every optional field; ``asset_name`` and ``signature`` must be
non-empty strings. This is the hot path: :func:`~._normalize.normalize` decodes every payload
with :data:`GENERIC_DECODER` first, and a payload that has both names is generic, whatever
else it has. The wire struct holds only the generic fields (every field the payload lacks is a
default msgspec fills in and frees again, ~45 machine instructions each); other payloads are
detected by a second, untyped probe (``_detect.Probe``). The mapping above is written out in
``normalize`` itself, which spares the hot path a function call; the tables and the helpers of
its rare branches are here.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from .._models import AlertStatus, Severity
from ..errors import NormalizationError
from ._wire import echo

__all__ = [
    "FIRING",
    "GENERIC_DECODER",
    "SEVERITY_OF",
    "GenericWire",
    "check_names",
    "labels_of",
    "own_delivery_id",
    "status_of",
]

_LabelValue = str | int | float | bool


class GenericWire(msgspec.Struct, frozen=True, gc=False):
    """A generic alert as sent."""

    asset_name: str | UnsetType = UNSET
    signature: str | UnsetType = UNSET
    severity: str | None = None
    status: str | None = None
    message: str | None = None
    tool_source: str | None = None
    timestamp: str | int | float | None = None
    labels: dict[str, _LabelValue] | None = None
    fingerprint: str | None = None
    delivery_id: str | None = None
    id: str | int | UnsetType | None = UNSET


GENERIC_DECODER = msgspec.json.Decoder(GenericWire)

_STATUS = {"firing": AlertStatus.FIRING, "resolved": AlertStatus.RESOLVED}
FIRING = AlertStatus.FIRING
# A missing severity (None) is medium: one lookup serves the usual cases.
SEVERITY_OF: dict[str | None, Severity] = {None: Severity.MEDIUM}
"""Severity by canonical name, and medium for a missing one; anything else: parse_severity."""
SEVERITY_OF.update((severity.value, severity) for severity in Severity)


def check_names(wire: GenericWire) -> None:
    """Raise the error for a missing or empty ``asset_name`` or ``signature``, in that order."""
    # strip() is empty exactly for an empty or all-whitespace name, and returns the string
    # itself (no copy) for the usual name.
    asset_name = wire.asset_name
    if asset_name is UNSET or not asset_name.strip():
        raise NormalizationError("asset_name", _missing_or_empty(asset_name))
    signature = wire.signature
    if signature is UNSET or not signature.strip():
        raise NormalizationError("signature", _missing_or_empty(signature))


def _missing_or_empty(value: str | UnsetType) -> str:
    return "missing" if value is UNSET else "must not be empty"


def status_of(text: str) -> AlertStatus:
    """The status a sender named (any case); ``NormalizationError`` for anything else."""
    found = _STATUS.get(text) or _STATUS.get(text.strip().lower())
    if found is None:
        raise NormalizationError("status", f"unknown status {echo(text)}; use firing or resolved")
    return found


def labels_of(raw_labels: dict[str, _LabelValue]) -> dict[str, str]:
    """Label values as text (booleans as ``true``/``false``)."""
    return {k: v if type(v) is str else _label_text(v) for k, v in raw_labels.items()}


def _label_text(value: _LabelValue) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def own_delivery_id(wire: GenericWire) -> str:
    """``generic:<delivery_id or id>``, or ``""`` when the payload has neither."""
    if wire.delivery_id:
        return f"generic:{wire.delivery_id}"
    own = wire.id
    if own is None or own is UNSET or own == "":
        return ""
    return f"generic:{own}"
