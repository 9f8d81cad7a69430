"""Two `hallmonitor eval --json` reports of the same images, verdict by verdict: the images each fixed and
broke, and the exact McNemar p on those flips (docs/performance.md section 17).

    python bench/eval_flips.py BASE.json NEW.json --labels LABELS [--only SUBSET_LABELS] [--show]

A verdict is wrong on an image when the report lists it under "misses"; right when the label judges it and
it is not listed (an unjudged answer counts as right in both, as the report's misses do). ``--only``: score
just the images of another labels file (e.g. a whole-set base against a run on a subset). ``--show``: list
the flipped images.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.presence_cue import mcnemar  # noqa: E402
from vision.evaluation.scores import VERDICTS, expected_verdicts  # noqa: E402


def wrong_of(report: dict) -> set[tuple[str, str]]:
    """(file, verdict) of every miss and false alarm in ``report``."""
    return {(m["file"], m["verdict"]) for m in report["misses"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--labels", type=Path, required=True, help="the labels both reports scored")
    ap.add_argument("--only", type=Path, default=None, help="score only the images of this labels file")
    ap.add_argument("--show", action="store_true", help="list the flipped images")
    args = ap.parse_args()
    records = json.loads(args.labels.read_text())
    if args.only is not None:
        keep = {r["file"] for r in json.loads(args.only.read_text())}
        records = [r for r in records if r["file"] in keep]
    base, new = (wrong_of(json.loads(p.read_text())) for p in (args.base, args.new))
    print(f"{len(records)} images")
    print("| verdict | n (positives) | wrong base / new | new fixed / broke | McNemar p |")
    print("|---|---|---|---|---|")
    for v in VERDICTS:
        judged = [(r["file"], e) for r in records if (e := expected_verdicts(r["labels"]).get(v)) is not None]
        if not judged:
            continue
        fixed = [f for f, _ in judged if (f, v) in base and (f, v) not in new]
        broke = [f for f, _ in judged if (f, v) in new and (f, v) not in base]
        wb = sum((f, v) in base for f, _ in judged)
        wn = sum((f, v) in new for f, _ in judged)
        print(f"| {v} | {len(judged)} ({sum(e for _, e in judged)}) | {wb} / {wn} | {len(fixed)} / {len(broke)} "
              f"| {mcnemar(len(fixed), len(broke)):.2f} |")
        if args.show:
            for f in fixed:
                print(f"    fixed {f}")
            for f in broke:
                print(f"    broke {f}")


if __name__ == "__main__":
    main()
