"""When a window serves: pure functions over a ``Schedule``, in the schedule's time zone.

A day's service periods come from ``Schedule.periods(weekday)``; the gaps between
them are breaks (the lunch break), and a date in ``Schedule.closed`` has none.
Periods are half-open: a window opening at 09:00 and closing at 12:00 is open at
09:00:00 and closed at 12:00:00. ``now`` is Unix seconds or an aware datetime;
results are aware datetimes in the schedule's zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from vision.config import Schedule

Period = tuple[datetime, datetime]
SEARCH_DAYS = 366  # how far next_opening / last_closing look before giving up


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(schedule: Schedule, now: float | datetime) -> datetime:
    """``now`` as an aware datetime in the schedule's zone."""
    tz = zone(schedule.timezone)
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("a naive datetime is ambiguous here: pass Unix seconds or an aware datetime")
        return now.astimezone(tz)
    return datetime.fromtimestamp(now, tz)


def periods_on(schedule: Schedule, day: date) -> list[Period]:
    """The service periods of a local calendar day, sorted; none on a closed date."""
    key = (schedule.timezone, tuple((k, tuple(v)) for k, v in schedule.hours.items()), tuple(schedule.closed))
    return list(_periods_on(key, day))


@lru_cache(maxsize=256)
def _periods_on(key: tuple, day: date) -> tuple[Period, ...]:
    """Cached by the schedule's content: rules ask for the same day on every observation."""
    tz_name, hours, closed = key
    if day in closed:
        return ()
    tz = zone(tz_name)
    schedule = Schedule(timezone=tz_name, hours={k: list(v) for k, v in hours})
    return tuple((datetime.combine(day, start, tz), datetime.combine(day, end, tz))
                 for start, end in schedule.periods(day.weekday()))


def openings_on(schedule: Schedule, day: date) -> list[datetime]:
    """Every time the window opens that day: the first opening and the end of each break."""
    return [start for start, _ in periods_on(schedule, day)]


def period_at(schedule: Schedule, now: float | datetime) -> Period | None:
    """The service period containing ``now``, or None (before opening, at a break, after closing)."""
    t = local_time(schedule, now)
    for start, end in periods_on(schedule, t.date()):
        if start <= t < end:
            return start, end
    return None


def is_open(schedule: Schedule, now: float | datetime) -> bool:
    return period_at(schedule, now) is not None


def next_opening(schedule: Schedule, now: float | datetime) -> datetime | None:
    """The first opening strictly after ``now`` (None if the schedule never opens within a year)."""
    t = local_time(schedule, now)
    for offset in range(SEARCH_DAYS + 1):
        for opening in openings_on(schedule, t.date() + timedelta(days=offset)):
            if opening > t:
                return opening
    return None


def last_closing(schedule: Schedule, now: float | datetime) -> datetime | None:
    """The latest end of a period at or before ``now`` (when the window last closed)."""
    t = local_time(schedule, now)
    for offset in range(SEARCH_DAYS + 1):
        ends = [end for _, end in periods_on(schedule, t.date() - timedelta(days=offset)) if end <= t]
        if ends:
            return max(ends)
    return None
