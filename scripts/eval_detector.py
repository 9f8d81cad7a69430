"""Score the dev set like ``hallmonitor eval --json``, with another detector from models/models.yaml.

``hallmonitor eval --config`` would also swap the records' desk_region for a camera's window zones, so
this picks only the detector and keeps every other default::

    nice python scripts/eval_detector.py FOLDER --labels LABELS --detector nanodet-int8 > int8.json
    nice python scripts/eval_detector.py FOLDER --labels LABELS --presence nanodet-int8 > mix.json

``--presence``: another detect model for the presence pass only (the crop pass and the counter zoom keep
``--detector``); without it the detector does every pass. ``--square-looks``: the crop pass and the counter
zoom stretch their rectangle to the detector's square input, as before the free input size (section 14)::

    nice python scripts/eval_detector.py FOLDER --labels LABELS --square-looks > square.json
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
def main(folder: Path, labels_path: Path, detector: str, presence: str | None, sheet_path, square_looks: bool) -> None:
    from vision.config import ModelChoice
    from vision.evaluation.labels import load_records
    from vision.evaluation.run import run_eval
    from vision.perception.load import load_analyzer

    records = load_records(labels_path)
    name = (detector if presence is None else f"{detector}+{presence}") + ("-square" if square_looks else "")
    sheet = sheet_path or labels_path.with_name(f"{labels_path.stem}.{name}.sheet.html")
    analyzer = load_analyzer(ModelChoice(detector=detector, presence_detector=presence))
    analyzer.fit_looks = not square_looks
    run = run_eval(folder, records, analyzer, sheet)
    report = run.report
    if run.unreadable:
        report["unreadable"] = run.unreadable
    click.echo(json.dumps(report, ensure_ascii=False))
    sys.exit(1 if run.unreadable else 0)


if __name__ == "__main__":
    main()
