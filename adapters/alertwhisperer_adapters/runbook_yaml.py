"""The guide's runbook YAML (its §4 and §15), read and written.

Reading takes either spelling the guide uses, one runbook per YAML document (``---``)::

    Name: Restart Nginx                      # or "Runbook: Restart Nginx"
    Description: Restart nginx service and verify health
    Signature: service_down:nginx
    Risk Level: low                          # or "Risk: Low (auto-approve)"
    Auto-Approve: true                       # informational: the company policy decides
    Actions:
      - sudo systemctl restart nginx
    Health Checks:                           # or "Health Check:" as a list of one-key items
      type: http                             # http (url, status) or command (command)
      url: http://localhost/healthz
      status: 200
    Timeout: 300                             # optional, seconds
    Company: acme                            # optional; absent means a global runbook

Keys are matched without regard to case, ``-`` or ``_``; an unknown key is refused (a typo
must not silently drop a health check). Only ``yaml.safe_load_all`` is used: no tags, no
objects. Writing produces the §15 spelling, which reads back to the same runbook.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import yaml

from alertwhisperer_core import MalformedPayload, Risk, Runbook, ValidationError
from alertwhisperer_core.service import MAX_IMPORT, NewRunbook

__all__ = ["dump_runbooks", "load_runbooks"]

_KEYS = {
    "name": "name",
    "runbook": "name",
    "description": "description",
    "signature": "signature",
    "risk level": "risk",
    "risk": "risk",
    "auto approve": None,
    "actions": "actions",
    "health checks": "health_check",
    "health check": "health_check",
    "timeout": "timeout_seconds",
    "timeout seconds": "timeout_seconds",
    "company": "company_id",
    "company id": "company_id",
}
_CHECK_KEYS = {
    "type": "kind",
    "kind": "kind",
    "url": "url",
    "status": "expected_status",
    "expected status": "expected_status",
    "command": "command",
}


def _key(raw: object) -> str:
    return re.sub(r"[-_\s]+", " ", str(raw)).strip().lower()


def _risk(value: object, field: str) -> str:
    # "Low (auto-approve)" → "low"
    word = str(value).split("(", 1)[0].strip().lower()
    if word not in {r.value for r in Risk}:
        raise ValidationError.for_field(field, "must be one of low, medium, high")
    return word


def _health_check(value: object, field: str) -> dict[str, Any]:
    items: Iterable[tuple[object, object]]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
        items = [pair for entry in value for pair in entry.items()]
    else:
        raise ValidationError.for_field(field, "must be a mapping (type, url, status / command)")
    check: dict[str, Any] = {}
    for raw, item in items:
        name = _CHECK_KEYS.get(_key(raw))
        if name is None:
            raise ValidationError.for_field(f"{field}.{raw}", "is not a health check key")
        check[name] = item
    return check


def _document(doc: object, where: str) -> NewRunbook:
    if not isinstance(doc, Mapping):
        raise ValidationError.for_field(where, "must be a mapping of runbook fields")
    fields: dict[str, Any] = {}
    for raw, value in doc.items():
        key = _key(raw)
        if key not in _KEYS:
            raise ValidationError.for_field(f"{where}.{raw}", "is not a runbook key")
        name = _KEYS[key]
        if name is None:
            continue
        if name == "risk":
            value = _risk(value, f"{where}.{raw}")
        elif name == "health_check":
            value = _health_check(value, f"{where}.{raw}")
        fields[name] = value
    try:
        return msgspec.convert(fields, NewRunbook)
    except msgspec.ValidationError as error:
        message = str(error)
        path = re.search(r"at `\$(?P<path>[^`]*)`", message)
        field = f"{where}{path['path']}" if path else where
        text = message[: path.start()].strip() if path else message
        raise ValidationError.for_field(field, text.rstrip(" -")) from None


def load_runbooks(text: bytes | str) -> list[NewRunbook]:
    """The runbooks of a YAML stream (one per document); 400 for broken YAML, 422 for bad
    fields (named ``runbooks[i].field``)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise MalformedPayload(f"Malformed YAML: {error}") from None
    if not docs:
        raise ValidationError.for_field("runbooks", "must hold at least one runbook")
    if len(docs) > MAX_IMPORT:
        raise ValidationError.for_field("runbooks", f"must hold at most {MAX_IMPORT} runbooks")
    return [_document(doc, f"runbooks[{i}]") for i, doc in enumerate(docs)]


def _out(runbook: Runbook) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Name": runbook.name,
        "Description": runbook.description,
        "Signature": runbook.signature,
        "Risk Level": runbook.risk.value,
        "Auto-Approve": runbook.risk is Risk.LOW,
        "Actions": list(runbook.actions),
    }
    check = runbook.health_check
    if check is not None:
        if check.kind == "http":
            doc["Health Checks"] = {"type": "http", "url": check.url,
                                    "status": check.expected_status}  # fmt: skip
        else:
            doc["Health Checks"] = {"type": check.kind, "command": check.command}
    doc["Timeout"] = runbook.timeout_seconds
    if runbook.company_id is not None:
        doc["Company"] = runbook.company_id
    return doc


def dump_runbooks(runbooks: Iterable[Runbook]) -> str:
    """The runbooks as a YAML stream in the guide's §15 spelling, one document each."""
    return str(
        yaml.safe_dump_all(
            [_out(r) for r in runbooks], sort_keys=False, allow_unicode=True, explicit_start=True
        )
    )
