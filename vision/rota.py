"""The rota (排班): who is on duty at which window, from when to when. Parsing and checking, no I/O.

A rota arrives as CSV (a spreadsheet's export) or as JSON (an integrator's HR system): one shift a row,
with the window, the staff member's name and 工号 (staff number), and the shift's start and end as
date-times in the hall's time zone (``2026-12-01 08:30``; an explicit offset such as ``+08:00`` is
kept). :func:`parse_csv` and :func:`parse_rows` turn it into :class:`Shift` values or raise one
:class:`RotaError` listing every :class:`Problem` found, each naming the CSV line and column (or the
JSON item and field), so a hall manager fixes the file in one pass. A problem carries a ``code`` and
its ``params`` as well as an English message: the dashboard words it in the page's language.

Checked here: every field present, a window the hall has (its id or its name), readable times, an end
after the start, a shift at most 24 hours, one name per 工号, no two shifts on one window at once and
no staff member on two windows at once. Shifts already stored are checked by vision/store/rota.py.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any

from vision.errors import InputError

COLUMNS = ("window", "staff_name", "staff_number", "from", "to")
# the header names a spreadsheet may use for each column (lower-cased, spaces ignored)
HEADERS: dict[str, tuple[str, ...]] = {
    "window": ("window", "window_id", "窗口", "窗口号", "窗口编号"),
    "staff_name": ("staff_name", "name", "staff", "姓名", "人员", "工作人员"),
    "staff_number": ("staff_number", "number", "staff_no", "工号", "员工号"),
    "from": ("from", "start", "starts_at", "开始", "开始时间", "上岗时间"),
    "to": ("to", "end", "ends_at", "结束", "结束时间", "离岗时间"),
}
MAX_SHIFTS = 5000          # a month of 80 windows, two shifts a day, fits
MAX_SHIFT_S = 24 * 3600
MAX_NAME, MAX_NUMBER = 50, 32
MAX_PROBLEMS = 50          # listed; the count says how many more

_TIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?"
                   r"\s*(Z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)


@dataclass(frozen=True)
class Shift:
    window_id: str
    staff_name: str
    staff_number: str
    starts_at: float           # Unix seconds
    ends_at: float
    line: int | None = None    # where it came from: the CSV line, or the JSON item (1-based)

    def overlaps(self, other: Shift) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the rota: where (``line`` and ``column``), what (``code`` + ``params``).

    ``column`` is the column's key (window, staff_name, staff_number, from, to), or a header cell the
    file has wrong; ``heading`` is how the file's first line names that column (``开始``), when known."""
    code: str
    line: int | None = None
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    json_items: bool = False   # line is a JSON item number, column its field
    heading: str | None = None

    def where(self) -> str:
        if self.line is None:
            return "the rota"
        if self.json_items:
            return f"shifts[{self.line - 1}]" + (f".{self.column}" if self.column else "")
        column = self.heading or self.column
        return f"line {self.line}" + (f", column {column}" if column else "")

    def message(self) -> str:
        return f"{self.where()}: {MESSAGES[self.code].format(**self.params)}"

    def to_json(self) -> dict:
        return {"line": None if self.json_items else self.line,
                "item": self.line - 1 if self.json_items and self.line is not None else None,
                "column": self.column, "heading": self.heading, "code": self.code, "params": self.params,
                "message": self.message()}


# code -> English message ({params}); the dashboard has each in zh-CN and English (dashboard/rota.py)
MESSAGES: dict[str, str] = {
    "empty": "the file has no shifts; the first line names the columns: window, staff_name, staff_number, from, to",
    "not_text": "the file is not UTF-8 text; save it as CSV UTF-8",
    "bad_csv": "this is not CSV ({reason}); save the sheet as CSV UTF-8",
    "too_many": "at most {limit} shifts in one import, got {count}; split the file",
    "missing_column": "no column {column}; the first line must name the columns window, staff_name, "
                      "staff_number, from, to (or 窗口, 姓名, 工号, 开始, 结束)",
    "unknown_column": "unknown column {column}; known: window, staff_name, staff_number, from, to",
    "duplicate_column": "column {column} is named twice",
    "extra_cells": "the row has {count} cells, but the header names {columns} columns",
    "required": "empty; fill it in",
    "too_long": "at most {limit} characters",
    "unknown_window": "no window {value} in this hall; use a window id or name: {known}",
    "bad_time": "{value} is not a date-time; write it as 2026-12-01 08:30 (the hall's time zone)",
    "end_before_start": "the shift ends ({to}) before it starts ({from}); swap them, or fix the date",
    "too_long_shift": "the shift is {hours} hours long; a shift is at most 24 hours: split it",
    "two_names": "工号 {number} is {name} here but {other} on line {other_line}; one 工号 is one person",
    "overlap": "{name} ({from}–{to}) overlaps {other} ({other_from}–{other_to}) on line {other_line} at "
               "window {window}; end one shift before the other starts, or remove one",
    "two_windows": "{name} (工号 {number}) is on window {window} from {from} to {to} and on window "
                   "{other_window} on line {other_line} at the same time; fix one of the two shifts",
    "overlaps_stored": "{name} ({from}–{to}) overlaps the shift already on the rota at window {window}: "
                       "{other} ({other_from}–{other_to}); import with mode replace to replace the rota "
                       "of those days, or change this shift",
    "two_windows_stored": "{name} (工号 {number}) is already on the rota at window {other_window} from "
                          "{other_from} to {other_to}; fix this shift or that one",
    "bad_mode": "mode {value}: use add (refuse shifts that overlap the rota) or replace (replace the rota "
                "of the days the file covers)",
}


