"""Suggested property test (not added to the repo: tests are outside this task's files).

Exact retirement timing with out-of-order alerts: after every alert, the sessions retired by
expiry are exactly the ones that were open before it whose last event lies more than
window + allowed lateness before the company's new watermark.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._correlator import Correlator
from alertwhisperer_core._models import IncidentStatus
from alertwhisperer_core._settings import CorrelationSettings

from .correlation_reference import T0, make_alert

US_PER_MINUTE = 60_000_000
# Whole minutes, a microsecond either side, or anywhere: retirement boundaries are common.
MINUTES = st.tuples(st.integers(0, 12), st.sampled_from([0, 0, -1, 1])).map(
    lambda p: max(p[0] * US_PER_MINUTE + p[1], 0)
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["web", "db", "cache", "queue"]),
            st.sampled_from(["acme", "globex"]),
            st.one_of(MINUTES, st.integers(0, 4 * US_PER_MINUTE)),  # how far the clock moves
            st.one_of(MINUTES, st.integers(0, 12 * US_PER_MINUTE)),  # how late this alert is
        ),
        min_size=1,
        max_size=120,
    ),
    st.integers(1, 10),
    st.integers(0, 10),
)
def test_sessions_retire_exactly_when_the_watermark_passes_window_plus_lateness(
    steps: list[tuple[str, str, int, int]], window_minutes: int, lateness_minutes: int
) -> None:
    keep = timedelta(minutes=window_minutes + lateness_minutes)
    counter = itertools.count()
    c = Correlator(
        new_id=lambda: f"inc-{next(counter)}",
        settings=CorrelationSettings(window_minutes=window_minutes, max_span_minutes=525_600),
        allowed_lateness=timedelta(minutes=lateness_minutes),
    )
    watermark: dict[str, timedelta] = {}
    clock = 0
    for n, (asset, company, advance, late) in enumerate(steps):
        clock += advance
        at = timedelta(microseconds=max(clock - late, 0))
        before = list(c.open_incidents())
        watermark[company] = max(watermark.get(company, at), at)
        result = c.observe(make_alert(f"a{n}", at, asset=asset, company=company), T0)
        expected = {
            i.id
            for i in before
            if i.company_id == company and i.last_event_at + keep < T0 + watermark[company]
        }
        expired = {
            i.id
            for i in result.retired
            if i.merged_into is None and i.status is not IncidentStatus.RESOLVED
        }
        assert expired == expected
