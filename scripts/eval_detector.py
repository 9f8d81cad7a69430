"""Score the dev set like ``hallmonitor eval --json``, with another detector from models/models.yaml.

``hallmonitor eval --config`` would also swap the records' desk_region for a camera's window zones, so
this picks only the detector and keeps every other default::

    nice python scripts/eval_detector.py FOLDER --labels LABELS --detector nanodet-int8 > int8.json
    nice python scripts/eval_detector.py FOLDER --labels LABELS --presence nanodet-int8 > mix.json

``--presence``: another detect model for the presence pass only (the crop pass and the counter zoom keep
``--detector``); without it the detector does every pass. ``--square-looks``: the crop pass and the counter
zoom stretch their rectangle to the detector's square input, as before the free input size (section 14)::

    nice python scripts/eval_detector.py FOLDER --labels LABELS --square-looks > square.json

``--stretch``: ``models.presence_max_stretch`` (the presence pass at the photo's own aspect, docs/performance.md
section 17; "none" the detector's square)::

    nice python scripts/eval_detector.py FOLDER --labels LABELS --stretch 1 > stretch1.json
"""
import json
import sys
from pathlib import Path

import click

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's vision/, not the installed one


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--detector", default="nanodet", show_default=True, help="a detect model's name in models/models.yaml")
@click.option("--presence", default=None, help="a detect model for the presence pass only (default: the detector)")
@click.option("--sheet", "sheet_path", type=click.Path(path_type=Path), help="contact sheet of the misses")
@click.option("--square-looks", is_flag=True, help="crop pass and counter zoom on the square input (before section 14)")
@click.option("--stretch", default=None, help="models.presence_max_stretch: the presence pass at the frame's own "
              "aspect, its shorter side stretched at most this much (e.g. 1, 1.5, 2); none: the square; "
              "default: the shipped setting")
def main(folder: Path, labels_path: Path, detector: str, presence: str | None, sheet_path, square_looks: bool,
         stretch: str | None) -> None:
    from vision.config import ModelChoice
    from vision.evaluation.labels import load_records
    from vision.evaluation.run import run_eval
    from vision.perception.load import load_analyzer

    records = load_records(labels_path)
    max_stretch = ModelChoice().presence_max_stretch if stretch is None \
        else None if stretch.lower() in ("none", "null") else float(stretch)
    name = (detector if presence is None else f"{detector}+{presence}") + ("-square" if square_looks else "") \
        + (f"-stretch{max_stretch:g}" if max_stretch is not None else "")
    sheet = sheet_path or labels_path.with_name(f"{labels_path.stem}.{name}.sheet.html")
    analyzer = load_analyzer(ModelChoice(detector=detector, presence_detector=presence,
                                         presence_max_stretch=max_stretch))
    analyzer.fit_looks = not square_looks
    run = run_eval(folder, records, analyzer, sheet)
    report = run.report
    if run.unreadable:
        report["unreadable"] = run.unreadable
    click.echo(json.dumps(report, ensure_ascii=False))
    sys.exit(1 if run.unreadable else 0)


if __name__ == "__main__":
    main()
