"""`hallmonitor train` and the dashboard's Train button: fit the hall's heads on the hall's own labels.

For each head (one per person behaviour; per window, one for occupied and one for head down):

1. the labels are split into training and held-back ones by **day** when they span three days or
   more, else by **event** (a frame without an event is its own unit): never by frame, because
   the frames of one event look alike and a random split would flatter the head;
2. each label's crop is cut from its clean frame (``vision.perception.crops``) and turned into features by
   the frozen backbone (``vision.models.backbone``), in batches, with progress;
3. a head is fitted on the training features (``vision.perception.heads.fit_head``) and judged on the held-back
   ones next to the head that runs now (the hall's version switched on, else the bundled one,
   else none): precision, recall and F1 before and after;
4. the head is saved as a new version under ``storage.heads_dir`` with its models.yaml entry, and
   recorded off. It goes on only when asked (``--activate``, or the dashboard's switch).

The numbers describe exactly the file that was saved: it is the head fitted on the training part.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from vision.config import HallConfig
from vision.errors import HallmonitorError, InputError
from vision.media.event_frame import decode_jpeg
from vision.store.database import Store
from vision.training.teaching import BEHAVIOURS, Label, Teaching
from vision.training.versions import HallHeads, head_name

log = logging.getLogger(__name__)

MIN_PER_VALUE = 3          # labels of each value a head needs before it is fitted
HOLD_OUT_SHARE = 0.3       # about this share of the labels is held back (whole days or events)
DAYS_FOR_DAY_SPLIT = 3     # labels spanning this many days are split by day, else by event
BATCH = 32

Progress = Callable[[float, str], None]


@dataclass
class Split:
    train: list[Label]
    held_back: list[Label]
    unit: str                       # "day" or "event"

    @property
    def units(self) -> tuple[int, int]:
        return (len({_unit(x, self.unit) for x in self.train}), len({_unit(x, self.unit) for x in self.held_back}))


def _unit(label: Label, unit: str, tz: ZoneInfo | None = None) -> str:
    return label.day(tz) if unit == "day" else (label.event_id or f"frame-{label.frame_id}")


def _order(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()


def _hold_back(labels: list[Label], unit: str, tz: ZoneInfo | None, share: float) -> Split:
    groups: dict[str, list[Label]] = {}
    for x in labels:
        groups.setdefault(_unit(x, unit, tz), []).append(x)
    values = {x.value for x in labels}
    keys = sorted(groups, key=_order)
    held: list[str] = []

    def count(ks) -> Counter:
        return Counter(x.value for k in ks for x in groups[k])

    def may_hold(k: str) -> bool:        # the training part must keep every value
        rest = [j for j in keys if j not in held and j != k]
        return bool(rest) and not values - set(count(rest))

    # first units that bring a value the held-back part lacks, then any, until the share is reached
    for k in keys:
        missing = values - set(count(held))
        if missing and {x.value for x in groups[k]} & missing and may_hold(k):
            held.append(k)
    for k in keys:
        if sum(count(held).values()) >= share * len(labels):
            break
        if k not in held and may_hold(k):
            held.append(k)
    if not held:
        held = [keys[0]]
    train = [x for k in keys if k not in held for x in groups[k]]
    back = [x for k in held for x in groups[k]]
    return Split(train, back, unit)


def split_labels(labels: list[Label], tz: ZoneInfo | None = None, share: float = HOLD_OUT_SHARE) -> Split:
    """Hold back whole days (or whole events) amounting to about ``share`` of the labels, such that
    every value appears in the held-back part and in the training part when the units allow it.
    Days are used when the labels span ``DAYS_FOR_DAY_SPLIT`` days and the days give a fair split
    (at least half the share held back, every value in it); else events. Deterministic."""
    units = {_unit(x, "event", tz) for x in labels}
    if len(units) < 2:
        raise InputError(f"all {len(labels)} labels come from one event; label crops from at least two events "
                         f"(better: two days), so that some can be held back to judge the head")
    values = {x.value for x in labels}
    if len({x.day(tz) for x in labels}) >= DAYS_FOR_DAY_SPLIT:
        split = _hold_back(labels, "day", tz, share)
        if len(split.held_back) >= share * len(labels) / 2 and {x.value for x in split.held_back} == values:
            return split
    return _hold_back(labels, "event", tz, share)


# a head's behaviour -> (the label behaviour it learns from, the label values that mean "seen");
# a window's state teaches two heads: someone is there (occupied or head down), and head down
HEAD_TARGETS: dict[str, tuple[str, frozenset[str]]] = {
    "phone_in_use": ("phone_in_use", frozenset({"yes"})),
    "badge_worn": ("badge_worn", frozenset({"yes"})),
    "eating": ("eating", frozenset({"yes"})),
    "asleep": ("asleep", frozenset({"yes"})),
    "window_occupied": ("window_state", frozenset({"occupied", "head_down"})),
    "window_head_down": ("window_state", frozenset({"head_down"})),
}
WINDOW_HEADS = ("window_occupied", "window_head_down")


def scores(truth, predicted) -> dict:
    """Precision, recall and F1 of "seen" (True) over booleans, and plain accuracy."""
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    truth, predicted = [bool(v) for v in truth], [bool(v) for v in predicted]
    p, r, f, _ = precision_recall_fscore_support(truth, predicted, labels=[True], average="binary",
                                                 pos_label=True, zero_division=0)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4),
            "accuracy": round(float(accuracy_score(truth, predicted)), 4), "n": len(truth),
            "positives": int(sum(truth))}


@dataclass
class HeadPlan:
    head: str                      # hall-phone_in_use, hall-window_occupied-w01
    behaviour: str                 # the head's behaviour (vision.perception.heads.BEHAVIOURS)
    window_id: str | None
    labels: list[Label]
    problem: str | None = None

    def truth(self, labels: list[Label]) -> list[bool]:
        return [x.value in HEAD_TARGETS[self.behaviour][1] for x in labels]


def _asked(behaviours: list[str] | None) -> list[str]:
    """Head behaviours from what was asked: a head's name (badge_worn) or a label's (window_state)."""
    if not behaviours:
        return list(HEAD_TARGETS)
    out: list[str] = []
    for b in behaviours:
        if b == "window_state":
            out.extend(WINDOW_HEADS)
        elif b in HEAD_TARGETS:
            out.append(b)
        else:
            raise InputError(f"behaviour {b!r}: use one of {', '.join(dict.fromkeys([*BEHAVIOURS, *HEAD_TARGETS]))}")
    return list(dict.fromkeys(out))


def plan(teaching: Teaching, behaviours: list[str] | None = None) -> list[HeadPlan]:
    """The heads the labels allow: every asked behaviour (per window for the window heads), each with
    the reason it cannot be fitted yet (too few labels with or without the behaviour)."""
    out: list[HeadPlan] = []
    for b in _asked(behaviours):
        source = HEAD_TARGETS[b][0]
        labels = teaching.labels(source)
        if b in WINDOW_HEADS:
            by_window: dict[str, list[Label]] = {}
            for x in labels:
                by_window.setdefault(x.window_id or "", []).append(x)
            subsets = [(w or None, xs) for w, xs in sorted(by_window.items())] or [(None, [])]
        else:
            subsets = [(None, labels)]
        for window_id, xs in subsets:
            p = HeadPlan(head_name(b, window_id), b, window_id, xs)
            truth = p.truth(xs)
            seen, unseen = sum(truth), len(truth) - sum(truth)
            if not xs:
                p.problem = f"no {source} labels yet"
            elif seen < MIN_PER_VALUE or unseen < MIN_PER_VALUE:
                p.problem = (f"needs at least {MIN_PER_VALUE} labels with and {MIN_PER_VALUE} without "
                             f"{b} ({seen} with, {unseen} without so far)")
            out.append(p)
    return out


@dataclass
class TrainResult:
    rows: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    activated: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"rows": self.rows, "skipped": self.skipped, "activated": self.activated}


def format_table(result: dict) -> str:
    """The before/after table as text, one row per head."""
    lines = [f"{'head':<30} {'train':>5} {'held':>5} {'split':>5}  {'before P/R/F1':<16} {'after P/R/F1':<16} "
             f"version (before = what runs now)"]

    def prf(m):
        return "-" if not m else f"{m['precision']:.2f}/{m['recall']:.2f}/{m['f1']:.2f}"

    for r in result.get("rows", []):
        before = r.get("before")
        lines.append(f"{r['head']:<30} {r['n_train']:>5} {r['n_held_back']:>5} {r['split']:>5}  "
                     f"{prf(before and before['scores']):<16} {prf(r['after']):<16} {r['ref']}"
                     + (f" (before: {before['name']})" if before else " (before: no head)")
                     + ("  [switched on]" if r["ref"] in result.get("activated", []) else ""))
    for sk in result.get("skipped", []):
        lines.append(f"{sk['head']:<30} skipped: {sk['reason']}")
    return "\n".join(lines)


def _crops(teaching: Teaching, labels: list[Label], progress: Callable[[int], None]) -> list[np.ndarray]:
    """Each label's crop, cut from its clean frame the way the running analyzer cuts it."""
    from vision.perception.crops import person_crop, zone_crop

    frames: dict[int, np.ndarray] = {}
    out = []
    for i, x in enumerate(labels):
        if x.frame_id not in frames:
            if len(frames) > 64:
                frames.clear()
            frames[x.frame_id] = decode_jpeg(teaching.frame_jpeg(x.frame_id))
        image = frames[x.frame_id]
        out.append(person_crop(image, x.region) if x.subject == "person" else zone_crop(image, x.region))
        progress(i + 1)
    return out


