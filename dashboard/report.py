"""The weekly report: per window x event type counts, unattended minutes, the longest events, and
the trend against the week before, drawn as SVG bar charts; a CSV of the same table.

A week is an ISO week (``2026-W48``: Monday 00:00 to the next Monday 00:00 in the hall's time
zone). An event belongs to the week it started in; its duration is cut at the week's end.
Events a reviewer marked as false positives are left out (and counted separately).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape

from flask import Blueprint, Response, render_template, request

from vision.events import EVENT_TYPES

from .auth import require
from .i18n import t
from .present import YEARS, camera_names, duration, hall_tz, local, store, type_title, window_names

bp = Blueprint("report", __name__)

TOP_LONGEST = 10
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_week(text: str | None, today: date) -> date:
    """'2026-W48' -> the Monday of that ISO week; anything else (or a year no event has) -> this week's Monday."""
    if text:
        try:
            year, week = text.strip().upper().split("-W")
            if int(year) in YEARS:
                return date.fromisocalendar(int(year), int(week), 1)
        except ValueError:
            pass
    return today - timedelta(days=today.weekday())


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class Week:
    label: str
    monday: date
    start: float
    end: float
    counts: dict[tuple[str, str], int] = field(default_factory=dict)       # (place, type) -> n
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)    # (place, type) -> total s
    longest_s: dict[tuple[str, str], float] = field(default_factory=dict)
    per_day: list[int] = field(default_factory=lambda: [0] * 7)
    by_type: dict[str, int] = field(default_factory=dict)
    longest: list[dict] = field(default_factory=list)
    false_positives: int = 0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def unattended_minutes(self, place: str) -> float:
        return self.seconds.get((place, "unattended"), 0.0) / 60


def week_stats(monday: date) -> Week:
    """The week's numbers (the store aggregates them: ``Store.week_summary``)."""
    tz = hall_tz()
    bounds = [datetime.combine(monday + timedelta(days=k), datetime.min.time(), tzinfo=tz).timestamp()
              for k in range(8)]                       # local midnights: a DST change stays right
    week = Week(week_label(monday), monday, bounds[0], bounds[7])
    summary = store().week_summary(bounds, TOP_LONGEST)
    for r in summary["cells"]:
        key = (r["place"], r["type"])
        week.counts[key], week.seconds[key], week.longest_s[key] = r["n"], r["total"], r["longest"]
        week.by_type[r["type"]] = week.by_type.get(r["type"], 0) + r["n"]
    for day, n in summary["per_day"].items():
        week.per_day[day] = n
    week.false_positives = summary["false_positives"]
    week.longest = summary["longest"]
    return week


def place_name(place: str) -> str:
    if place.startswith("camera:"):
        cam = place.split(":", 1)[1]
        return f"{camera_names().get(cam, cam)} ({t('camera')})"
    return window_names().get(place, place)


def places(*weeks: Week) -> list[str]:
    """Windows in config order, then any other place that has events."""
    order = list(window_names())
    seen = {p for w in weeks for (p, _) in w.counts}
    return order + sorted(seen - set(order))


def types_in(*weeks: Week) -> list[str]:
    seen = {ty for w in weeks for (_, ty) in w.counts}
    return [ty for ty in EVENT_TYPES if ty in seen]


# ---- SVG charts (drawn here, no script) ----

