"""Suggested unit test: an alert that moves an incident's first event back shortens its reach."""

import itertools
from datetime import timedelta

from alertwhisperer_core._correlator import Correlator
from alertwhisperer_core._settings import CorrelationSettings
from tests.correlation_reference import T0, make_alert

MIN = timedelta(minutes=1)


def test_late_alert_that_moves_the_first_event_back_keeps_max_span_for_later_alerts() -> None:
    c = Correlator(
        new_id=map("inc-{}".format, itertools.count()).__next__,
        settings=CorrelationSettings(window_minutes=15, max_span_minutes=20),
        allowed_lateness=None,
    )
    first = c.observe(make_alert("a0", 0 * MIN), T0)
    c.observe(make_alert("a1", 10 * MIN), T0)  # span 0..10
    c.observe(make_alert("a2", 12 * MIN), T0)  # span 0..12
    assert c.observe(make_alert("a3", -5 * MIN), T0).incident_id == first.incident_id  # -5..12
    later = c.observe(make_alert("a4", 18 * MIN), T0)  # would span -5..18: 23 > 20 minutes
    assert later.opened
