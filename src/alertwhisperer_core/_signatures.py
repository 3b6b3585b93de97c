"""Webhook signature verification (SPEC §5.4): the guide's HMAC and Standard Webhooks.

Two schemes are accepted, both keyed by the company's secrets (the current one first, then
previous ones still honoured during a rotation):

``hmac-sha256`` (the guide's)
    ``x-timestamp: <unix seconds>`` and
    ``x-signature: sha256=<hex HMAC-SHA256(secret UTF-8, f"{timestamp}.{raw body}")>``.
``standard-webhooks`` (https://www.standardwebhooks.com)
    ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256(key,
    f"{id}.{timestamp}.{raw body}")>``, possibly several space-separated signatures. The key is
    the base64-decoded part after ``whsec_`` when the secret has that prefix (what
    :func:`generate_webhook_secret` makes), else the secret's UTF-8 bytes; so one secret string
    serves both schemes.

The body is signed as the bytes received, never re-serialized. Timestamps are canonical
decimal unix seconds and must lie within :data:`SIGNATURE_TOLERANCE` of ``now`` either way
(both bounds inclusive). Every expected MAC is compared with every candidate by
``hmac.compare_digest`` without stopping at the first match, so timing tells nothing about
which secret or which candidate matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from .errors import SignatureRejected

__all__ = [
    "HMAC_SCHEME",
    "MIN_SECRET_BYTES",
    "SIGNATURE_TOLERANCE",
    "STANDARD_WEBHOOKS_SCHEME",
    "VerifiedSignature",
    "generate_webhook_secret",
    "sign_hmac",
    "sign_standard_webhook",
    "verify_signature",
]

SIGNATURE_TOLERANCE = timedelta(seconds=300)
"""How far a signed timestamp may lie before or after ``now``."""

MIN_SECRET_BYTES = 32
HMAC_SCHEME = "hmac-sha256"
STANDARD_WEBHOOKS_SCHEME = "standard-webhooks"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_TOLERANCE_US = SIGNATURE_TOLERANCE // _MICROSECOND
# The replay guard keeps a key one second past the last instant the timestamp is accepted, so
# no store's inclusive/exclusive expiry convention can open a gap at the boundary.
_REPLAY_MARGIN = timedelta(seconds=1)
_WHSEC_PREFIX = "whsec_"
# Canonical decimal only (no sign, no leading zeros, ASCII digits): the sender signs the string
# it sends, and a lenient parse would verify a different string than the one signed.
_TIMESTAMP = re.compile(r"0|[1-9][0-9]{0,11}")
_HMAC_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
# Visible ASCII, bounded: the id becomes part of a replay key held in a shared store.
_MESSAGE_ID = re.compile(r"[!-~]{1,256}")
# More signatures than this in one header is abuse, not key rotation.
_MAX_CANDIDATES = 16
_STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_HMAC_HEADERS = ("x-signature", "x-timestamp")


@attrs.frozen
class VerifiedSignature:
    """A signature that verified.

    The service must remember ``replay_key`` until ``expires_at`` and reject the request if
    the key was already there (``await replay_guard.remember(key, expires_at)``). The key is
    the same for a byte-identical request and differs for any re-signed one.
    ``message_id`` is the sender's ``webhook-id`` (Standard Webhooks only): stable across the
    sender's retries, so it serves as the delivery id when ``X-Delivery-ID`` is absent.
    """

    scheme: str
    replay_key: str
    expires_at: datetime
    message_id: str | None = None


def generate_webhook_secret(random_bytes: bytes) -> str:
    """A secret shown once to the company: ``"whsec_" + base64(random_bytes)``.

    The caller supplies the randomness (at least :data:`MIN_SECRET_BYTES` bytes from a CSPRNG);
    the core never draws any itself.
    """
    if len(random_bytes) < MIN_SECRET_BYTES:
        raise ValueError(f"a webhook secret needs at least {MIN_SECRET_BYTES} random bytes")
    return _WHSEC_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def sign_hmac(secret: str, body: bytes, timestamp: int) -> str:
    """The guide's ``X-Signature`` value: ``"sha256=<hex>"`` over ``f"{timestamp}.{body}"``."""
    return "sha256=" + _hmac_digest(_hmac_key(secret), str(timestamp), body).hex()


