"""Pictures of what the models do badly, for docs/models.md: a grid of `hallmonitor eval` contact-sheet tiles.

Only dev-set images whose licence lets them be shown (CC BY 4.0 in data/devset-manifest.csv) are used; the
others are for measuring only and stay out of the repository. Each tile is the eval's own annotated thumbnail
(the evidence drawn) with a caption bar: the verdict, miss or false alarm, and the source.

    python -m hallmonitor eval DEVSET --labels DEVSET/labels.json --sheet /tmp/sheet.html
    python scripts/devset/failure_pictures.py /tmp/sheet.html --out docs/img/failures.jpg
    # a sheet of photos that may all be published (registry photos: docs/img/contact-sheet-labels.json)
    python scripts/devset/failure_pictures.py /tmp/photos.html --published --out docs/img/contact-sheet.png

Attribution for the pictures goes next to them in the docs (the manifest names each image's repository and path).
"""

from __future__ import annotations

import argparse
import csv
import html
import re
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
TILE = 300
CAPTION = 44
SHOWN_LICENCE = "CC BY"        # licences that allow the picture to be shown, with attribution
ENTRY = re.compile(r"<div class='miss' data-verdict='(?P<verdict>[^']+)' data-file='(?P<file>[^']+)'>"
                   r"<img src='(?P<img>[^']+)'.*?<span class='(?P<kind>fn|fa)'>", re.S)
WORDS = {"fn": "miss", "fa": "false alarm"}


def entries(sheet: Path) -> list[dict]:
    """The sheet's misses and false alarms: verdict, dev-set file, thumbnail path, kind."""
    text = sheet.read_text(encoding="utf-8")
    found = [{k: html.unescape(v) for k, v in m.groupdict().items()} for m in ENTRY.finditer(text)]
    if not found:
        sys.exit(f"{sheet}: no misses found; give the HTML contact sheet that `hallmonitor eval --sheet` wrote")
    for e in found:
        e["img"] = str(sheet.parent / e["img"])
    return found


def shown_files(manifest: Path) -> dict[str, tuple[str, str]]:
    """Dev-set file -> (source, repository) for the images whose licence allows showing them."""
    with manifest.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["file"]: (r["source"], r["repo"]) for r in rows if r["licence"].startswith(SHOWN_LICENCE)}


def tile(path: str, caption: str) -> np.ndarray:
    picture = cv2.imread(path)
    if picture is None:
        sys.exit(f"{path}: cannot read the thumbnail; was the sheet's _files folder moved?")
    h, w = picture.shape[:2]
    scale = TILE / max(h, w)
    small = cv2.resize(picture, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    out = np.full((TILE + CAPTION, TILE, 3), 255, np.uint8)
    y0, x0 = (TILE - small.shape[0]) // 2, (TILE - small.shape[1]) // 2
    out[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    for i, line in enumerate(caption.split("\n")[:2]):
        cv2.putText(out, line, (6, TILE + 17 + 20 * i), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (30, 30, 30), 1, cv2.LINE_AA)
    return out


def grid(tiles: list[np.ndarray], columns: int) -> np.ndarray:
    blank = np.full_like(tiles[0], 255)
    rows = [tiles[i:i + columns] for i in range(0, len(tiles), columns)]
    rows[-1] = rows[-1] + [blank] * (columns - len(rows[-1]))
    return cv2.vconcat([cv2.hconcat(r) for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sheet", type=Path, help="the HTML contact sheet of `hallmonitor eval --sheet`")
    ap.add_argument("--manifest", type=Path, default=ROOT / "data" / "devset-manifest.csv")
    ap.add_argument("--out", type=Path, required=True, help="the JPEG to write")
    ap.add_argument("--published", action="store_true",
                    help="every photo of the sheet may be shown (registry photos), no manifest is read")
    ap.add_argument("--per-group", type=int, default=3, help="tiles per (verdict, source, miss / false alarm)")
    ap.add_argument("--columns", type=int, default=4)
    args = ap.parse_args()

    found = entries(args.sheet)
    allowed = ({e["file"]: ("published photos", "registry package") for e in found} if args.published
               else shown_files(args.manifest))
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for e in found:
        if e["file"] in allowed:
            groups[(e["verdict"], allowed[e["file"]][0], e["kind"])].append(e)
    if not groups:
        sys.exit(f"{args.sheet}: none of its misses is a {SHOWN_LICENCE} image of {args.manifest}")
    tiles, listed = [], []
    for (verdict, source, kind), found in sorted(groups.items()):
        for e in sorted(found, key=lambda e: e["file"])[:args.per_group]:
            tiles.append(tile(e["img"], f"{verdict.replace('_', ' ')}: {WORDS[kind]}\n{source}"))
            listed.append(f"{verdict} {WORDS[kind]}: {e['file']} ({allowed[e['file']][1]})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), grid(tiles, min(args.columns, len(tiles))), [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f"{args.out}: {len(tiles)} tiles")
    print("\n".join(listed))


if __name__ == "__main__":
    main()