def hall_manifest(config: HallConfig) -> Path:
    return config.path(config.storage.heads_dir) / "models.yaml"


def bundled_manifest(config: HallConfig) -> Path:
    from vision.models.manifest import DEFAULT_MANIFEST
    manifest = config.models.manifest
    if not manifest.is_absolute():
        candidate = config.base_dir / manifest
        manifest = candidate if candidate.is_file() else DEFAULT_MANIFEST
    return manifest


def load_backbone(config: HallConfig, threads: int = 0):
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    return build(get_model(config.models.backbone, bundled_manifest(config), task="features"), threads)


class Trainer:
    """Fits the hall's heads; one instance per run (CLI or dashboard thread)."""

    def __init__(self, config: HallConfig, store: Store, backbone=None, threads: int = 0):
        self.config, self.store, self.threads = config, store, threads
        self.teaching, self.heads = Teaching(store), HallHeads(store)
        self._backbone = backbone
        self.tz = ZoneInfo(config.schedule.timezone)
        self.manifest = hall_manifest(config)

    def backbone(self):
        if self._backbone is None:
            self._backbone = load_backbone(self.config, self.threads)
        return self._backbone

    def features(self, crops: list[np.ndarray], progress: Callable[[int], None]) -> np.ndarray:
        backbone = self.backbone()
        parts = [np.zeros((0, backbone.dim), np.float32)]
        for i in range(0, len(crops), BATCH):
            parts.append(np.asarray(backbone.features(crops[i:i + BATCH]), dtype=np.float32))
            progress(min(len(crops), i + BATCH))
        return np.concatenate(parts)

    def current_head(self, p: HeadPlan):
        """(name, head) judging this behaviour now: the hall's version switched on, else the bundled
        head the config runs, else (None, None)."""
        from vision.models.manifest import get_model
        from vision.perception.heads import load_head

        on = self.heads.active_of(p.head)
        if on is not None:
            return on.ref, load_head(get_model(on.model_name, self.manifest, task="classify"))
        if p.window_id is None:
            for name in self.config.models.heads:
                spec = get_model(name, bundled_manifest(self.config), task="classify")
                if spec.behaviour == p.behaviour:
                    return name, load_head(spec)
        return None, None

    def run(self, behaviours: list[str] | None, by: str, *, activate: bool = False, run_id: int | None = None,
            progress: Progress = lambda f, s: None) -> TrainResult:
        from vision.perception.heads import fit_head, register_head
        from vision.training.versions import model_name

        result = TrainResult()
        plans = plan(self.teaching, behaviours)
        for p in plans:
            if p.problem is not None:
                result.skipped.append({"head": p.head, "behaviour": p.behaviour, "window_id": p.window_id,
                                       "reason": p.problem})
        todo = [p for p in plans if p.problem is None]
        total = sum(len(p.labels) for p in todo) or 1
        done = 0
        for p in todo:
            try:
                split = split_labels(p.labels, self.tz)
            except InputError as exc:
                result.skipped.append({"head": p.head, "behaviour": p.behaviour, "window_id": p.window_id,
                                       "reason": exc.message})
                total -= len(p.labels)
                continue
            ordered = split.train + split.held_back
            n, base = len(ordered), done
            # crops are cheap, features are most of the work: 20 % / 70 % of each head's share, fit 10 %
            def on_crop(k: int, base: float = base, n: int = n, head: str = p.head, total: float = total) -> None:
                progress((base + 0.2 * k) / total, f"{head}: crops {k}/{n}")

            def on_feature(k: int, base: float = base, n: int = n, head: str = p.head, total: float = total) -> None:
                progress((base + 0.2 * n + 0.7 * k) / total, f"{head}: features {k}/{n}")

            crops = _crops(self.teaching, ordered, on_crop)
            feats = self.features(crops, on_feature)
            progress((base + 0.9 * n) / total, f"{p.head}: fitting")
            n_train = len(split.train)
            x_train, x_back = feats[:n_train], feats[n_train:]
            y_train, y_back = p.truth(split.train), p.truth(split.held_back)
            if len(set(y_train)) < 2 or sum(y_train) < 2 or len(y_train) - sum(y_train) < 2:
                result.skipped.append({"head": p.head, "behaviour": p.behaviour, "window_id": p.window_id,
                                       "reason": "after holding back whole days or events, the training part has "
                                                 "too few labels with or without it; label more events"})
                done += n
                continue
            version = self.heads.next_version(p.head)
            name = model_name(p.head, version)
            groups = [_unit(x, split.unit, self.tz) for x in split.train]
            summary = {"trained_on": "the hall's own labels", "held_back": len(y_back), "split": split.unit}
            head = fit_head(x_train, y_train, p.behaviour, name=name, backbone=self.backbone().name,
                            groups=groups, summary=summary)
            after = scores(y_back, head.decide(x_back))
            before = None
            current_name, current = self.current_head(p)
            if current is not None and current.dim == head.dim:
                before = {"name": current_name, "scores": scores(y_back, current.decide(x_back))}
            self.manifest.parent.mkdir(parents=True, exist_ok=True)
            held = {"labels": len(y_back), "split": split.unit, "precision": after["precision"],
                    "recall": after["recall"], "f1": after["f1"]}
            if before is not None:
                held.update(before=before["name"], before_f1=before["scores"]["f1"])
            extra = {"head": p.head, "version": version, "held_back": held}
            if p.window_id:
                extra["window"] = p.window_id
            spec = register_head(head, self.manifest, license="the hall's own labels (not for redistribution)",
                                 source={"trained_by": by, "labels": len(ordered), "run": run_id}, extra=extra)
            metrics = {"before": before, "after": after, "n_train": n_train, "n_held_back": len(y_back),
                       "split": split.unit, "units": list(split.units), "threshold": round(head.threshold, 4)}
            row = self.heads.add_version(p.head, p.behaviour, p.window_id, version, spec.file.name,
                                         spec.sha256 or "", metrics, by, run_id)
            result.rows.append({"head": p.head, "behaviour": p.behaviour, "window_id": p.window_id,
                                "version": version, "ref": row.ref, "n_train": n_train, "n_held_back": len(y_back),
                                "split": split.unit, "before": before, "after": after})
            if activate:
                self.heads.activate(row.ref, by)
                result.activated.append(row.ref)
            done += n
        progress(1.0, "done")
        return result


