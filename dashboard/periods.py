"""The periods a report covers: a day, an ISO week or a month of the hall's calendar, and their buckets.

A day is cut into hours, a week and a month into days, each at the hall's local clock (a DST change
gives a 23- or 25-hour day, and its week stays right). Pure: the time zone and today are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

KINDS = ("day", "week", "month")
# years a picker may ask for: a date picker allows 9999-12-31, whose next day overflows
YEARS = range(1970, 3000)


@dataclass(frozen=True)
class Span:
    kind: str          # day, week, month
    first: date        # its first day

    @property
    def last(self) -> date:
        return self.after().first - timedelta(days=1)

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.first.isoformat()
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.first.year}-{self.first.month:02d}"

    def before(self) -> Span:
        if self.kind == "day":
            return Span("day", self.first - timedelta(days=1))
        if self.kind == "week":
            return Span("week", self.first - timedelta(days=7))
        prev = self.first - timedelta(days=1)
        return Span("month", prev.replace(day=1))

    def after(self) -> Span:
        if self.kind == "day":
            return Span("day", self.first + timedelta(days=1))
        if self.kind == "week":
            return Span("week", self.first + timedelta(days=7))
        nxt = self.first + timedelta(days=32)
        return Span("month", nxt.replace(day=1))

    def days(self) -> list[date]:
        n = (self.after().first - self.first).days
        return [self.first + timedelta(days=k) for k in range(n)]

    def bounds(self, tz: tzinfo) -> list[float]:
        """The buckets' edges as Unix seconds: hours of a day, days of a week or month (len = buckets + 1)."""
        midnights = [_midnight(d, tz) for d in self.days()] + [_midnight(self.after().first, tz)]
        if self.kind != "day":
            return midnights
        lo, hi = midnights
        return [lo + 3600 * k for k in range(int((hi - lo) // 3600))] + [hi]

    def bucket_starts(self, tz: tzinfo) -> list[datetime]:
        """Each bucket's start on the hall's clock (for its label)."""
        return [datetime.fromtimestamp(b, tz) for b in self.bounds(tz)[:-1]]


def _midnight(day: date, tz: tzinfo) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def current(kind: str, today: date) -> Span:
    if kind == "day":
        return Span("day", today)
    if kind == "week":
        return Span("week", today - timedelta(days=today.weekday()))
    return Span("month", today.replace(day=1))


def parse(kind: str, text: str | None, today: date) -> Span:
    """'2026-12-01' / '2026-W48' / '2026-12' -> the span; anything else (or a year out of range) -> the current one."""
    if kind not in KINDS:
        raise ValueError(f"unknown report period {kind!r}; known: {', '.join(KINDS)}")
    value = (text or "").strip().upper()
    try:
        if kind == "day" and value:
            day = date.fromisoformat(value)
            if day.year in YEARS:
                return Span("day", day)
        elif kind == "week" and "-W" in value:
            year, week = value.split("-W")
            if int(year) in YEARS:
                return Span("week", date.fromisocalendar(int(year), int(week), 1))
        elif kind == "month" and value:
            year, month = value.split("-")
            if int(year) in YEARS:
                return Span("month", date(int(year), int(month), 1))
    except ValueError:
        pass
    return current(kind, today)


def recent(kind: str, today: date, n: int) -> list[Span]:
    """The current span and the ``n - 1`` before it, newest first (a picker's choices)."""
    out = [current(kind, today)]
    while len(out) < n:
        out.append(out[-1].before())
    return out
