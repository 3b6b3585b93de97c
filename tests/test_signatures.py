"""Webhook signatures: the guide's HMAC and Standard Webhooks, rotation, clocks, bad headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._signatures import (
    HMAC_SCHEME,
    SIGNATURE_TOLERANCE,
    STANDARD_WEBHOOKS_SCHEME,
    VerifiedSignature,
    generate_webhook_secret,
    sign_hmac,
    sign_standard_webhook,
    verify_signature,
)
from alertwhisperer_core.errors import SignatureRejected

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TS = int(NOW.timestamp())
SECRET = generate_webhook_secret(bytes(range(32)))
OLD_SECRET = "your_hmac_secret"
BODY = b'{"asset_name": "srv-app-01", "signature": "disk_full", "severity": "critical"}'
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
# The same digits in full width: int() accepts them, a signature check must not.
FULLWIDTH_TS = "".join(chr(0xFF10 + int(d)) for d in str(TS))


def hmac_headers(secret: str = SECRET, body: bytes = BODY, ts: int = TS) -> dict[str, str]:
    return {"x-timestamp": str(ts), "x-signature": sign_hmac(secret, body, ts)}


def swh_headers(
    secret: str = SECRET, body: bytes = BODY, ts: int = TS, msg_id: str = MSG_ID
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard_webhook(secret, msg_id, ts, body),
    }


def rejection(headers: dict[str, str], secrets: list[str] | None = None, body: bytes = BODY) -> str:
    with pytest.raises(SignatureRejected) as caught:
        verify_signature(secrets or [SECRET], body, headers, NOW)
    assert caught.value.error_status_hint == 401
    return caught.value.reason


# --- secrets and signing ---------------------------------------------------------------------


def test_generated_secret_is_whsec_and_base64_of_the_random_bytes() -> None:
    raw = bytes(range(32, 80))
    secret = generate_webhook_secret(raw)
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret.removeprefix("whsec_")) == raw


def test_generating_a_secret_from_fewer_than_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        generate_webhook_secret(b"\x00" * 31)


def test_hmac_signature_matches_the_guides_sender_code() -> None:
    # The guide's client snippet, verbatim in substance: hex HMAC of f"{timestamp}.{body}".
    body = json.dumps({"asset_name": "srv-app-01", "signature": "cpu_high"})
    expected = hmac.new(OLD_SECRET.encode(), f"{TS}.{body}".encode(), hashlib.sha256).hexdigest()
    assert sign_hmac(OLD_SECRET, body.encode(), TS) == f"sha256={expected}"


def test_standard_webhook_signature_reproduces_the_published_test_vector() -> None:
    # The Standard Webhooks reference vector: proves interoperability, not just a round trip.
    signature = sign_standard_webhook(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_webhook_key_without_prefix_is_the_secrets_utf8_bytes() -> None:
    expected = hmac.new(
        OLD_SECRET.encode(), f"{MSG_ID}.{TS}.".encode() + BODY, hashlib.sha256
    ).digest()
    signature = sign_standard_webhook(OLD_SECRET, MSG_ID, TS, BODY)
    assert signature == "v1," + base64.b64encode(expected).decode()


@pytest.mark.parametrize("secret", ["whsec_not*base64", "whsec_"])
def test_whsec_secret_without_a_base64_key_is_a_configuration_error(secret: str) -> None:
    with pytest.raises(ValueError, match="whsec_"):
        sign_standard_webhook(secret, MSG_ID, TS, BODY)


def test_empty_secret_cannot_sign() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign_hmac("", BODY, TS)


# --- the guide's HMAC scheme -----------------------------------------------------------------


def test_valid_hmac_request_verifies() -> None:
    verified = verify_signature([SECRET], BODY, hmac_headers(), NOW)
    assert verified.scheme == HMAC_SCHEME
    assert verified.message_id is None


def test_hmac_with_a_plain_text_secret_verifies() -> None:
    verified = verify_signature([OLD_SECRET], BODY, hmac_headers(OLD_SECRET), NOW)
    assert verified.scheme == HMAC_SCHEME


def test_hmac_over_a_tampered_body_is_a_mismatch() -> None:
    headers = hmac_headers()
    assert rejection(headers, body=BODY.replace(b"critical", b"low")) == "mismatch"


def test_hmac_body_is_verified_as_received_not_reserialized() -> None:
    spaced = b'{"asset_name":"srv-app-01",  "signature":"disk_full"}'
    headers = hmac_headers(body=spaced)
    assert rejection(headers, body=json.dumps(json.loads(spaced)).encode()) == "mismatch"
    assert verify_signature([SECRET], spaced, headers, NOW).scheme == HMAC_SCHEME


def test_hmac_signed_with_another_secret_is_a_mismatch() -> None:
    assert rejection(hmac_headers(secret="someone-elses-secret")) == "mismatch"


def test_hmac_with_a_different_timestamp_than_signed_is_a_mismatch() -> None:
    headers = hmac_headers()
    headers["x-timestamp"] = str(TS + 1)
    assert rejection(headers) == "mismatch"


def test_hmac_accepts_upper_case_hex() -> None:
    headers = hmac_headers()
    headers["x-signature"] = "sha256=" + headers["x-signature"].removeprefix("sha256=").upper()
    assert verify_signature([SECRET], BODY, headers, NOW).scheme == HMAC_SCHEME


@pytest.mark.parametrize("missing", ["x-signature", "x-timestamp"])
def test_hmac_without_one_of_its_headers_is_missing(missing: str) -> None:
    headers = hmac_headers()
    del headers[missing]
    assert rejection(headers) == "missing"


@pytest.mark.parametrize("emptied", ["x-signature", "x-timestamp"])
def test_hmac_with_an_empty_header_is_missing(emptied: str) -> None:
    headers = hmac_headers()
    headers[emptied] = "  "
    assert rejection(headers) == "missing"


@pytest.mark.parametrize(
    "signature",
    [
        "deadbeef",
        "sha1=" + "a" * 40,
        "sha256=" + "a" * 63,
        "sha256=" + "a" * 65,
        "sha256=" + "g" * 64,
        "sha256=" + "a" * 64 + ",sha256=" + "b" * 64,
    ],
)
def test_hmac_with_a_malformed_signature_header_is_malformed(signature: str) -> None:
    headers = hmac_headers()
    headers["x-signature"] = signature
    assert rejection(headers) == "malformed"


@pytest.mark.parametrize(
    "timestamp",
    [
        "soon",
        "1714564800.5",
        "-1714564800",
        "+1714564800",
        "01714564800",
        "1e9",
        "1_714_564_800",
        FULLWIDTH_TS,
        "9" * 13,
    ],
)
def test_non_canonical_timestamp_is_malformed(timestamp: str) -> None:
    headers = hmac_headers()
    headers["x-timestamp"] = timestamp
    assert rejection(headers) == "malformed"


def test_no_signature_headers_at_all_is_missing() -> None:
    assert rejection({"content-type": "application/json"}) == "missing"


def test_header_names_must_be_lower_case() -> None:
    headers = {k.title(): v for k, v in hmac_headers().items()}
    assert rejection(headers) == "missing"


# --- timestamps ------------------------------------------------------------------------------


def test_timestamp_exactly_at_the_tolerance_either_way_is_accepted() -> None:
    for ts in (TS - 300, TS + 300):
        assert verify_signature([SECRET], BODY, hmac_headers(ts=ts), NOW).scheme == HMAC_SCHEME


def test_timestamp_older_than_the_tolerance_is_stale() -> None:
    assert rejection(hmac_headers(ts=TS - 301)) == "stale"


def test_timestamp_newer_than_the_tolerance_is_future() -> None:
    assert rejection(hmac_headers(ts=TS + 301)) == "future"


def test_tolerance_is_measured_against_sub_second_now() -> None:
    # 300.5 s after the signed second: outside the window although 300 whole seconds passed.
    with pytest.raises(SignatureRejected) as caught:
        verify_signature(
            [SECRET], BODY, hmac_headers(ts=TS), NOW + timedelta(seconds=300, milliseconds=500)
        )
    assert caught.value.reason == "stale"


@pytest.mark.parametrize("offset", [-301, 301])
def test_standard_webhooks_apply_the_same_tolerance(offset: int) -> None:
    assert rejection(swh_headers(ts=TS + offset)) in {"stale", "future"}


def test_tolerance_is_five_minutes() -> None:
    assert timedelta(minutes=5) == SIGNATURE_TOLERANCE


# --- Standard Webhooks -----------------------------------------------------------------------


def test_valid_standard_webhook_verifies_and_reports_its_message_id() -> None:
    verified = verify_signature([SECRET], BODY, swh_headers(), NOW)
    assert verified.scheme == STANDARD_WEBHOOKS_SCHEME
    assert verified.message_id == MSG_ID


def test_published_vector_verifies_at_its_own_time() -> None:
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    at = datetime.fromtimestamp(1614265330, UTC)
    verified = verify_signature(
        ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], b'{"test": 2432232314}', headers, at
    )
    assert verified.scheme == STANDARD_WEBHOOKS_SCHEME


def test_standard_webhook_over_a_tampered_body_is_a_mismatch() -> None:
    assert rejection(swh_headers(), body=BODY + b" ") == "mismatch"


def test_standard_webhook_with_another_id_than_signed_is_a_mismatch() -> None:
    headers = swh_headers()
    headers["webhook-id"] = "msg_other"
    assert rejection(headers) == "mismatch"


def test_standard_webhook_signed_with_another_secret_is_a_mismatch() -> None:
    other = generate_webhook_secret(b"\x01" * 32)
    assert rejection(swh_headers(secret=other)) == "mismatch"


def test_any_one_of_several_signatures_in_the_header_may_match() -> None:
    other = generate_webhook_secret(b"\x01" * 32)
    headers = swh_headers()
    wrong = sign_standard_webhook(other, MSG_ID, TS, BODY)
    headers["webhook-signature"] = f"{wrong} v1a,c29tZQ== {headers['webhook-signature']}"
    assert verify_signature([SECRET], BODY, headers, NOW).scheme == STANDARD_WEBHOOKS_SCHEME


def test_several_signatures_none_matching_is_a_mismatch() -> None:
    other = generate_webhook_secret(b"\x01" * 32)
    third = generate_webhook_secret(b"\x02" * 32)
    headers = swh_headers()
    headers["webhook-signature"] = " ".join(
        sign_standard_webhook(s, MSG_ID, TS, BODY) for s in (other, third)
    )
    assert rejection(headers) == "mismatch"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhook_without_one_of_its_headers_is_missing(missing: str) -> None:
    headers = swh_headers()
    del headers[missing]
    assert rejection(headers) == "missing"


@pytest.mark.parametrize(
    "signature",
    [
        "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",  # no version
        "v1,not base64!",
        "v1,c2hvcnQ=",  # decodes, but not 32 bytes
        "v1a,c29tZXRoaW5n",  # only an asymmetric signature we do not check
    ],
)
def test_standard_webhook_without_a_checkable_v1_signature_is_malformed(signature: str) -> None:
    headers = swh_headers()
    headers["webhook-signature"] = signature
    assert rejection(headers) == "malformed"


def test_more_than_sixteen_signatures_in_one_header_is_malformed_even_if_one_matches() -> None:
    headers = swh_headers()
    decoys = [
        sign_standard_webhook(generate_webhook_secret(bytes([i]) * 32), MSG_ID, TS, BODY)
        for i in range(16)
    ]
    headers["webhook-signature"] = " ".join([*decoys, headers["webhook-signature"]])
    assert rejection(headers) == "malformed"


def test_sixteen_signatures_in_one_header_are_all_checked() -> None:
    headers = swh_headers()
    decoys = [
        sign_standard_webhook(generate_webhook_secret(bytes([i]) * 32), MSG_ID, TS, BODY)
        for i in range(15)
    ]
    headers["webhook-signature"] = " ".join([*decoys, headers["webhook-signature"]])
    assert verify_signature([SECRET], BODY, headers, NOW).scheme == STANDARD_WEBHOOKS_SCHEME


@pytest.mark.parametrize("msg_id", ["msg with space", "x" * 257, "msg\x00id", "msg_ü"])
def test_standard_webhook_with_a_malformed_id_is_malformed(msg_id: str) -> None:
    headers = swh_headers()
    headers["webhook-id"] = msg_id
    assert rejection(headers) == "malformed"


def test_standard_webhook_with_a_non_numeric_timestamp_is_malformed() -> None:
    headers = swh_headers()
    headers["webhook-timestamp"] = "2024-05-01T12:00:00Z"
    assert rejection(headers) == "malformed"


def test_any_webhook_header_selects_standard_webhooks_over_hmac() -> None:
    headers = hmac_headers() | {"webhook-id": MSG_ID}
    assert rejection(headers) == "missing"


# --- rotation --------------------------------------------------------------------------------


@pytest.mark.parametrize("signer", [SECRET, OLD_SECRET])
def test_hmac_signed_with_the_current_or_previous_secret_verifies(signer: str) -> None:
    verified = verify_signature([SECRET, OLD_SECRET], BODY, hmac_headers(signer), NOW)
    assert verified.scheme == HMAC_SCHEME


@pytest.mark.parametrize("signer", [SECRET, OLD_SECRET])
def test_standard_webhook_signed_with_the_current_or_previous_secret_verifies(
    signer: str,
) -> None:
    verified = verify_signature([SECRET, OLD_SECRET], BODY, swh_headers(signer), NOW)
    assert verified.scheme == STANDARD_WEBHOOKS_SCHEME


def test_a_retired_secret_no_longer_verifies() -> None:
    assert rejection(hmac_headers(OLD_SECRET), secrets=[SECRET]) == "mismatch"


def test_verifying_without_any_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify_signature([], BODY, hmac_headers(), NOW)


def test_a_single_string_is_not_mistaken_for_a_list_of_secrets() -> None:
    with pytest.raises(TypeError, match="sequence"):
        verify_signature(SECRET, BODY, hmac_headers(), NOW)


# --- replay keys -----------------------------------------------------------------------------


def test_identical_hmac_requests_get_identical_replay_keys() -> None:
    first = verify_signature([SECRET], BODY, hmac_headers(), NOW)
    again = verify_signature([SECRET], BODY, hmac_headers(), NOW + timedelta(seconds=30))
    assert first.replay_key == again.replay_key


def test_hmac_replay_key_ignores_hex_case() -> None:
    headers = hmac_headers()
    upper = dict(headers, **{"x-signature": headers["x-signature"].upper().replace("SHA", "sha")})
    first = verify_signature([SECRET], BODY, headers, NOW)
    assert verify_signature([SECRET], BODY, upper, NOW).replay_key == first.replay_key


def test_re_signed_hmac_request_gets_a_new_replay_key() -> None:
    first = verify_signature([SECRET], BODY, hmac_headers(ts=TS), NOW)
    second = verify_signature([SECRET], BODY, hmac_headers(ts=TS + 1), NOW)
    assert first.replay_key != second.replay_key


def test_identical_standard_webhooks_get_identical_replay_keys_whatever_the_signature_order() -> (
    None
):
    headers = swh_headers()
    extra = sign_standard_webhook(OLD_SECRET, MSG_ID, TS, BODY)
    one = dict(headers, **{"webhook-signature": f"{headers['webhook-signature']} {extra}"})
    other = dict(headers, **{"webhook-signature": f"{extra} {headers['webhook-signature']}"})
    keys = {verify_signature([SECRET, OLD_SECRET], BODY, h, NOW).replay_key for h in (one, other)}
    assert keys == {f"swh:{MSG_ID}.{TS}"}


def test_sender_retry_of_a_standard_webhook_is_not_a_replay() -> None:
    # Standard Webhooks senders retry with the same id, a fresh timestamp and a new signature;
    # such a retry must reach the idempotency step, so its replay key differs.
    first = verify_signature([SECRET], BODY, swh_headers(ts=TS - 60), NOW)
    retry = verify_signature([SECRET], BODY, swh_headers(ts=TS), NOW)
    assert first.replay_key != retry.replay_key
    assert first.message_id == retry.message_id


def test_hmac_and_standard_replay_keys_never_collide() -> None:
    hmac_key = verify_signature([SECRET], BODY, hmac_headers(), NOW).replay_key
    swh_key = verify_signature([SECRET], BODY, swh_headers(), NOW).replay_key
    assert hmac_key.startswith("sha256=")
    assert swh_key.startswith("swh:")


def test_replay_key_outlives_the_last_instant_the_timestamp_is_accepted() -> None:
    verified = verify_signature([SECRET], BODY, hmac_headers(ts=TS - 100), NOW)
    last_accepted = datetime.fromtimestamp(TS - 100, UTC) + SIGNATURE_TOLERANCE
    assert verified.expires_at > last_accepted
    assert verified.expires_at <= last_accepted + timedelta(seconds=1)
    # One tick after the key expires, the same request is stale anyway.
    with pytest.raises(SignatureRejected):
        verify_signature([SECRET], BODY, hmac_headers(ts=TS - 100), verified.expires_at)


@given(body=st.binary(max_size=200), offset=st.integers(-300, 300), rotate=st.booleans())
def test_any_body_signed_either_way_verifies_within_the_window(
    body: bytes, offset: int, rotate: bool
) -> None:
    secrets = [SECRET, OLD_SECRET]
    signer = OLD_SECRET if rotate else SECRET
    for headers in (
        hmac_headers(signer, body, TS + offset),
        swh_headers(signer, body, TS + offset),
    ):
        verified = verify_signature(secrets, body, headers, NOW)
        assert isinstance(verified, VerifiedSignature)
        assert verified.expires_at > NOW