def start_run(store: Store, behaviours: list[str] | None, by: str) -> int:
    """Record a new training run (InputError while another one runs); ``train_in_run`` does the work."""
    return HallHeads(store).start_run(_asked(behaviours), by)


def train_in_run(config: HallConfig, store: Store, behaviours: list[str] | None, by: str, *,
                 activate: bool = False, backbone=None, progress: Progress | None = None,
                 run_id: int | None = None, threads: int = 0) -> tuple[int, dict]:
    """One recorded training run (what the CLI and the dashboard's thread call): (run id, result JSON).
    The run's row follows the progress; a failure is recorded with its message and raised."""
    heads = HallHeads(store)
    if run_id is None:
        run_id = start_run(store, behaviours, by)
    last = [0.0]

    def report(fraction: float, stage: str) -> None:
        if progress is not None:
            progress(fraction, stage)
        now = time.monotonic()
        if now - last[0] >= 0.25 or fraction >= 1.0:
            last[0] = now
            heads.progress(run_id, fraction, stage)

    try:
        result = Trainer(config, store, backbone, threads).run(behaviours, by, activate=activate, run_id=run_id,
                                                      progress=report).to_json()
    except HallmonitorError as exc:
        heads.finish_run(run_id, None, exc.message, failed=True)
        raise
    except Exception as exc:
        heads.finish_run(run_id, None, f"{type(exc).__name__}: {exc}", failed=True)
        raise
    heads.finish_run(run_id, result, f"{len(result['rows'])} heads fitted, {len(result['skipped'])} skipped")
    return run_id, result
