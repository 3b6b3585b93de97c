"""Which runbook answers an incident's signature (SPEC §7), and what a valid runbook is.

A runbook's ``signature`` is an exact signature or a glob (``*``, ``?``, ``[abc]``,
``[!abc]``), matched case-sensitively against the whole incident signature: signatures are
identifiers such as ``service_down:nginx``. When several runbooks match, the most specific
wins, compared in this order:

1. scoped to the incident's company over global (a company's own fix overrides the library);
2. exact over glob;
3. among globs, more literal characters (a bracket expression counts as none, it matches a
   choice);
4. name, then id, so the choice never depends on storage order.

Runbooks of another company never match.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

from ._models import Risk, Runbook
from .errors import ValidationError

__all__ = [
    "MAX_TIMEOUT_SECONDS",
    "is_glob",
    "literal_length",
    "match_runbook",
    "signature_matches",
    "validate_runbook",
    "validate_signature_pattern",
]

MAX_TIMEOUT_SECONDS = 3600
_MAX_SIGNATURE = 500
_MAX_NAME = 200
_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` uses glob syntax rather than naming one signature."""
    return not _GLOB_CHARS.isdisjoint(pattern)


def signature_matches(pattern: str, signature: str) -> bool:
    """Whether a runbook ``pattern`` (exact or glob) matches ``signature``."""
    if is_glob(pattern):
        return fnmatchcase(signature, pattern)
    return pattern == signature


def literal_length(pattern: str) -> int:
    """How many characters of ``pattern`` must appear literally in a matching signature."""
    count, i = 0, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "[":
            close = _bracket_end(pattern, i)
            if close is not None:
                i = close + 1
                continue
        if char not in "*?":
            count += 1
        i += 1
    return count


def match_runbook(signature: str, company_id: str, runbooks: Iterable[Runbook]) -> Runbook | None:
    """The most specific runbook for ``signature`` in ``company_id`` (module docstring), or None."""
    best: Runbook | None = None
    best_key: tuple[bool, bool, int, str, str] | None = None
    for runbook in runbooks:
        if runbook.company_id is not None and runbook.company_id != company_id:
            continue
        if not signature_matches(runbook.signature, signature):
            continue
        glob = is_glob(runbook.signature)
        # Smaller sorts first: scoped, exact, more literals, then name and id.
        key = (
            runbook.company_id is None,
            glob,
            -literal_length(runbook.signature) if glob else 0,
            runbook.name,
            runbook.id,
        )
        if best_key is None or key < best_key:
            best, best_key = runbook, key
    return best


def validate_signature_pattern(pattern: object, *, field: str = "signature") -> None:
    """Refuse an empty, over-long or malformed runbook signature, or a glob of no literal."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValidationError.for_field(field, "must be a non-empty string like 'disk_full'")
    if pattern != pattern.strip():
        raise ValidationError.for_field(field, "must not start or end with whitespace")
    if len(pattern) > _MAX_SIGNATURE:
        raise ValidationError.for_field(field, f"must be at most {_MAX_SIGNATURE} characters")
    i = pattern.find("[")
    while i != -1:
        close = _bracket_end(pattern, i)
        if close is None:
            # fnmatch would quietly read it as a literal "[": almost surely a typo.
            raise ValidationError.for_field(field, f"unclosed '[' at position {i}")
        i = pattern.find("[", close + 1)
    if is_glob(pattern) and literal_length(pattern) == 0:
        raise ValidationError.for_field(
            field, "has no literal character, so it matches almost any signature; name one"
        )


def validate_runbook(runbook: Runbook) -> None:
    """Raise :class:`ValidationError` naming the first invalid field of ``runbook``.

    Name non-empty; signature a valid exact signature or glob; risk a :class:`Risk`; at least
    one non-empty action; ``timeout_seconds`` 1 to 3600; a health check of kind ``http`` with
    an http(s) URL and a status 100 to 599, or of kind ``command`` with a command; a company
    scope, if any, non-empty.
    """
    if not isinstance(runbook.name, str) or not runbook.name.strip():
        raise ValidationError.for_field("name", "must be a non-empty string")
    if len(runbook.name) > _MAX_NAME:
        raise ValidationError.for_field("name", f"must be at most {_MAX_NAME} characters")
    validate_signature_pattern(runbook.signature)
    if not isinstance(runbook.risk, Risk):
        raise ValidationError.for_field("risk", "must be one of low, medium, high")
    if not runbook.actions:
        raise ValidationError.for_field("actions", "must list at least one command")
    for i, action in enumerate(runbook.actions):
        if not isinstance(action, str) or not action.strip():
            raise ValidationError.for_field(f"actions[{i}]", "must be a non-empty command")
    timeout = runbook.timeout_seconds
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise ValidationError.for_field("timeout_seconds", "must be an integer")
    if not 1 <= timeout <= MAX_TIMEOUT_SECONDS:
        raise ValidationError.for_field(
            "timeout_seconds", f"must be between 1 and {MAX_TIMEOUT_SECONDS}"
        )
    if runbook.company_id is not None and (
        not isinstance(runbook.company_id, str) or not runbook.company_id
    ):
        raise ValidationError.for_field("company_id", "must be a company id or null")
    _validate_health_check(runbook)


def _validate_health_check(runbook: Runbook) -> None:
    check = runbook.health_check
    if check is None:
        return
    if check.kind == "http":
        url = check.url
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValidationError.for_field("health_check.url", "must be an http(s) URL")
        status = check.expected_status
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            raise ValidationError.for_field(
                "health_check.expected_status", "must be an HTTP status between 100 and 599"
            )
    elif check.kind == "command":
        if not isinstance(check.command, str) or not check.command.strip():
            raise ValidationError.for_field("health_check.command", "must be a non-empty command")
    else:
        raise ValidationError.for_field("health_check.kind", "must be 'http' or 'command'")


def _bracket_end(pattern: str, start: int) -> int | None:
    # fnmatch's rules: "!" negates, and a "]" right after "[" or "[!" is a member, not the end.
    i = start + 1
    if i < len(pattern) and pattern[i] == "!":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    close = pattern.find("]", i)
    return None if close == -1 else close
