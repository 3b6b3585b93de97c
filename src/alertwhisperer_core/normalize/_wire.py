"""Decoding at the edge: msgspec errors become our errors here, and only here.

Every source decodes with a module-level ``msgspec.json.Decoder`` into frozen wire structs.
msgspec reports a type error as ``Expected `str`, got `int` - at `$.alerts[0].labels[...]```;
:func:`part_error` and :func:`body_error` turn that into a :class:`NormalizationError` whose
``field`` is the sender's own path (``alerts[0].labels.alertname``). msgspec does not name the
dictionary key it failed on (``[...]``), so on that error path only the document is decoded
again, untyped, to find the first key whose value has the offending JSON type.

A body that is not JSON, is nested too deeply to decode, is not UTF-8, or is JSON but not an
object is :class:`MalformedPayload` (400); everything else is :class:`NormalizationError` (422).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from ..errors import MalformedPayload, NormalizationError

__all__ = [
    "DECODE_FAILURES",
    "body_error",
    "echo",
    "json_type",
    "parse_tag_list",
    "part_error",
]

# What a msgspec decode may raise for hostile input: ValidationError and DecodeError are both
# ValueErrors (as is UnicodeDecodeError for bytes that are not UTF-8), and msgspec recurses,
# so a deeply nested document raises RecursionError.
DECODE_FAILURES = (ValueError, RecursionError)

_LOCATED = re.compile(r"(?s)(?P<message>.*) - at `\$(?P<path>[^`]*)`")
_GOT = re.compile(r"got `(?P<type>[a-z]+)`")
_STEP = re.compile(r"\.(?P<name>[^.\[]+)|\[(?P<index>\d+|\.\.\.)\]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")


def body_error(exc: Exception, body: bytes | str) -> MalformedPayload | NormalizationError:
    """The error for a whole request body that failed to decode."""
    if isinstance(exc, msgspec.ValidationError):
        located = _LOCATED.fullmatch(str(exc))
        if located is not None:
            return _located_error(located, body, prefix="")
        # No path: the document itself has the wrong type.
        return MalformedPayload(f"the body must be a JSON object: {exc}")
    if isinstance(exc, RecursionError):
        return MalformedPayload("the body is nested too deeply")
    return MalformedPayload(f"the body is not valid JSON: {exc}")


def part_error(exc: Exception, data: bytes | str, prefix: str) -> NormalizationError:
    """The error for one part of a payload (an Alertmanager alert, an SNS ``Message``).

    ``prefix`` is the part's own path, e.g. ``alerts[3]`` or ``Message``.
    """
    if isinstance(exc, msgspec.ValidationError):
        located = _LOCATED.fullmatch(str(exc))
        if located is not None:
            return _located_error(located, data, prefix=prefix)
        return NormalizationError(prefix, str(exc))
    if isinstance(exc, RecursionError):
        return NormalizationError(prefix, "nested too deeply")
    return NormalizationError(prefix, f"not valid JSON: {exc}")


def _located_error(located: re.Match[str], data: bytes | str, *, prefix: str) -> NormalizationError:
    message = located["message"]
    path = located["path"]
    if "[...]" in path:
        path = _name_keys(path, data, message)
    if not prefix:
        field = path[1:] if path.startswith(".") else path
    elif path.startswith(("[", ".")):
        field = prefix + path
    else:
        field = f"{prefix}.{path}" if path else prefix
    return NormalizationError(field or "body", message)


def _name_keys(path: str, data: bytes | str, message: str) -> str:
    """Replace msgspec's ``[...]`` with the key that failed, when it can be found."""
    got = _GOT.search(message)
    if got is None:
        return path
    try:
        node: object = msgspec.json.decode(data)
    except DECODE_FAILURES:
        return path
    wanted = got["type"]
    named: list[str] = []
    for step in _STEP.finditer(path):
        name, index = step["name"], step["index"]
        if name is not None:
            if not isinstance(node, Mapping) or name not in node:
                return path
            node = node[name]
            named.append(f".{name}")
        elif index == "...":
            if not isinstance(node, Mapping):
                return path
            key = next((k for k, v in node.items() if json_type(v) == wanted), None)
            if key is None:
                return path
            node = node[key]
            named.append(_key_step(key))
        else:
            position = int(index)
            if not isinstance(node, list) or position >= len(node):
                return path
            node = node[position]
            named.append(f"[{position}]")
    return "".join(named)


def _key_step(key: str) -> str:
    if _IDENTIFIER.fullmatch(key):
        return f".{key}"
    return f"[{msgspec.json.encode(key).decode()}]"


def json_type(value: object) -> str:
    """The JSON type name msgspec uses in its messages (``null``, ``int``, ``object`` …)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def parse_tag_list(text: str) -> dict[str, str]:
    """Parse ``"k:v, k2:v2, bare"`` into labels; a bare tag gets the value ``""``.

    Only the first ``:`` splits, so values may contain colons (``url:http://x``). Later tags
    win over earlier ones with the same key. Empty entries and empty keys are skipped.
    """
    labels: dict[str, str] = {}
    for entry in text.split(","):
        key, _, value = entry.partition(":")
        key = key.strip()
        if key:
            labels[key] = value.strip()
    return labels


_ECHO_LIMIT = 64  # a bad value is echoed back in the error, but never a megabyte of it


def echo(text: str) -> str:
    """Quote a sender's value for an error message, shortened when long."""
    shown = text if len(text) <= _ECHO_LIMIT else text[:_ECHO_LIMIT] + "…"
    return f"'{shown}'"
