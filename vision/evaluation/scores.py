"""Score per-image verdicts against what a person labelled: counts and metrics, no I/O.

`hallmonitor eval` runs each labelled photo through the same path as `analyze`, maps the window's
observation onto the label names (``got_verdicts``) and the labels onto verdicts
(``expected_verdicts``), and hands the pairs to ``score``.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field

# Verdicts in the order the table prints them, named as the labels are.
VERDICTS = ("staff_present", "phone_in_use", "phone_on_desk", "eating_or_drinking", "head_down_sleeping",
            "badge_visible")
# A constant answer that gets at least this plain accuracy "scores well": read balanced accuracy there.
CONSTANT_SCORES_WELL = 0.7
# A stage that took less than this did no work on the image (it had nothing to run on).
RAN_MS = 0.05


def expected_verdicts(labels: dict[str, bool | None]) -> dict[str, bool | None]:
    """The labels as verdicts; None = not scored. Phone in use is in hand OR at the ear: true if either
    is true, false only if both are false."""
    hand, ear = labels.get("phone_in_hand"), labels.get("phone_at_ear")
    in_use = True if (hand is True or ear is True) else (False if (hand is False and ear is False) else None)
    return {
        "staff_present": labels.get("staff_present"),
        "phone_in_use": in_use,
        "phone_on_desk": labels.get("phone_on_desk"),
        "eating_or_drinking": labels.get("eating_or_drinking"),
        "head_down_sleeping": labels.get("head_down_sleeping"),
        "badge_visible": labels.get("badge_visible"),
    }


def got_verdicts(windows: list[dict]) -> dict[str, bool | None]:
    """What the product said, from ``WindowObservation.to_json()`` of each window of the image: a
    verdict is true if any window says so. ``badge_visible`` is None when no window judged a badge."""
    badges = [w.get("badge_missing") for w in windows if w.get("badge_missing") is not None]
    return {
        "staff_present": any(w.get("staff_present") for w in windows),
        "phone_in_use": any(w.get("phone_in_use") for w in windows),
        "phone_on_desk": any(w.get("phone_on_counter") for w in windows),
        "eating_or_drinking": any(w.get("eating") for w in windows),
        "head_down_sleeping": any(w.get("head_down") for w in windows),
        "badge_visible": None if not badges else not any(badges),
    }


def badge_unjudged_reason(persons: list[dict]) -> str:
    """Why no badge verdict came out of an image, from the persons of ``ImageResult.to_json()``: "no
    staff found" when no window counted anyone as staff, else the first staff member's badge reason
    (e.g. "shoulders not visible", "chest too small"), without its numbers."""
    staff = [p for p in persons if p.get("staff")]
    if not staff:
        return "no staff found"
    for p in staff:
        reason = ((p.get("evidence") or {}).get("badge") or {}).get("reason")
        if reason:
            return re.sub(r"\s*\(.*\)$", "", str(reason))
    return "staff not looked at"


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


@dataclass
class Counts:
    """A confusion table for one verdict. ``unjudged``: labelled, but the product gave no verdict."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    unjudged: int = 0

    def add(self, expected: bool, got: bool | None) -> None:
        if got is None:
            self.unjudged += 1
        elif expected and got:
            self.tp += 1
        elif expected:
            self.fn += 1
        elif got:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positives(self) -> int:
        return self.tp + self.fn

    def metrics(self) -> dict:
        """P, R, F1, plain and balanced accuracy on the judged images (None where undefined), and
        whether a constant answer would score well (majority share >= ``CONSTANT_SCORES_WELL``)."""
        p = _ratio(self.tp, self.tp + self.fp)
        r = _ratio(self.tp, self.tp + self.fn)
        f1 = _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)
        specificity = _ratio(self.tn, self.tn + self.fp)
        ba = None if r is None or specificity is None else (r + specificity) / 2
        majority = _ratio(max(self.positives, self.n - self.positives), self.n)
        return {
            "n": self.n, "positives": self.positives, "not_judged": self.unjudged,
            "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn,
            "precision": p, "recall": r, "f1": f1, "specificity": specificity,
            "accuracy": _ratio(self.tp + self.tn, self.n), "balanced_accuracy": ba,
            "majority_share": majority,
            "constant_scores_well": majority is not None and majority >= CONSTANT_SCORES_WELL,
        }


@dataclass
class Scored:
    """One image's outcome: what was expected, what the product said, and the verdicts it got wrong."""

    file: str
    source: str
    expected: dict[str, bool | None]
    got: dict[str, bool | None]
    badge_why: str | None = None    # why no badge verdict came out (``badge_unjudged_reason``), if none did

    @property
    def misses(self) -> list[str]:
        """Verdicts where a judged answer differs from the label (misses and false alarms)."""
        return [v for v in VERDICTS if self.expected.get(v) is not None and self.got.get(v) is not None
                and self.expected[v] != self.got[v]]


