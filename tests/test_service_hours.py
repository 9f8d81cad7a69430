"""Service hours: periods, breaks, closed dates, time zones (pure, Unix seconds in)."""

from datetime import UTC, date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from vision.config import Schedule
from vision.rules.service_hours import is_open, last_closing, next_opening, openings_on, period_at

SH = ZoneInfo("Asia/Shanghai")
MON = date(2026, 11, 2)   # a Monday
HALL = Schedule()         # mon-fri 09:00-12:00, 13:30-17:30


def at(h: int, m: int = 0, s: int = 0, day: date = MON, tz: ZoneInfo = SH) -> float:
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=tz).timestamp()


def local(day: date, h: int, m: int = 0, tz: ZoneInfo = SH) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, tzinfo=tz)


@pytest.mark.parametrize("when, expected", [
    (at(8, 59, 59), False),
    (at(9), True),
    (at(11, 59, 59), True),
    (at(12), False),                       # lunch break
    (at(13, 29, 59), False),
    (at(13, 30), True),
    (at(17, 29, 59), True),
    (at(17, 30), False),
    (at(10, day=date(2026, 11, 7)), False),  # Saturday
    (at(10, day=date(2026, 11, 8)), False),  # Sunday
])
def test_is_open(when, expected):
    assert is_open(HALL, when) is expected


def test_closed_date_has_no_service():
    holiday = Schedule(closed=[MON])
    assert not is_open(holiday, at(10))
    assert openings_on(holiday, MON) == []
    assert is_open(holiday, at(10, day=date(2026, 11, 3)))


def test_period_at_gives_the_period_or_none():
    assert period_at(HALL, at(10)) == (local(MON, 9), local(MON, 12))
    assert period_at(HALL, at(14)) == (local(MON, 13, 30), local(MON, 17, 30))
    assert period_at(HALL, at(12, 30)) is None


def test_openings_are_the_first_opening_and_each_break_end():
    assert openings_on(HALL, MON) == [local(MON, 9), local(MON, 13, 30)]
    assert openings_on(HALL, date(2026, 11, 7)) == []
    three = Schedule(hours={"mon": ["14:00-17:00", "08:00-10:00", "10:30-12:00"]})
    assert [o.strftime("%H:%M") for o in openings_on(three, MON)] == ["08:00", "10:30", "14:00"]


@pytest.mark.parametrize("when, schedule, expected", [
    (at(10), HALL, local(MON, 13, 30)),
    (at(12, 30), HALL, local(MON, 13, 30)),
    (at(13, 30), HALL, local(date(2026, 11, 3), 9)),          # strictly after now
    (at(8), HALL, local(MON, 9)),
    (at(18, day=date(2026, 11, 6)), HALL, local(date(2026, 11, 9), 9)),   # Friday evening -> Monday
    (at(18), Schedule(closed=[date(2026, 11, 3)]), local(date(2026, 11, 4), 9)),      # Tuesday closed
])
def test_next_opening(when, schedule, expected):
    assert next_opening(schedule, when) == expected


def test_a_schedule_that_never_opens():
    never = Schedule(hours={})
    assert next_opening(never, at(10)) is None
    assert last_closing(never, at(10)) is None
    assert not is_open(never, at(10))


def test_last_closing_skips_the_weekend():
    assert last_closing(HALL, at(8)) == local(date(2026, 10, 30), 17, 30)   # the Friday before
    assert last_closing(HALL, at(12, 10)) == local(MON, 12)


def test_the_schedule_time_zone_is_used():
    berlin = ZoneInfo("Europe/Berlin")
    sched = Schedule(timezone="Europe/Berlin")
    dst_day = date(2026, 3, 30)   # Monday after the switch to summer time
    assert is_open(sched, at(9, day=dst_day, tz=berlin))
    assert not is_open(sched, at(9, day=dst_day, tz=SH))          # 02:00 in Berlin
    assert openings_on(sched, dst_day)[0].utcoffset().total_seconds() == 7200


def test_datetimes_must_be_aware():
    assert is_open(HALL, datetime(2026, 11, 2, 2, 0, tzinfo=UTC))   # 10:00 in Shanghai
    with pytest.raises(ValueError, match="naive"):
        is_open(HALL, datetime(2026, 11, 2, 10, 0))
