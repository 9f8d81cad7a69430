"""The contact sheet of `hallmonitor eval`: every miss and false alarm, grouped by verdict, as one HTML page.

Each entry shows the annotated picture (saved beside the page, in ``<page>_files/``), the verdict
expected and the one given, and the evidence the product judged on. A summary table comes first.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import cv2
import numpy as np

from vision.evaluation.scores import VERDICTS

THUMB_WIDTH = 640
SMALL = 240


def files_dir(sheet: Path) -> Path:
    return sheet.with_name(sheet.stem + "_files")


def clear(sheet: Path) -> None:
    """Remove the pictures an earlier run left beside ``sheet`` (only the ones this module writes)."""
    folder = files_dir(sheet)
    if folder.is_dir():
        for old in folder.glob("[0-9][0-9][0-9][0-9]-*.jpg"):
            old.unlink()


def save_thumbnail(picture: np.ndarray, sheet: Path, name: str, original: np.ndarray | None = None) -> str:
    """Write a JPEG of ``picture`` (at most THUMB_WIDTH wide) beside the sheet; return its link. A small
    picture (under SMALL px wide) is enlarged, and shown beside its ``original``, since the drawing covers it."""
    h, w = picture.shape[:2]
    if w < SMALL:
        k = -(-SMALL // w)
        picture = cv2.resize(picture, (w * k, h * k), interpolation=cv2.INTER_NEAREST)
        if original is not None and original.shape[:2] == (h, w):
            plain = cv2.resize(original, (w * k, h * k), interpolation=cv2.INTER_NEAREST)
            picture = np.hstack([plain, np.full((h * k, 4, 3), 255, np.uint8), picture])
        h, w = picture.shape[:2]
    if w > THUMB_WIDTH:
        picture = cv2.resize(picture, (THUMB_WIDTH, max(1, round(h * THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    folder = files_dir(sheet)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.jpg"
    if not cv2.imwrite(str(target), picture, [cv2.IMWRITE_JPEG_QUALITY, 85]):
        from vision.errors import InputError
        raise InputError(f"{target}: cannot write the contact-sheet picture here")
    return f"{folder.name}/{target.name}"


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _word(value) -> str:
    return {True: "yes", False: "no", None: "not judged"}[value]


def render(report: dict, entries: dict[str, dict], title: str = "hallmonitor eval: misses and false alarms") -> str:
    """The page. ``entries`` maps each image with a miss to {"thumb": link, "evidence": JSON-able}."""
    esc = html.escape
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th:first-child,td:first-child{text-align:left}"
        ".miss{display:inline-block;vertical-align:top;width:660px;margin:0 12px 18px 0}"
        ".miss img{max-width:640px;display:block}pre{font-size:11px;max-height:300px;overflow:auto;background:#f6f6f6}"
        ".fa{color:#b00}.fn{color:#a60}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{report['images']} images; {len(report['misses'])} wrong verdicts on {len(entries)} images. "
        "A <span class='fa'>false alarm</span> said yes where the label says no; a <span class='fn'>miss</span> "
        "said no where the label says yes.</p>",
        "<table id='summary'><tr><th>verdict</th><th>n</th><th>positives</th><th>TP</th><th>FP</th><th>FN</th>"
        "<th>TN</th><th>P</th><th>R</th><th>F1</th><th>BA</th></tr>",
    ]
    for v in VERDICTS:
        m = report["verdicts"][v]
        out.append(f"<tr><td><a href='#{v}'>{v}</a>{' *' if m['constant_scores_well'] else ''}</td><td>{m['n']}</td>"
                   f"<td>{m['positives']}</td><td>{m['tp']}</td><td>{m['fp']}</td><td>{m['fn']}</td><td>{m['tn']}</td>"
                   f"<td>{_fmt(m['precision'])}</td><td>{_fmt(m['recall'])}</td><td>{_fmt(m['f1'])}</td>"
                   f"<td>{_fmt(m['balanced_accuracy'])}</td></tr>")
    b = report["badge"]
    out.append(f"</table><p>* a constant answer would score well: read BA. Badge coverage: {b['judged']} of "
               f"{b['labelled']} ({_fmt(b['coverage'])}).</p>")
    for v in VERDICTS:
        wrong = [m for m in report["misses"] if m["verdict"] == v]
        out.append(f"<h2 id='{v}'>{v}: {len(wrong)} wrong</h2>")
        for m in wrong:
            entry = entries[m["file"]]
            kind, cls = ("false alarm", "fa") if m["got"] else ("miss", "fn")
            out.append(
                f"<div class='miss' data-verdict='{v}' data-file='{esc(m['file'], quote=True)}'>"
                f"<img src='{esc(entry['thumb'], quote=True)}' alt='{esc(m['file'], quote=True)}' loading='lazy'>"
                f"<div><b>{esc(m['file'])}</b> ({esc(m['source'] or 'no source')}): <span class='{cls}'>{kind}</span>, "
                f"expected {_word(m['expected'])}, got {_word(m['got'])}</div>"
                f"<details><summary>evidence</summary><pre>"
                f"{esc(json.dumps(entry['evidence'], indent=1, ensure_ascii=False))}</pre></details></div>")
    out.append("</body></html>")
    return "\n".join(out)


def write(sheet: Path, report: dict, entries: dict[str, dict]) -> Path:
    sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.write_text(render(report, entries), encoding="utf-8")
    return sheet
