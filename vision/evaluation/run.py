"""`hallmonitor eval`: run every labelled photo through `analyze`'s path, score it, draw the misses."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from vision.analysis.photo import analyze_image
from vision.errors import InputError
from vision.evaluation import sheet as contact_sheet
from vision.evaluation.labels import LabelRecord
from vision.evaluation.scores import Scored, badge_unjudged_reason, expected_verdicts, got_verdicts, score
from vision.media.annotate import annotate


@dataclass
class EvalRun:
    report: dict
    sheet: Path
    unreadable: list[str] = field(default_factory=list)   # "file: why" for images that could not be decoded


def _evidence(data: dict) -> dict:
    """What the sheet shows under a picture: the window verdicts, persons (without keypoints) and objects."""
    persons = [{k: v for k, v in p.items() if k != "keypoints"} for p in data["persons"]]
    return {"windows": data["windows"], "persons": persons, "objects": data["objects"],
            "timing_ms": data["timing_ms"]}


def _thumb_name(i: int, file: str) -> str:
    return f"{i:04d}-" + re.sub(r"[^A-Za-z0-9._-]+", "_", Path(file).stem)[:60]


def run_eval(folder: Path, records: list[LabelRecord], analyzer, sheet: Path, config=None, camera_id=None,
             show_progress: bool | None = None) -> EvalRun:
    """Analyse each record's image (its ``desk_region`` is the counter unless a config is given), score the
    verdicts, and write the contact sheet of every wrong verdict to ``sheet``."""
    from tqdm import tqdm

    scored: list[Scored] = []
    timings: list[dict] = []
    entries: dict[str, dict] = {}
    unreadable: list[str] = []
    contact_sheet.clear(sheet)
    show = sys.stderr.isatty() if show_progress is None else show_progress
    for i, rec in enumerate(tqdm(records, desc="eval", unit="img", disable=not show, file=sys.stderr)):
        try:
            result = analyze_image(folder / rec.file, analyzer, config, camera_id,
                                   None if config is not None else rec.desk_region)
        except InputError as exc:
            unreadable.append(str(exc))
            continue
        data = result.to_json()
        s = Scored(rec.file, rec.source or "", expected_verdicts(rec.labels), got_verdicts(data["windows"]))
        if s.expected["badge_visible"] is not None and s.got["badge_visible"] is None:
            s.badge_why = badge_unjudged_reason(data["persons"])
        scored.append(s)
        timings.append(result.timing_ms)
        if s.misses:
            picture = annotate(result.image, result.windows, result.observations)
            entries[rec.file] = {"thumb": contact_sheet.save_thumbnail(picture, sheet, _thumb_name(i, rec.file),
                                                                        result.image),
                                 "evidence": _evidence(data)}
    report = score(scored, timings)
    report["sheet"] = str(sheet)
    contact_sheet.write(sheet, report, entries)
    return EvalRun(report, sheet, unreadable)