class RotaError(InputError):
    """The rota cannot be imported; ``problems`` lists what to fix. Nothing was imported."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "; ".join(p.message() for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"the rota was not imported, nothing changed: {shown}{more}")


def parse_time(text: str, tz: tzinfo) -> float | None:
    """``2026-12-01 08:30`` (hall time) or with an offset -> Unix seconds; None if it is no date-time."""
    m = _TIME.match(text.strip())
    if not m:
        return None
    y, mo, d, h, mi, s, zone = m.groups()
    try:
        naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
    except ValueError:
        return None
    if zone is None:
        return naive.replace(tzinfo=tz).timestamp()
    zone = zone.upper()
    offset = "+00:00" if zone == "Z" else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
    return datetime.fromisoformat(f"{naive.isoformat()}{offset}").timestamp()


def local_text(ts: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")


def _key(header: str) -> str | None:
    name = header.strip().lstrip("\ufeff").lower().replace(" ", "")
    for column, names in HEADERS.items():
        if name in names:
            return column
    return None


def parse_csv(data: bytes | str, windows: Mapping[str, str], tz: tzinfo) -> list[Shift]:
    """The shifts of a CSV rota (first line: the column names). ``windows``: window id -> name."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise RotaError([Problem("not_text")]) from None
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff"), newline=""))
    try:
        return _read_csv(reader, windows, tz)
    except csv.Error as exc:
        raise RotaError([Problem("bad_csv", reader.line_num or 1, None, {"reason": str(exc)})]) from None


def _read_csv(reader: Any, windows: Mapping[str, str], tz: tzinfo) -> list[Shift]:
    header = next(reader, None)
    while header is not None and not any(c.strip() for c in header):
        header = next(reader, None)
    if header is None:
        raise RotaError([Problem("empty")])
    header_line = reader.line_num
    problems: list[Problem] = []
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        column = _key(cell)
        if column is None:
            if cell.strip():
                problems.append(Problem("unknown_column", header_line, cell.strip(), {"column": cell.strip()},
                                        heading=cell.strip()))
        elif column in index:
            problems.append(Problem("duplicate_column", header_line, column, {"column": cell.strip()},
                                    heading=cell.strip()))
        else:
            index[column] = i
    for column in COLUMNS:
        if column not in index:
            problems.append(Problem("missing_column", header_line, None, {"column": column}))
    if problems:
        raise RotaError(problems)
    names = {c: header[i].strip() for c, i in index.items()}     # the file's own words, for the messages
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        line = reader.line_num
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            problems.append(Problem("extra_cells", line, None, {"count": len(cells), "columns": len(header)}))
            continue
        rows.append((line, {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}))
    return _shifts(rows, windows, tz, problems, names, json_items=False)


def parse_rows(items: Any, windows: Mapping[str, str], tz: tzinfo) -> list[Shift]:
    """The shifts of a JSON rota: a list of ``{window, staff_name, staff_number, from, to}``."""
    if not isinstance(items, list):
        raise InputError(f"shifts: expected a list of shifts, got {type(items).__name__}")
    problems: list[Problem] = []
    rows: list[tuple[int, dict[str, str]]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"shifts[{i}]: expected an object with {', '.join(COLUMNS)}, got {type(item).__name__}")
        unknown = sorted(set(item) - set(COLUMNS))
        if unknown:
            raise InputError(f"shifts[{i}]: unknown field {', '.join(map(repr, unknown))}; known: {', '.join(COLUMNS)}")
        row = {}
        for c in COLUMNS:
            value = item.get(c)
            if value is not None and not isinstance(value, str):
                raise InputError(f"shifts[{i}].{c}: expected text, got {type(value).__name__}")
            row[c] = (value or "").strip()
        rows.append((i + 1, row))
    return _shifts(rows, windows, tz, problems, {c: c for c in COLUMNS}, json_items=True)


