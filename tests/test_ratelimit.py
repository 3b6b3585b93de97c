"""Token bucket: refill, caps, clock skew, exact Retry-After, and the throughput bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from alertwhisperer_core._ratelimit import (
    UNITS_PER_TOKEN,
    RateDecision,
    TokenBucket,
    rate_limit_headers,
    rate_limited_body,
    throttle_status,
)
from alertwhisperer_core._settings import RateLimitSettings

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
US = timedelta(microseconds=1)

settings_st = st.builds(
    RateLimitSettings,
    requests_per_minute=st.integers(1, 1000),
    burst=st.integers(1, 300),
)


def drain(bucket: TokenBucket, settings: RateLimitSettings, now: datetime) -> TokenBucket:
    """Take every whole token available at ``now``."""
    while True:
        nxt, decision = bucket.try_acquire(settings, now)
        if not decision.allowed:
            return nxt
        bucket = nxt


# --- basic behaviour -------------------------------------------------------------------------


def test_full_bucket_holds_burst_tokens() -> None:
    bucket = TokenBucket.full(RateLimitSettings(burst=7), T0)
    assert bucket.tokens == 7.0
    assert bucket.updated_at == T0


def test_acquire_takes_one_token_and_reports_whole_tokens_remaining() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=3)
    bucket, decision = TokenBucket.full(settings, T0).try_acquire(settings, T0)
    assert decision == RateDecision(allowed=True, remaining=2, retry_after_seconds=0)
    assert bucket.tokens == 2.0


def test_guide_storm_lets_exactly_burst_requests_through_at_once() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=100)
    bucket = TokenBucket.full(settings, T0)
    allowed = 0
    for _ in range(150):
        bucket, decision = bucket.try_acquire(settings, T0)
        allowed += decision.allowed
    assert allowed == 100


def test_empty_bucket_refuses_with_retry_after_until_next_token() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=1)
    bucket = drain(TokenBucket.full(settings, T0), settings, T0)
    _, decision = bucket.try_acquire(settings, T0)
    assert decision == RateDecision(allowed=False, remaining=0, retry_after_seconds=1)


def test_retry_after_rounds_a_fraction_of_a_second_up() -> None:
    # 7 per minute: one token every 8.571... s, so the wait is 9 whole seconds.
    settings = RateLimitSettings(requests_per_minute=7, burst=1)
    bucket = drain(TokenBucket.full(settings, T0), settings, T0)
    _, decision = bucket.try_acquire(settings, T0)
    assert decision.retry_after_seconds == 9


def test_refill_is_rate_per_minute_over_sixty_per_second() -> None:
    settings = RateLimitSettings(requests_per_minute=120, burst=10)
    bucket = drain(TokenBucket.full(settings, T0), settings, T0)
    bucket, decision = bucket.try_acquire(settings, T0 + timedelta(seconds=1.5))
    assert decision.allowed
    assert bucket.tokens == 2.0


def test_refill_never_exceeds_burst() -> None:
    settings = RateLimitSettings(requests_per_minute=1000, burst=5)
    bucket = TokenBucket(tokens=0.0, updated_at=T0)
    bucket, decision = bucket.try_acquire(settings, T0 + timedelta(days=3650))
    assert decision.remaining == 4
    assert bucket.tokens == 4.0


def test_refused_request_keeps_refilled_tokens_and_moves_the_clock() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=5)
    bucket = TokenBucket(tokens=0.0, updated_at=T0)
    later = T0 + timedelta(milliseconds=500)
    bucket, decision = bucket.try_acquire(settings, later)
    assert not decision.allowed
    assert bucket == TokenBucket(tokens=0.5, updated_at=later)


def test_cost_above_one_takes_that_many_tokens() -> None:
    settings = RateLimitSettings(burst=10)
    bucket, decision = TokenBucket.full(settings, T0).try_acquire(settings, T0, cost=4)
    assert decision.remaining == 6
    assert bucket.tokens == 6.0


def test_refused_cost_reports_the_whole_tokens_still_held() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=10)
    bucket = TokenBucket(tokens=3.0, updated_at=T0)
    _, decision = bucket.try_acquire(settings, T0, cost=5)
    assert decision == RateDecision(allowed=False, remaining=3, retry_after_seconds=2)


# --- settings changes and skew ---------------------------------------------------------------


def test_lowered_burst_caps_tokens_on_the_next_call() -> None:
    bucket = TokenBucket.full(RateLimitSettings(burst=100), T0)
    lowered = RateLimitSettings(burst=10)
    bucket, decision = bucket.try_acquire(lowered, T0)
    assert decision.remaining == 9
    assert bucket.tokens == 9.0


def test_raised_burst_does_not_grant_tokens_until_refilled() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=2)
    bucket = TokenBucket.full(settings, T0)
    raised = RateLimitSettings(requests_per_minute=60, burst=50)
    _, decision = bucket.try_acquire(raised, T0)
    assert decision.remaining == 1


def test_changed_rate_applies_from_the_next_call() -> None:
    bucket = TokenBucket(tokens=0.0, updated_at=T0)
    faster = RateLimitSettings(requests_per_minute=600, burst=100)
    bucket, decision = bucket.try_acquire(faster, T0 + timedelta(seconds=1))
    assert decision.allowed
    assert bucket.tokens == 9.0


def test_clock_going_backwards_mints_no_tokens() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=5)
    bucket = TokenBucket(tokens=1.25, updated_at=T0)
    nxt, decision = bucket.try_acquire(settings, T0 - timedelta(hours=1))
    assert decision.allowed
    assert nxt.tokens == 0.25


def test_clock_going_backwards_keeps_the_later_refill_origin() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=5)
    bucket = TokenBucket(tokens=2.0, updated_at=T0)
    nxt, _ = bucket.try_acquire(settings, T0 - timedelta(seconds=30))
    assert nxt.updated_at == T0


def test_retry_after_under_skew_counts_from_the_callers_now() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=5)
    bucket = TokenBucket(tokens=0.0, updated_at=T0)
    _, decision = bucket.try_acquire(settings, T0 - timedelta(seconds=10))
    assert decision.retry_after_seconds == 11


# --- bad inputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("tokens", [-0.5, float("nan"), float("inf")])
def test_bucket_refuses_impossible_token_counts(tokens: float) -> None:
    with pytest.raises(ValueError, match="tokens"):
        TokenBucket(tokens=tokens, updated_at=T0)


def test_bucket_refuses_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TokenBucket(tokens=1.0, updated_at=datetime(2024, 5, 1, 12, 0))


@pytest.mark.parametrize("cost", [0, -1, 11])
def test_acquire_refuses_a_cost_that_could_never_be_met(cost: int) -> None:
    settings = RateLimitSettings(burst=10)
    with pytest.raises(ValueError, match="cost"):
        TokenBucket.full(settings, T0).try_acquire(settings, T0, cost=cost)


# --- headers, body, status -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "status"),
    [
        ("alertmanager", 503),
        ("datadog", 503),
        ("Datadog", 503),
        ("zabbix", 429),
        ("cloudwatch", 429),
        ("generic", 429),
        (None, 429),
    ],
)
def test_throttle_status_is_503_only_for_senders_that_drop_4xx(
    sender: str | None, status: int
) -> None:
    assert throttle_status(sender) == status


def test_allowed_answer_carries_rate_limit_headers_without_retry_after() -> None:
    settings = RateLimitSettings(requests_per_minute=60, burst=100)
    headers = rate_limit_headers(settings, RateDecision(True, 42, 0))
    assert headers == {
        "X-RateLimit-Limit": "60",
        "X-RateLimit-Burst": "100",
        "X-RateLimit-Remaining": "42",
    }


def test_refused_answer_adds_retry_after() -> None:
    settings = RateLimitSettings(requests_per_minute=30, burst=5)
    headers = rate_limit_headers(settings, RateDecision(False, 0, 2))
    assert headers == {
        "X-RateLimit-Limit": "30",
        "X-RateLimit-Burst": "5",
        "X-RateLimit-Remaining": "0",
        "Retry-After": "2",
    }


def test_rate_limited_body_names_the_wait_and_the_policy() -> None:
    assert rate_limited_body(RateDecision(False, 0, 45)) == {
        "detail": "Rate limit exceeded",
        "retry_after_seconds": 45,
        "backoff_policy": "token bucket",
    }


# --- properties ------------------------------------------------------------------------------


@given(units=st.integers(0, 100_000 * UNITS_PER_TOKEN))
def test_stored_tokens_round_trip_to_exact_units(units: int) -> None:
    tokens = units / UNITS_PER_TOKEN
    assert round(tokens * UNITS_PER_TOKEN) == units


@st.composite
def refused_setups(draw: st.DrawFn) -> tuple[RateLimitSettings, int, int, int]:
    """Settings, a cost, units held (fewer than the cost) and an offset of ``now``."""
    settings = draw(settings_st)
    cost = draw(st.integers(1, min(settings.burst, 5)))
    held = draw(st.integers(0, cost * UNITS_PER_TOKEN - 1))
    offset_us = draw(st.one_of(st.integers(-(10**8), 0), st.integers(0, 10**6)))
    return settings, cost, held, offset_us


@given(setup=refused_setups())
def test_waiting_exactly_retry_after_succeeds_and_one_second_less_does_not(
    setup: tuple[RateLimitSettings, int, int, int],
) -> None:
    settings, cost, held, offset_us = setup
    bucket = TokenBucket(tokens=held / UNITS_PER_TOKEN, updated_at=T0)
    now = T0 + offset_us * US
    after, decision = bucket.try_acquire(settings, now, cost)
    assume(not decision.allowed)
    retry = decision.retry_after_seconds
    assert retry >= 1
    _, later = after.try_acquire(settings, now + timedelta(seconds=retry), cost)
    assert later.allowed
    _, early = after.try_acquire(settings, now + timedelta(seconds=retry - 1), cost)
    assert not early.allowed
    # The untouched bucket agrees: the refused call changed nothing that matters.
    _, direct = bucket.try_acquire(settings, now + timedelta(seconds=retry), cost)
    assert direct.allowed


@given(
    settings=settings_st,
    gaps_us=st.lists(
        st.one_of(st.just(0), st.integers(0, 2_000_000), st.integers(0, 120_000_000)),
        min_size=1,
        max_size=400,
    ),
)
def test_no_interval_passes_more_than_burst_plus_rate_times_length(
    settings: RateLimitSettings, gaps_us: list[int]
) -> None:
    bucket = TokenBucket.full(settings, T0)
    passed_us: list[int] = []
    t_us = 0
    for gap in gaps_us:
        t_us += gap
        bucket, decision = bucket.try_acquire(settings, T0 + t_us * US)
        if decision.allowed:
            passed_us.append(t_us)
    cap = settings.burst * UNITS_PER_TOKEN
    for i, start in enumerate(passed_us):
        for j in range(i, len(passed_us)):
            count = j - i + 1
            # count <= burst + (rpm / 60 per s) * t, in exact integer units.
            assert count * UNITS_PER_TOKEN <= cap + settings.requests_per_minute * (
                passed_us[j] - start
            )


@given(
    settings=settings_st,
    times_us=st.lists(st.integers(0, 600_000_000), min_size=1, max_size=300),
)
def test_out_of_order_clocks_never_pass_more_than_the_latest_time_allows(
    settings: RateLimitSettings, times_us: list[int]
) -> None:
    bucket = TokenBucket.full(settings, T0)
    passed = 0
    for t_us in times_us:
        bucket, decision = bucket.try_acquire(settings, T0 + t_us * US)
        passed += decision.allowed
    span = max(times_us)
    assert passed * UNITS_PER_TOKEN <= (
        settings.burst * UNITS_PER_TOKEN + settings.requests_per_minute * span
    )


@given(settings=settings_st, seconds=st.integers(0, 3600))
def test_steady_sender_at_the_rate_is_never_refused(
    settings: RateLimitSettings, seconds: int
) -> None:
    # One request every 60/rpm seconds exactly (in µs, rounded up) always finds a token.
    interval_us = -(-60_000_000 // settings.requests_per_minute)
    bucket = TokenBucket.full(settings, T0)
    t_us = 0
    while t_us <= seconds * 1_000_000:
        bucket, decision = bucket.try_acquire(settings, T0 + t_us * US)
        assert decision.allowed
        t_us += interval_us