@dataclass
class Tally:
    images: int = 0
    counts: dict[str, Counts] = field(default_factory=lambda: {v: Counts() for v in VERDICTS})
    badge_eligible: int = 0      # staff labelled present (or not labelled absent) with a badge label
    badge_why: Counter = field(default_factory=Counter)   # reason -> eligible images left without a badge verdict

    def add(self, s: Scored) -> None:
        self.images += 1
        for v in VERDICTS:
            expected = s.expected.get(v)
            if expected is not None:
                self.counts[v].add(expected, s.got.get(v))
        if s.expected.get("badge_visible") is not None and s.expected.get("staff_present") is not False:
            self.badge_eligible += 1
            if s.got.get("badge_visible") is None:
                self.badge_why[s.badge_why or "not recorded"] += 1

    def to_json(self) -> dict:
        judged = self.counts["badge_visible"].n
        return {
            "images": self.images,
            "verdicts": {v: self.counts[v].metrics() for v in VERDICTS},
            "badge": {"labelled": self.badge_eligible, "judged": judged,
                      "coverage": _ratio(judged, self.badge_eligible),
                      "not_judged_why": dict(self.badge_why.most_common())},
        }


def median_timing(timings: list[dict[str, float]]) -> dict[str, float]:
    """Median ms per stage over the images, for whatever stages the analyzer reported (an image that
    lacks a stage did not run it: 0 ms); ``total`` last."""
    return {k: statistics.median(float(t.get(k, 0.0)) for t in timings) for k in _stages(timings)}


def timing_when_run(timings: list[dict[str, float]]) -> dict[str, dict]:
    """Per stage: on how many images it did work (took at least ``RAN_MS``; a stage with nothing to do,
    e.g. pose on a frame without persons, reports a few microseconds) and its median ms there."""
    out = {}
    for k in _stages(timings):
        ran = [float(t[k]) for t in timings if float(t.get(k, 0.0)) >= RAN_MS]
        out[k] = {"images": len(ran), "median_ms": statistics.median(ran) if ran else None}
    return out


def _stages(timings: list[dict[str, float]]) -> list[str]:
    keys: list[str] = []
    for t in timings:
        keys += [k for k in t if k not in keys and k != "total"]
    if any("total" in t for t in timings):
        keys.append("total")
    return keys


def score(results: list[Scored], timings: list[dict[str, float]] | None = None) -> dict:
    """Overall and per-source metrics, the list of misses, and the median cost per stage."""
    overall = Tally()
    by_source: dict[str, Tally] = {}
    misses = []
    for s in results:
        overall.add(s)
        by_source.setdefault(s.source, Tally()).add(s)
        for v in s.misses:
            misses.append({"file": s.file, "source": s.source, "verdict": v,
                           "expected": s.expected[v], "got": s.got[v]})
    return {
        **overall.to_json(),
        "sources": {name: t.to_json() for name, t in sorted(by_source.items())},
        "timing_ms": median_timing(timings or []),
        "timing_when_run": timing_when_run(timings or []),
        "misses": misses,
    }


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_table(report: dict) -> str:
    """The metrics as Markdown tables (so they paste into docs as they are)."""
    lines = [f"{report['images']} images", "",
             "| verdict | n | positives | TP | FP | FN | TN | P | R | F1 | BA |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for v in VERDICTS:
        m = report["verdicts"][v]
        flag = " *" if m["constant_scores_well"] else ""
        lines.append(f"| {v}{flag} | {m['n']} | {m['positives']} | {m['tp']} | {m['fp']} | {m['fn']} | {m['tn']} | "
                     f"{_fmt(m['precision'])} | {_fmt(m['recall'])} | {_fmt(m['f1'])} | "
                     f"{_fmt(m['balanced_accuracy'])} |")
    b = report["badge"]
    lines += ["", f"\\* a constant answer would get >= {CONSTANT_SCORES_WELL:.0%} plain accuracy there: read BA "
              "(balanced accuracy), not accuracy.",
              f"badge coverage: {b['judged']} of {b['labelled']} staff images with a badge label were judged "
              f"({_fmt(b['coverage'])}); BA on the judged ones."]
    if b.get("not_judged_why"):
        lines.append("badge not judged: " + ", ".join(f"{why} {n}" for why, n in b["not_judged_why"].items()))
    if len(report["sources"]) > 1 or (report["sources"] and next(iter(report["sources"])) != ""):
        lines += ["", "Per source (verdicts with labels only):", "",
                  "| source | verdict | n | positives | TP | FP | FN | TN | P | R | F1 | BA |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for name, t in report["sources"].items():
            for v in VERDICTS:
                m = t["verdicts"][v]
                if not m["n"]:
                    continue
                lines.append(f"| {name or '(none)'} | {v} | {m['n']} | {m['positives']} | {m['tp']} | {m['fp']} | "
                             f"{m['fn']} | {m['tn']} | {_fmt(m['precision'])} | {_fmt(m['recall'])} | "
                             f"{_fmt(m['f1'])} | {_fmt(m['balanced_accuracy'])} |")
        covered = [f"{name or '(none)'} {_fmt(t['badge']['coverage'])} "
                   f"({t['badge']['judged']}/{t['badge']['labelled']})"
                   for name, t in report["sources"].items() if t["badge"]["labelled"]]
        if covered:
            lines += ["", "badge coverage per source: " + ", ".join(covered)]
    if report["timing_ms"]:
        ran = report.get("timing_when_run", {})
        lines += ["", "| stage | median ms | images it ran on | median ms there |", "| --- | ---: | ---: | ---: |"]
        for k, v in report["timing_ms"].items():
            r = ran.get(k, {})
            lines.append(f"| {k} | {v:.1f} | {r.get('images', '')} | "
                         f"{'-' if r.get('median_ms') is None else format(r['median_ms'], '.1f')} |")
    return "\n".join(lines)
