"""The reports: a day, a week or a month (``dashboard/periods.py``). Per window x event type counts,
unattended minutes, the longest events, the staff members on the rota (events per behaviour and time
on duty, from vision/store/rota.py) and the trend against the period before, drawn as SVG bar charts;
a CSV of each table, its headers in the page's language.

A week is an ISO week (``2026-W48``: Monday 00:00 to the next Monday 00:00 in the hall's time zone), a
month a calendar month (``2026-12``), a day a date (``2026-12-01``). An event belongs to the period it
started in; its duration is cut at the period's end. Events a reviewer marked as false positives are
left out (and counted separately).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import Any

from flask import Blueprint, Response, render_template, request

from vision.events import EVENT_TYPES

from . import periods
from .auth import require
from .i18n import t
from .periods import Span
from .present import camera_names, duration, hall_tz, local, store, type_title, window_names

bp = Blueprint("report", __name__)

TOP_LONGEST = 10
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PICKER_CHOICES = {"day": 31, "week": 26, "month": 24}


@dataclass
class Period:
    span: Span
    start: float
    end: float
    counts: dict[tuple[str, str], int] = field(default_factory=dict)       # (place, type) -> n
    seconds: dict[tuple[str, str], float] = field(default_factory=dict)    # (place, type) -> total s
    longest_s: dict[tuple[str, str], float] = field(default_factory=dict)
    per_bucket: list[int] = field(default_factory=list)                    # hours of a day, days otherwise
    by_type: dict[str, int] = field(default_factory=dict)
    longest: list[dict] = field(default_factory=list)
    false_positives: int = 0
    people: list[dict] = field(default_factory=list)                       # Store.people_summary

    @property
    def label(self) -> str:
        return self.span.label

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def unattended_minutes(self, place: str) -> float:
        return self.seconds.get((place, "unattended"), 0.0) / 60


def period_stats(span: Span) -> Period:
    """The period's numbers (the store aggregates them: ``Store.period_summary``, ``people_summary``)."""
    bounds = span.bounds(hall_tz())
    period = Period(span, bounds[0], bounds[-1], per_bucket=[0] * (len(bounds) - 1))
    summary = store().period_summary(bounds, TOP_LONGEST)
    for r in summary["cells"]:
        key = (r["place"], r["type"])
        period.counts[key], period.seconds[key], period.longest_s[key] = r["n"], r["total"], r["longest"]
        period.by_type[r["type"]] = period.by_type.get(r["type"], 0) + r["n"]
    for bucket, n in summary["per_bucket"].items():
        period.per_bucket[bucket] = n
    period.false_positives = summary["false_positives"]
    period.longest = summary["longest"]
    period.people = store().people_summary(bounds[0], bounds[-1])
    return period


def place_name(place: str) -> str:
    if place.startswith("camera:"):
        cam = place.split(":", 1)[1]
        return f"{camera_names().get(cam, cam)} ({t('camera')})"
    return window_names().get(place, place)


def places(*weeks: Period) -> list[str]:
    """Windows in config order, then any other place that has events."""
    order = list(window_names())
    seen = {p for w in weeks for (p, _) in w.counts}
    return order + sorted(seen - set(order))


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


# the words of each kind of report: its title, "this ..." and "the ... before", its bucket chart
WORDS = {
    "day": {"title": "daily_report", "this": "this_day", "prev": "previous_day", "vs": "vs_previous_day",
            "by_type": "chart_by_type_day", "by_bucket": "chart_by_hour"},
    "week": {"title": "weekly_report", "this": "this_week", "prev": "previous_week", "vs": "vs_previous",
             "by_type": "chart_by_type", "by_bucket": "chart_by_day"},
    "month": {"title": "monthly_report", "this": "this_month", "prev": "previous_month", "vs": "vs_previous_month",
              "by_type": "chart_by_type_month", "by_bucket": "chart_by_date"},
}


def bucket_labels(span: Span) -> list[str]:
    starts = span.bucket_starts(hall_tz())
    if span.kind == "day":
        return [t("hour_label").replace("{h}", str(s.hour)) for s in starts]
    if span.kind == "week":
        return [t(WEEKDAY_KEYS[s.weekday()]) for s in starts]
    return [t("date_label").replace("{d}", str(s.day)) for s in starts]


def person_name(p: dict) -> str:
    return f"{p['name']} ({p['number']})" if p["number"] is not None else t("not_on_rota")


def people_rows(this: Period, prev: Period, types: list[str]) -> list[dict]:
    """One row per staff member on the rota or named by an event this period; the unrostered last."""
    before = {p["number"]: p for p in prev.people}
    rows = []
    for p in this.people:
        hours = p["duty_s"] / 3600
        rows.append({"number": p["number"], "name": person_name(p), "counts": {ty: p["counts"].get(ty, 0)
                                                                              for ty in types},
                     "total": p["events"], "prev_total": before.get(p["number"], {}).get("events", 0),
                     "duty_h": hours, "per_hour": p["events"] / hours if hours else None})
    return rows


def _types(this: Period, prev: Period) -> list[str]:
    seen = {ty for w in (this, prev) for (_, ty) in w.counts} | {ty for p in this.people for ty in p["counts"]}
    return [ty for ty in EVENT_TYPES if ty in seen]


def period_title(span: Span) -> str:
    """A period as the page's language says it: 2026年第49周 (12-01 – 12-07), Week 49, 2026 (...), 2026年12月."""
    first, last = span.first, span.last
    if span.kind == "week":
        year, week, _ = first.isocalendar()
        text = t("period_week").replace("{year}", str(year)).replace("{week}", str(week))
        return f"{text} ({first:%m-%d} – {last:%m-%d})"
    if span.kind == "month":
        return t("period_month").replace("{year}", str(first.year)).replace("{month}", str(first.month))
    return first.isoformat()


