"""Maintenance windows: parsing, midnight crossing, time zones, DST, and a brute-force check."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alertwhisperer_core._maintenance import (
    MaintenanceWindow,
    in_maintenance,
    load_timezone,
    parse_window,
)
from alertwhisperer_core._settings import Policy
from alertwhisperer_core.errors import ValidationError

FIELD = "policy.maintenance_windows[0]"
DAY_NAMES = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# 2025-01-04 is a Saturday.
SAT = datetime(2025, 1, 4, tzinfo=UTC)
NEW_YORK = "America/New_York"


def policy(*windows: str, tz: str = "UTC") -> Policy:
    return Policy(maintenance_windows=list(windows), timezone=tz)


def at(day_offset: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """A UTC time ``day_offset`` days after Saturday 2025-01-04."""
    return SAT + timedelta(
        days=day_offset, hours=hour, minutes=minute, seconds=second, microseconds=micro
    )


# --- parsing -----------------------------------------------------------------------------


def test_parses_a_window_that_crosses_midnight() -> None:
    window = parse_window("Sat 22:00-02:00", field=FIELD)
    assert window == MaintenanceWindow(
        days=frozenset({5}), start_minute=22 * 60, end_minute=2 * 60, spec="Sat 22:00-02:00"
    )
    assert window.length_minutes == 240


def test_parses_a_day_range() -> None:
    assert parse_window("Mon-Fri 01:00-03:00", field=FIELD).days == {0, 1, 2, 3, 4}


def test_day_range_may_wrap_over_the_weekend() -> None:
    assert parse_window("Fri-Mon 01:00-03:00", field=FIELD).days == {4, 5, 6, 0}


def test_parses_daily() -> None:
    assert parse_window("daily 02:00-04:00", field=FIELD).days == set(range(7))


def test_parses_a_day_list() -> None:
    assert parse_window("Mon,Wed-Thu,sun 02:00-04:00", field=FIELD).days == {0, 2, 3, 6}


def test_whole_day_ends_at_24_00() -> None:
    window = parse_window("Sun 00:00-24:00", field=FIELD)
    assert (window.start_minute, window.end_minute, window.length_minutes) == (0, 1440, 1440)


@pytest.mark.parametrize("day", ["sat", "SAT", "Sat", "saturday", "SATURDAY", "Saturday"])
def test_day_names_are_case_insensitive_short_or_full(day: str) -> None:
    assert parse_window(f"{day} 22:00-02:00", field=FIELD).days == {5}


def test_daily_is_case_insensitive() -> None:
    assert parse_window("Daily 02:00-04:00", field=FIELD).days == set(range(7))


def test_spaces_around_the_parts_are_tolerated() -> None:
    window = parse_window("  Sat   22:00 - 02:00 ", field=FIELD)
    assert (window.days, window.start_minute, window.end_minute) == (frozenset({5}), 1320, 120)


def test_single_digit_hours_are_accepted() -> None:
    assert parse_window("Sat 2:00-4:30", field=FIELD).start_minute == 120


BAD_SPECS = [
    ("", "not a window"),
    ("Sat", "not a window"),
    ("Sat 22:00", "not a window"),
    ("22:00-02:00", "not a window"),
    ("Sat 22:00-02:00 weekly", "not a window"),
    ("Sat22:00-02:00", "not a window"),
    ("Funday 22:00-02:00", "unknown day 'Funday'"),
    ("Sa 22:00-02:00", "unknown day 'Sa'"),
    ("Mon-Fri-Sat 01:00-02:00", "unknown day 'Fri-Sat'"),
    ("Mon,,Fri 01:00-02:00", "unknown day ''"),
    ("Sat 25:00-02:00", "out of range"),
    ("Sat 22:60-02:00", "out of range"),
    ("Sat 24:00-02:00", "24:00 only as an end"),
    ("Sat 22:00-24:30", "out of range"),
    ("Sat 22-02", "bad time '22'"),
    ("Sat 2200-0200", "bad time '2200'"),
    ("Sat 22:00-02:00:00", "bad time '02:00:00'"),
    ("Sat 22:0-02:00", "bad time '22:0'"),
    ("Sat \uff12\uff12:00-02:00", "bad time"),
    ("Sat 22:00-22:00", "start equals end"),
    ("daily 00:00-00:00", "start equals end"),
]


@pytest.mark.parametrize(("spec", "problem"), BAD_SPECS, ids=[s or "empty" for s, _ in BAD_SPECS])
def test_bad_spec_is_refused_naming_the_field_and_the_problem(spec: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_window(spec, field=FIELD)
    (error,) = info.value.errors
    assert error["field"] == FIELD
    assert problem in error["message"]
    assert "expected like 'Sat 22:00-02:00'" in error["message"]


def test_policy_refuses_a_bad_window_by_its_index() -> None:
    with pytest.raises(ValidationError) as info:
        Policy(maintenance_windows=["Sat 22:00-02:00", "whenever"])
    assert info.value.errors[0]["field"] == "policy.maintenance_windows[1]"


# --- time zones --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", NEW_YORK, "Asia/Kolkata"])
def test_loads_iana_time_zones(name: str) -> None:
    assert load_timezone(name, field="policy.timezone") == zoneinfo.ZoneInfo(name)


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Olympus", "America", "/etc/passwd", "../../etc/passwd", " UTC", "UTC ", "localtime"],
)
def test_bad_time_zone_is_refused_naming_the_field(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        load_timezone(name, field="policy.timezone")
    assert info.value.errors[0]["field"] == "policy.timezone"
    assert "IANA" in info.value.errors[0]["message"]


def test_policy_refuses_an_unknown_time_zone() -> None:
    with pytest.raises(ValidationError) as info:
        Policy(timezone="Atlantis/Capital")
    assert info.value.errors[0]["field"] == "policy.timezone"


# --- inside or outside -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (at(0, 21, 59, 59, 999_999), False),
        (at(0, 22), True),
        (at(0, 23, 30), True),
        (at(1, 0), True),
        (at(1, 1, 59), True),
        (at(1, 1, 59, 59, 999_999), True),
        (at(1, 2), False),
        (at(1, 22, 30), False),  # Sunday evening: the window starts on Saturdays only
        (at(-1, 23), False),  # Friday night
        (at(7, 23), True),  # the next Saturday
    ],
)
def test_window_crossing_midnight_starts_inclusive_and_ends_exclusive(
    moment: datetime, inside: bool
) -> None:
    assert in_maintenance(policy("Sat 22:00-02:00"), moment) is inside


def test_sunday_night_window_runs_into_monday() -> None:
    p = policy("Sun 22:00-02:00")
    assert in_maintenance(p, at(2, 1, 30))  # Monday 01:30
    assert not in_maintenance(p, at(2, 2))


def test_whole_day_window_covers_the_day_and_nothing_else() -> None:
    p = policy("Sun 00:00-24:00")
    assert not in_maintenance(p, at(0, 23, 59, 59, 999_999))
    assert in_maintenance(p, at(1, 0))
    assert in_maintenance(p, at(1, 23, 59, 59, 999_999))
    assert not in_maintenance(p, at(2, 0))


def test_weekday_range_skips_the_weekend() -> None:
    p = policy("Mon-Fri 01:00-03:00")
    assert not in_maintenance(p, at(0, 2))  # Saturday
    assert not in_maintenance(p, at(1, 2))  # Sunday
    assert in_maintenance(p, at(2, 2))  # Monday
    assert in_maintenance(p, at(6, 2, 59))  # Friday


def test_any_of_several_windows_counts() -> None:
    p = policy("Mon 01:00-02:00", "Sat 22:00-02:00")
    assert in_maintenance(p, at(0, 23))
    assert in_maintenance(p, at(2, 1, 30))
    assert not in_maintenance(p, at(2, 2, 30))


def test_no_windows_means_never() -> None:
    assert not in_maintenance(Policy(), at(0, 23))


def test_windows_are_read_in_the_company_time_zone() -> None:
    # January: New York is UTC-5, so Saturday 22:00 there is Sunday 03:00 UTC.
    p = policy("Sat 22:00-02:00", tz=NEW_YORK)
    assert not in_maintenance(p, at(0, 22, 30))
    assert in_maintenance(p, at(1, 3, 0))
    assert in_maintenance(p, at(1, 6, 59))
    assert not in_maintenance(p, at(1, 7, 0))


def test_summer_time_shifts_the_window_by_the_offset() -> None:
    # July: New York is UTC-4. 2025-07-05 is a Saturday.
    p = policy("Sat 22:00-02:00", tz=NEW_YORK)
    assert not in_maintenance(p, datetime(2025, 7, 6, 1, 59, tzinfo=UTC))
    assert in_maintenance(p, datetime(2025, 7, 6, 2, 0, tzinfo=UTC))


def test_half_hour_offsets_are_respected() -> None:
    p = policy("daily 02:00-03:00", tz="Asia/Kolkata")  # UTC+05:30
    assert not in_maintenance(p, datetime(2025, 1, 6, 20, 29, tzinfo=UTC))
    assert in_maintenance(p, datetime(2025, 1, 6, 20, 30, tzinfo=UTC))


def test_the_instant_matters_not_the_offset_it_is_written_in() -> None:
    p = policy("Sat 22:00-02:00")
    moment = at(0, 23)
    assert in_maintenance(p, moment.astimezone(timezone(timedelta(hours=-7))))


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        in_maintenance(policy("daily 00:00-24:00"), datetime(2025, 1, 1))


def minutes_inside(p: Policy, start: datetime, hours: int) -> int:
    return sum(in_maintenance(p, start + timedelta(minutes=m)) for m in range(hours * 60))


def test_spring_forward_shortens_a_window_spanning_the_skipped_hour() -> None:
    # 2025-03-09 02:00 EST: the clock jumps to 03:00 EDT.
    p = policy("Sun 01:00-03:00", tz=NEW_YORK)
    assert minutes_inside(p, datetime(2025, 3, 9, 5, 0, tzinfo=UTC), 4) == 60
    assert in_maintenance(p, datetime(2025, 3, 9, 6, 59, tzinfo=UTC))  # 01:59 EST
    assert not in_maintenance(p, datetime(2025, 3, 9, 7, 0, tzinfo=UTC))  # 03:00 EDT


def test_window_inside_the_skipped_hour_never_happens_that_day() -> None:
    p = policy("Sun 02:00-02:30", tz=NEW_YORK)
    assert minutes_inside(p, datetime(2025, 3, 9, 0, 0, tzinfo=UTC), 24) == 0


def test_fall_back_lengthens_a_window_spanning_the_repeated_hour() -> None:
    # 2025-11-02 02:00 EDT: the clock goes back to 01:00 EST, so 01:xx happens twice.
    p = policy("Sun 01:00-02:00", tz=NEW_YORK)
    assert minutes_inside(p, datetime(2025, 11, 2, 4, 0, tzinfo=UTC), 4) == 120
    assert in_maintenance(p, datetime(2025, 11, 2, 5, 0, tzinfo=UTC))  # 01:00 EDT
    assert in_maintenance(p, datetime(2025, 11, 2, 6, 59, tzinfo=UTC))  # 01:59 EST
    assert not in_maintenance(p, datetime(2025, 11, 2, 7, 0, tzinfo=UTC))  # 02:00 EST


# --- properties --------------------------------------------------------------------------


@st.composite
def day_specs(draw: st.DrawFn) -> tuple[str, frozenset[int]]:
    """A day expression and, computed independently, the days it means."""

    def name(day: int) -> str:
        full = DAY_NAMES[day]
        text = draw(st.sampled_from([full, full[:3]]))
        return draw(st.sampled_from([text, text.upper(), text.capitalize()]))

    if draw(st.booleans()) and draw(st.booleans()):
        return "daily", frozenset(range(7))
    parts, days = [], set()
    for _ in range(draw(st.integers(1, 3))):
        first = draw(st.integers(0, 6))
        if draw(st.booleans()):
            last = draw(st.integers(0, 6))
            parts.append(f"{name(first)}-{name(last)}")
            day = first
            days.add(day)
            while day != last:
                day = (day + 1) % 7
                days.add(day)
        else:
            parts.append(name(first))
            days.add(first)
    return ",".join(parts), frozenset(days)


@st.composite
def windows(draw: st.DrawFn) -> tuple[str, frozenset[int], int, int]:
    days_text, days = draw(day_specs())
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(1, 1440).filter(lambda e: e != start))
    end_text = "24:00" if end == 1440 else f"{end // 60:02d}:{end % 60:02d}"
    return f"{days_text} {start // 60:02d}:{start % 60:02d}-{end_text}", days, start, end


def brute_force_minutes(days: frozenset[int], start: int, end: int) -> set[int]:
    """Every minute of the week inside the window, found by walking the clock minute by minute."""
    covered = set()
    for day in days:
        minute = day * 1440 + start
        while True:
            covered.add(minute % (7 * 1440))
            minute += 1
            if minute % 1440 == end % 1440:
                break
    return covered


ZONES = ["UTC", NEW_YORK, "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"]


@given(
    window=windows(),
    zone=st.sampled_from(ZONES),
    moment=st.datetimes(
        min_value=datetime(2024, 1, 1),
        max_value=datetime(2027, 1, 1),
        timezones=st.just(UTC),
    ),
)
def test_agrees_with_a_minute_by_minute_reference(
    window: tuple[str, frozenset[int], int, int], zone: str, moment: datetime
) -> None:
    spec, days, start, end = window
    local = moment.astimezone(zoneinfo.ZoneInfo(zone))
    minute_of_week = local.weekday() * 1440 + local.hour * 60 + local.minute
    expected = minute_of_week in brute_force_minutes(days, start, end)
    assert in_maintenance(policy(spec, tz=zone), moment) is expected


@given(window=windows())
def test_generated_specs_parse_to_what_they_say(
    window: tuple[str, frozenset[int], int, int],
) -> None:
    spec, days, start, end = window
    parsed = parse_window(spec, field=FIELD)
    assert (parsed.days, parsed.start_minute, parsed.end_minute) == (days, start, end)


@given(spec=st.text(alphabet="MonTuesSatdily0123456789:- ,\t", max_size=30) | st.text(max_size=30))
def test_any_text_parses_or_is_a_validation_error(spec: str) -> None:
    refused: ValidationError | None = None
    try:
        window = parse_window(spec, field=FIELD)
    except ValidationError as error:
        refused = error
    if refused is not None:
        assert refused.errors[0]["field"] == FIELD
    else:
        assert window.days
        assert 0 < window.length_minutes <= 1440
