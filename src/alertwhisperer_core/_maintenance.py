"""Maintenance windows (SPEC §6): parsing, time zones, and "is this moment inside one?".

A window spec is ``<days> <start>-<end>``:

- ``<days>``: ``daily``, a day (``Sat``, ``saturday``), a range (``Mon-Fri``; ``Fri-Mon``
  wraps over the weekend) or a comma list of those (``Mon,Wed-Thu``). Day names are English,
  three letters or in full, in any case. The days are the days a window *starts* on.
- ``<start>-<end>``: wall-clock ``HH:MM`` in the company's time zone. ``24:00`` is allowed
  as an end only. An end before the start crosses midnight: ``Sat 22:00-02:00`` runs from
  Saturday 22:00 to Sunday 02:00. A start equal to the end is refused as ambiguous; a whole
  day is ``00:00-24:00``.

The start is inclusive and the end exclusive: ``Sat 22:00-02:00`` contains Sunday 01:59:59
but not Sunday 02:00. Windows follow the wall clock, so on a daylight saving day a window is
as long as the clock says: an hour shorter at the spring change when it spans the skipped
hour, an hour longer in the autumn when it spans the repeated one.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .errors import ValidationError

if TYPE_CHECKING:
    # Only for the annotation: _settings imports this module, never the other way at run time.
    from ._settings import Policy

__all__ = ["MaintenanceWindow", "in_maintenance", "load_timezone", "parse_window"]

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name: i for i, name in enumerate(_DAY_NAMES)} | {
    name[:3]: i for i, name in enumerate(_DAY_NAMES)
}
_MINUTES_PER_DAY = 24 * 60
_MICROSECONDS_PER_MINUTE = 60_000_000
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY
# Files in the tz directory that are not zones: "localtime" is whatever the host is set to.
_NOT_ZONES = frozenset({"localtime", "posixrules"})
_EXAMPLE = "expected like 'Sat 22:00-02:00'"
_SPEC = re.compile(r"\s*(?P<days>\S+)\s+(?P<start>[^\s-]+)\s*-\s*(?P<end>[^\s-]+)\s*")
_TIME = re.compile(r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})")


@attrs.frozen
class MaintenanceWindow:
    """One parsed window: the weekdays it starts on (0 = Monday) and its wall-clock span.

    ``start_minute`` is 0 to 1439 and ``end_minute`` 1 to 1440, in minutes after midnight; an end
    at or before the start means the window ends on the following day.
    """

    days: frozenset[int]
    start_minute: int
    end_minute: int
    spec: str

    @property
    def length_minutes(self) -> int:
        """Wall-clock length: at most a whole day."""
        return (self.end_minute - self.start_minute) % _MINUTES_PER_DAY or _MINUTES_PER_DAY

    def contains(self, local: datetime) -> bool:
        """Whether the wall-clock time ``local`` (in the window's time zone) is inside."""
        into_week = (
            (local.weekday() * _MINUTES_PER_DAY + local.hour * 60 + local.minute)
            * _MICROSECONDS_PER_MINUTE
            + local.second * 1_000_000
            + local.microsecond
        )
        week = _MINUTES_PER_WEEK * _MICROSECONDS_PER_MINUTE
        length = self.length_minutes * _MICROSECONDS_PER_MINUTE
        for day in self.days:
            begin = (day * _MINUTES_PER_DAY + self.start_minute) * _MICROSECONDS_PER_MINUTE
            # Modulo the week, so Sunday's window running into Monday is found on Monday.
            if (into_week - begin) % week < length:
                return True
        return False


def parse_window(spec: str, *, field: str) -> MaintenanceWindow:
    """Parse a window spec like ``Sat 22:00-02:00`` (see the module docstring).

    Raises :class:`ValidationError` naming ``field`` and saying what is wrong.
    """
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise ValidationError.for_field(field, f"not a window; {_EXAMPLE}")
    days = _parse_days(match["days"], field)
    start = _parse_time(match["start"], field, allow_24=False)
    end = _parse_time(match["end"], field, allow_24=True)
    if start == end:
        raise ValidationError.for_field(
            field, f"start equals end; use 00:00-24:00 for a whole day; {_EXAMPLE}"
        )
    return MaintenanceWindow(days=days, start_minute=start, end_minute=end, spec=spec)


def load_timezone(name: str, *, field: str) -> zoneinfo.ZoneInfo:
    """Load the IANA time zone ``name`` (``Europe/Berlin``, ``UTC``) from the tz database.

    Raises :class:`ValidationError` naming ``field`` for an unknown or malformed name.
    """
    message = f"unknown time zone {name[:64]!r}; expected an IANA name like 'Europe/Berlin'"
    if not name or name != name.strip() or name in _NOT_ZONES:
        raise ValidationError.for_field(field, message)
    try:
        return zoneinfo.ZoneInfo(name)
    # ValueError: names zoneinfo refuses outright (absolute paths, "..").
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError.for_field(field, message) from None


def in_maintenance(policy: Policy, at: datetime) -> bool:
    """Whether the aware time ``at`` falls in one of ``policy``'s maintenance windows.

    The windows are read as wall-clock times in ``policy.timezone``.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    if not policy.maintenance_windows:
        return False
    local = at.astimezone(load_timezone(policy.timezone, field="policy.timezone"))
    return any(
        parse_window(spec, field=f"policy.maintenance_windows[{i}]").contains(local)
        for i, spec in enumerate(policy.maintenance_windows)
    )


def _parse_days(text: str, field: str) -> frozenset[int]:
    if text.lower() == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, sep, last = part.partition("-")
        lo = _day(first, field)
        if not sep:
            days.add(lo)
            continue
        hi = _day(last, field)
        days.update((lo + k) % 7 for k in range((hi - lo) % 7 + 1))
    return frozenset(days)


def _day(name: str, field: str) -> int:
    day = _DAYS.get(name.lower())
    if day is None:
        raise ValidationError.for_field(
            field, f"unknown day {name!r}; use Mon..Sun, a range like Mon-Fri, or daily; {_EXAMPLE}"
        )
    return day


def _parse_time(text: str, field: str, *, allow_24: bool) -> int:
    match = _TIME.fullmatch(text)
    if match is None:
        raise ValidationError.for_field(field, f"bad time {text!r}, use HH:MM; {_EXAMPLE}")
    hour, minute = int(match["hour"]), int(match["minute"])
    if allow_24 and (hour, minute) == (24, 0):
        return _MINUTES_PER_DAY
    if hour > 23 or minute > 59:
        limit = "00:00-24:00 (24:00 only as an end)" if hour == 24 else "00:00-23:59"
        raise ValidationError.for_field(field, f"time {text!r} out of range {limit}; {_EXAMPLE}")
    return hour * 60 + minute