def _shifts(rows: list[tuple[int, dict[str, str]]], windows: Mapping[str, str], tz: tzinfo,
            problems: list[Problem], names: dict[str, str], json_items: bool) -> list[Shift]:
    if not rows and not problems:
        problems.append(Problem("empty", json_items=json_items))
    if len(rows) > MAX_SHIFTS:
        raise RotaError([Problem("too_many", params={"limit": MAX_SHIFTS, "count": len(rows)})])
    by_name = {name: wid for wid, name in windows.items()}
    known = ", ".join(f"{wid} ({name})" if name != wid else wid for wid, name in windows.items()) or "none"

    def problem(code: str, line: int, column: str | None = None, **params) -> None:
        problems.append(Problem(code, line, column, params, json_items, names.get(column) if column else None))

    shifts: list[Shift] = []
    for line, row in rows:
        bad = False
        for column in COLUMNS:
            if not row[column]:
                problem("required", line, column)
                bad = True
        for column, limit in (("staff_name", MAX_NAME), ("staff_number", MAX_NUMBER), ("window", 100)):
            if len(row[column]) > limit:
                problem("too_long", line, column, limit=limit)
                bad = True
        window = row["window"]
        window_id = window if window in windows else by_name.get(window)
        if window and window_id is None:
            problem("unknown_window", line, "window", value=window, known=known)
            bad = True
        times = {}
        for column in ("from", "to"):
            if row[column]:
                times[column] = parse_time(row[column], tz)
                if times[column] is None:
                    problem("bad_time", line, column, value=row[column])
                    bad = True
        start, end = times.get("from"), times.get("to")
        if start is not None and end is not None:        # the times are checked even when the row has other faults
            if end <= start:
                problem("end_before_start", line, "to", **{"from": row["from"], "to": row["to"]})
                bad = True
            elif end - start > MAX_SHIFT_S:
                problem("too_long_shift", line, "to", hours=f"{(end - start) / 3600:g}")
                bad = True
        if bad or start is None or end is None or window_id is None:
            continue
        shifts.append(Shift(window_id, row["staff_name"], row["staff_number"], start, end, line))
    problems.extend(replace(p, heading=names.get(p.column or "")) for p in clashes(shifts, tz, json_items))
    if problems:
        raise RotaError(problems[:MAX_PROBLEMS])
    return shifts


def describe(shift: Shift, tz: tzinfo, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}name": shift.staff_name, f"{prefix}from": local_text(shift.starts_at, tz),
            f"{prefix}to": local_text(shift.ends_at, tz)}


def clashes(shifts: Iterable[Shift], tz: tzinfo, json_items: bool = False) -> list[Problem]:
    """Within one import: one name per 工号, one shift at a time per window, one window at a time per person."""
    out: list[Problem] = []
    shifts = sorted(shifts, key=lambda s: (s.starts_at, s.line or 0))
    first_name: dict[str, Shift] = {}
    for s in shifts:
        seen = first_name.setdefault(s.staff_number, s)
        if seen.staff_name != s.staff_name:
            out.append(Problem("two_names", s.line, "staff_name", {
                "number": s.staff_number, "name": s.staff_name, "other": seen.staff_name,
                "other_line": seen.line}, json_items))
    for key, code in ((lambda s: s.window_id, "overlap"), (lambda s: s.staff_number, "two_windows")):
        groups: dict[str, list[Shift]] = {}
        for s in shifts:
            groups.setdefault(key(s), []).append(s)
        for group in groups.values():
            latest: Shift | None = None              # of those so far, the one that ends last
            for s in group:
                same_window = latest is not None and latest.window_id == s.window_id
                if latest is not None and s.overlaps(latest) and not (code == "two_windows" and same_window):
                    out.append(Problem(code, s.line, "from", {
                        **describe(s, tz), **describe(latest, tz, "other_"), "other": latest.staff_name,
                        "other_line": latest.line, "window": s.window_id, "other_window": latest.window_id,
                        "number": s.staff_number}, json_items))
                if latest is None or s.ends_at > latest.ends_at:
                    latest = s
    return out