def _text_width(text: str, size: int = 12) -> float:
    """Rough width of a label: CJK characters are about one em, Latin about half."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.6 for ch in text)


def fit_label(text: str, width: float, lines: int = 2) -> list[str]:
    """The label in at most ``lines`` lines of at most ``width``: broken at spaces (anywhere in a CJK
    run), the last line cut with an ellipsis when the rest does not fit."""
    out: list[str] = []
    line = ""
    for ch in text:
        if _text_width(line + ch) <= width or not line:
            line += ch
            continue
        cut = line.rfind(" ")
        if ch != " " and cut > 0:               # carry the word in progress to the next line
            out.append(line[:cut])
            line = line[cut + 1:] + ch
        else:
            out.append(line.rstrip())
            line = ch.lstrip()
    out.append(line)
    if len(out) > lines:
        last = out[lines - 1]
        while last and _text_width(last.rstrip() + "…") > width:
            last = last[:-1]
        out = out[:lines - 1] + [last.rstrip() + "…"]
    return out


def _label_svg(label: str, x: float, y_mid: float, width: float) -> str:
    """A row label right-aligned at ``x``, wrapped to fit ``width``; its full text is the tooltip."""
    lines = fit_label(label, width)
    first = y_mid - (len(lines) - 1) * 6
    spans = "".join(f'<tspan x="{x}" y="{first + k * 12:.0f}">{escape(line)}</tspan>' for k, line in enumerate(lines))
    return f'<text text-anchor="end"><title>{escape(label)}</title>{spans}</text>'


def bar_chart(labels: list[str], series: list[tuple[str, list[float], str]], unit: str = "",
              width: int = 440, row_h: int = 30) -> str:
    """Horizontal grouped bars: one group per label, one bar per series ``(name, values, colour)``."""
    n = len(series)
    label_w = int(min(160, max([_text_width(lb) for lb in labels] + [40]) + 12))
    legend_h, pad = 24, 6
    bar_h = max(6, (row_h - 8) // max(1, n))
    height = legend_h + len(labels) * row_h + pad
    top = max([v for _, values, _ in series for v in values] + [1])
    plot_w = width - label_w - 70
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg" font-size="12">']
    x: float = label_w
    for name, _, colour in series:
        parts.append(f'<rect x="{x}" y="5" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="15">{escape(name)}</text>')
        x += 16 + _text_width(name) + 18
    for i, label in enumerate(labels):
        y = legend_h + i * row_h
        parts.append(_label_svg(label, label_w - 6, y + row_h / 2 + 4, label_w - 10))
        for j, (name, values, colour) in enumerate(series):
            v = values[i]
            w = plot_w * v / top
            by = y + 3 + j * bar_h
            parts.append(f'<rect x="{label_w}" y="{by}" width="{w:.1f}" height="{bar_h - 2}" fill="{colour}">'
                         f'<title>{escape(label)} · {escape(name)}: {v:g}{escape(unit)}</title></rect>')
            parts.append(f'<text x="{label_w + w + 4:.1f}" y="{by + bar_h - 3}" font-size="10" fill="#333">'
                         f'{v:g}{escape(unit)}</text>')
        parts.append(f'<line x1="{label_w}" x2="{label_w}" y1="{y}" y2="{y + row_h}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


THIS_COLOUR, PREV_COLOUR = "#2f5fb3", "#b8c2d6"


def _trend(now_n: float, before_n: float) -> str:
    if before_n == 0:
        return "—" if now_n == 0 else t("trend_new")     # a percentage of nothing is no number
    pct = (now_n - before_n) / before_n * 100
    return f"{pct:+.0f}%"


@bp.route("/report")
@require("viewer", token=False)
def report():
    today = datetime.now(hall_tz()).date()
    monday = parse_week(request.args.get("week"), today)
    this, prev = week_stats(monday), week_stats(monday - timedelta(days=7))
    types = types_in(this, prev)
    table = []
    for p in places(this, prev):
        counts = {ty: this.counts.get((p, ty), 0) for ty in types}
        table.append({"place": p, "name": place_name(p), "counts": counts, "total": sum(counts.values()),
                      "prev_total": sum(prev.counts.get((p, ty), 0) for ty in types),
                      "unattended_min": this.unattended_minutes(p), "prev_unattended_min": prev.unattended_minutes(p)})
    this_name, prev_name = t("this_week"), t("previous_week")
    charts = {
        "by_type": bar_chart([type_title(ty) for ty in types],
                             [(this_name, [this.by_type.get(ty, 0) for ty in types], THIS_COLOUR),
                              (prev_name, [prev.by_type.get(ty, 0) for ty in types], PREV_COLOUR)]) if types else "",
        "by_day": bar_chart([t(d) for d in WEEKDAY_KEYS],
                            [(this_name, this.per_day, THIS_COLOUR), (prev_name, prev.per_day, PREV_COLOUR)]),
        "unattended": bar_chart([row["name"] for row in table if not row["place"].startswith("camera:")],
                                [(this_name, [round(r["unattended_min"], 1) for r in table
                                              if not r["place"].startswith("camera:")], THIS_COLOUR),
                                 (prev_name, [round(r["prev_unattended_min"], 1) for r in table
                                              if not r["place"].startswith("camera:")], PREV_COLOUR)],
                                unit=t("minutes_unit")),
    }
    weeks = [week_label(today - timedelta(days=today.weekday() + 7 * k)) for k in range(0, 26)]
    if this.label not in weeks:
        weeks.insert(0, this.label)
    return render_template(
        "report.html", this=this, prev=prev, table=table, types=types, charts=charts, weeks=weeks,
        prev_label=week_label(monday - timedelta(days=7)), next_label=week_label(monday + timedelta(days=7)),
        sunday=monday + timedelta(days=6), trend=_trend, type_title=type_title, place_name=place_name,
        duration=duration, local=local, windows=window_names())


@bp.route("/report.csv")
@require("viewer", token=False)
def report_csv():
    today = datetime.now(hall_tz()).date()
    monday = parse_week(request.args.get("week"), today)
    this, prev = week_stats(monday), week_stats(monday - timedelta(days=7))
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel opens the Chinese names as UTF-8
    writer = csv.writer(out)
    writer.writerow(["week", "window_id", "window", "type", "event", "count", "total_minutes", "longest_minutes",
                     "previous_week_count"])
    for p in places(this, prev):
        for ty in types_in(this, prev):
            n, before = this.counts.get((p, ty), 0), prev.counts.get((p, ty), 0)
            if n == 0 and before == 0:
                continue
            writer.writerow([this.label, p, place_name(p), ty, type_title(ty), n,
                             f"{this.seconds.get((p, ty), 0.0) / 60:.1f}",
                             f"{this.longest_s.get((p, ty), 0.0) / 60:.1f}", before])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="hallmonitor-{this.label}.csv"'})