def _today() -> date:
    return datetime.now(hall_tz()).date()


def _span(kind: str) -> Span:
    return periods.parse(kind, request.args.get(kind), _today())


def _page(kind: str):
    span = _span(kind)
    this, prev = period_stats(span), period_stats(span.before())
    types = _types(this, prev)
    table: list[dict[str, Any]] = []
    for p in places(this, prev):
        counts = {ty: this.counts.get((p, ty), 0) for ty in types}
        table.append({"place": p, "name": place_name(p), "counts": counts, "total": sum(counts.values()),
                      "prev_total": sum(prev.counts.get((p, ty), 0) for ty in types),
                      "unattended_min": this.unattended_minutes(p), "prev_unattended_min": prev.unattended_minutes(p)})
    people = people_rows(this, prev, types)
    words = WORDS[kind]
    this_name, prev_name = t(words["this"]), t(words["prev"])
    windows_only = [r for r in table if not r["place"].startswith("camera:")]
    bucket_series: list[tuple[str, list[float], str]] = [(this_name, [float(n) for n in this.per_bucket], THIS_COLOUR)]
    if kind == "week":     # a week's days pair with the week before's; a month's dates and a day's hours need not
        bucket_series.append((prev_name, [float(n) for n in prev.per_bucket], PREV_COLOUR))
    charts = {
        "by_type": bar_chart([type_title(ty) for ty in types],
                             [(this_name, [this.by_type.get(ty, 0) for ty in types], THIS_COLOUR),
                              (prev_name, [prev.by_type.get(ty, 0) for ty in types], PREV_COLOUR)]) if types else "",
        "by_bucket": bar_chart(bucket_labels(span), bucket_series, row_h=30 if kind == "week" else 18),
        "unattended": bar_chart([r["name"] for r in windows_only],
                                [(this_name, [round(r["unattended_min"], 1) for r in windows_only], THIS_COLOUR),
                                 (prev_name, [round(r["prev_unattended_min"], 1) for r in windows_only], PREV_COLOUR)],
                                unit=t("minutes_unit")),
        # only when the rota names someone: a hall without a rota keeps its three charts
        "by_person": bar_chart([r["name"] for r in people],
                               [(this_name, [r["total"] for r in people], THIS_COLOUR),
                                (prev_name, [r["prev_total"] for r in people], PREV_COLOUR)])
        if any(r["number"] is not None for r in people) else "",
    }
    recent = periods.recent(kind, _today(), PICKER_CHOICES[kind])
    if span not in recent:
        recent.insert(0, span)
    choices = [(s.label, period_title(s)) for s in recent]
    return render_template(
        "report.html", kind=kind, words=words, span=span, this=this, prev=prev, table=table, people=people,
        types=types, charts=charts, choices=choices, prev_label=span.before().label, next_label=span.after().label,
        trend=_trend, type_title=type_title, place_name=place_name, duration=duration, local=local,
        windows=window_names(), csv_endpoint=CSV_ENDPOINTS[kind], page_endpoint=PAGE_ENDPOINTS[kind])


def _csv(kind: str):
    span = _span(kind)
    this, prev = period_stats(span), period_stats(span.before())
    out = io.StringIO()
    out.write("\ufeff")  # so that Excel opens the Chinese names as UTF-8
    writer = csv.writer(out)
    table = request.args.get("table", "windows")
    if table == "people":
        types = _types(this, prev)
        writer.writerow([t("csv_period"), t("csv_staff_number"), t("csv_staff_name"), t("csv_duty_hours"),
                         t("csv_events"), *[type_title(ty) for ty in types], t("csv_previous_count")])
        for row, person in zip(people_rows(this, prev, types), this.people, strict=True):
            writer.writerow([this.label, person["number"] or "", person["name"] or t("not_on_rota"),
                             f"{row['duty_h']:.2f}", row["total"], *[row["counts"][ty] for ty in types],
                             row["prev_total"]])
    else:
        writer.writerow([t("csv_period"), t("csv_window_id"), t("csv_window"), t("csv_type"), t("csv_event"),
                         t("csv_count"), t("csv_total_minutes"), t("csv_longest_minutes"), t("csv_previous_count")])
        for p in places(this, prev):
            for ty in _types(this, prev):
                n, before = this.counts.get((p, ty), 0), prev.counts.get((p, ty), 0)
                if n == 0 and before == 0:
                    continue
                writer.writerow([this.label, p, place_name(p), ty, type_title(ty), n,
                                 f"{this.seconds.get((p, ty), 0.0) / 60:.1f}",
                                 f"{this.longest_s.get((p, ty), 0.0) / 60:.1f}", before])
    suffix = "-people" if table == "people" else ""
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="hallmonitor-{this.label}{suffix}.csv"'})


PAGE_ENDPOINTS = {"day": "report.daily", "week": "report.report", "month": "report.monthly"}
CSV_ENDPOINTS = {"day": "report.daily_csv", "week": "report.report_csv", "month": "report.monthly_csv"}


@bp.route("/report")
@require("viewer", token=False)
def report():
    return _page("week")


@bp.route("/report/day")
@require("viewer", token=False)
def daily():
    return _page("day")


@bp.route("/report/month")
@require("viewer", token=False)
def monthly():
    return _page("month")


@bp.route("/report.csv")
@require("viewer", token=False)
def report_csv():
    return _csv("week")


@bp.route("/report/day.csv")
@require("viewer", token=False)
def daily_csv():
    return _csv("day")


@bp.route("/report/month.csv")
@require("viewer", token=False)
def monthly_csv():
    return _csv("month")