def sign_standard_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """A Standard Webhooks ``webhook-signature`` entry: ``"v1,<base64>"``."""
    digest = _standard_digest(_standard_key(secret), msg_id, str(timestamp), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_signature(
    secrets: Sequence[str], body: bytes, headers: Mapping[str, str], now: datetime
) -> VerifiedSignature:
    """Verify a webhook request against any of the company's ``secrets``.

    ``headers`` must have lower-case names (as ASGI delivers them). Any ``webhook-*`` header
    selects Standard Webhooks; otherwise ``x-signature``/``x-timestamp`` select the guide's
    HMAC. Raises :class:`~alertwhisperer_core.errors.SignatureRejected` with ``reason``
    ``missing`` (a required header absent or empty), ``malformed`` (unparseable header),
    ``stale`` or ``future`` (timestamp outside the tolerance), or ``mismatch`` (no secret
    produced any presented signature). Raises ``ValueError`` when ``secrets`` is empty or a
    secret is unusable: that is a configuration fault, not the sender's.
    """
    if isinstance(secrets, str):
        raise TypeError("secrets must be a sequence of secrets, not one string")
    if not secrets:
        raise ValueError("at least one secret is needed to verify a signature")
    if any(name in headers for name in _STANDARD_HEADERS):
        return _verify_standard(secrets, body, headers, now)
    if any(name in headers for name in _HMAC_HEADERS):
        return _verify_hmac(secrets, body, headers, now)
    raise SignatureRejected("missing")


def _verify_hmac(
    secrets: Sequence[str], body: bytes, headers: Mapping[str, str], now: datetime
) -> VerifiedSignature:
    raw_signature = headers.get("x-signature", "").strip()
    raw_timestamp = headers.get("x-timestamp", "").strip()
    if not raw_signature or not raw_timestamp:
        raise SignatureRejected("missing")
    match = _HMAC_SIGNATURE.fullmatch(raw_signature)
    if match is None:
        raise SignatureRejected("malformed")
    timestamp = _check_timestamp(raw_timestamp, now)
    presented = bytes.fromhex(match.group(1))
    matched = False
    for secret in secrets:
        expected = _hmac_digest(_hmac_key(secret), raw_timestamp, body)
        matched |= hmac.compare_digest(expected, presented)
    if not matched:
        raise SignatureRejected("mismatch")
    # Lower-cased so a replay cannot dodge the guard by changing the hex digits' case.
    return VerifiedSignature(
        scheme=HMAC_SCHEME,
        replay_key="sha256=" + presented.hex(),
        expires_at=_replay_expiry(timestamp),
    )


def _verify_standard(
    secrets: Sequence[str], body: bytes, headers: Mapping[str, str], now: datetime
) -> VerifiedSignature:
    msg_id = headers.get("webhook-id", "").strip()
    raw_timestamp = headers.get("webhook-timestamp", "").strip()
    raw_signatures = headers.get("webhook-signature", "").strip()
    if not msg_id or not raw_timestamp or not raw_signatures:
        raise SignatureRejected("missing")
    if _MESSAGE_ID.fullmatch(msg_id) is None:
        raise SignatureRejected("malformed")
    entries = raw_signatures.split()
    if len(entries) > _MAX_CANDIDATES:
        raise SignatureRejected("malformed")
    candidates = [sig for sig in map(_parse_v1, entries) if sig is not None]
    if not candidates:
        # Nothing we can check: only other versions (e.g. asymmetric v1a) or garbage.
        raise SignatureRejected("malformed")
    timestamp = _check_timestamp(raw_timestamp, now)
    matched = False
    for secret in secrets:
        expected = _standard_digest(_standard_key(secret), msg_id, raw_timestamp, body)
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureRejected("mismatch")
    # Keyed on id and timestamp, not the id alone: a sender's retry of the same message is
    # re-signed with a fresh timestamp and must reach the idempotency step (200 duplicate),
    # while a captured request replayed as is carries the same pair and is refused. The
    # header's signature list is not part of the key, so reordering it cannot dodge the guard.
    return VerifiedSignature(
        scheme=STANDARD_WEBHOOKS_SCHEME,
        replay_key=f"swh:{msg_id}.{raw_timestamp}",
        expires_at=_replay_expiry(timestamp),
        message_id=msg_id,
    )


def _parse_v1(entry: str) -> bytes | None:
    version, _, encoded = entry.partition(",")
    if version != "v1":
        return None
    try:
        digest = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == hashlib.sha256().digest_size else None


def _check_timestamp(raw: str, now: datetime) -> int:
    if _TIMESTAMP.fullmatch(raw) is None:
        raise SignatureRejected("malformed")
    timestamp = int(raw)
    now_us = (now - _EPOCH) // _MICROSECOND
    signed_us = timestamp * 1_000_000
    if signed_us < now_us - _TOLERANCE_US:
        raise SignatureRejected("stale")
    if signed_us > now_us + _TOLERANCE_US:
        raise SignatureRejected("future")
    return timestamp


def _replay_expiry(timestamp: int) -> datetime:
    return _EPOCH + timedelta(seconds=timestamp) + SIGNATURE_TOLERANCE + _REPLAY_MARGIN


def _hmac_key(secret: str) -> bytes:
    if not secret:
        raise ValueError("an empty secret cannot sign or verify")
    return secret.encode("utf-8")


def _standard_key(secret: str) -> bytes:
    if not secret.startswith(_WHSEC_PREFIX):
        return _hmac_key(secret)
    try:
        key = base64.b64decode(secret[len(_WHSEC_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a whsec_ secret must carry base64 after the prefix") from exc
    if not key:
        raise ValueError("a whsec_ secret must carry a key after the prefix")
    return key


def _hmac_digest(key: bytes, timestamp: str, body: bytes) -> bytes:
    return hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).digest()


def _standard_digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()
