"""`hallmonitor analyze` and `hallmonitor eval`: photos and videos through the engine, and scoring labelled photos."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _counter(value: str | None):
    if not value:
        return None
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError:
        nums = []
    if len(nums) != 4:
        raise click.BadParameter("give the counter as four pixel numbers x1,y1,x2,y2, e.g. 0,400,640,480")
    return tuple(nums)


@click.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="cameras.yaml with the window zones")
@click.option("--camera", "camera_id", help="camera id in the config (default: the first)")
@click.option("--counter", help="without --config: the counter box in pixels, x1,y1,x2,y2")
@click.option("--json", "as_json", is_flag=True, help="print JSON (one line per image for a folder)")
@click.option("--annotate", "annotate_path", type=click.Path(path_type=Path),
              help="write the picture with zones, boxes, skeletons and verdicts (a folder for a folder)")
@click.option("--start", help="video only: wall-clock time of the first frame, ISO 8601 "
              "(default: today's first service opening)")
def analyze(source: Path, config_path, camera_id, counter, as_json, annotate_path, start) -> None:
    """Analyse a photo, a folder of photos, or a video file.

    A video runs the camera's rules at its analysis rate and prints events as JSON lines."""
    from vision.analysis.photo import IMAGE_SUFFIXES, analyze_image, list_images
    from vision.config import load_config
    from vision.errors import InputError
    from vision.media.annotate import annotate
    from vision.perception.load import load_analyzer

    counter_px = _counter(counter)
    config = load_config(config_path) if config_path else None
    if config is not None and camera_id is not None:
        config.camera(camera_id)
    if config is not None and not config.cameras:
        raise InputError(f"{config_path}: has no cameras; add one with its windows")
    if source.is_file() and source.suffix.lower() not in IMAGE_SUFFIXES and _is_video(source):
        from vision.analysis.video import analyze_video
        if config is None:
            raise InputError("a video needs --config and --camera: the rules are set per window in cameras.yaml")
        start_ts = None
        if start:
            try:
                from datetime import datetime
                start_ts = datetime.fromisoformat(start).astimezone().timestamp()
            except ValueError:
                raise click.BadParameter("give --start as ISO 8601, e.g. 2026-11-23T09:00+08:00") from None
        analyze_video(source, config, camera_id or config.cameras[0].id, start_ts)
        return
    analyzer = load_analyzer(config.models if config else None, config.base_dir if config else None)
    if source.is_dir():
        images = list_images(source)
        if not images:
            raise InputError(f"{source}: no images (jpg, png, bmp, webp, tif) in this folder")
        if annotate_path:
            annotate_path.mkdir(parents=True, exist_ok=True)
        failed = 0
        show = sys.stderr.isatty()
        from tqdm import tqdm
        for path in tqdm(images, desc="analyse", unit="img", disable=not show, file=sys.stderr):
            try:
                result = analyze_image(path, analyzer, config, camera_id, counter_px)
            except InputError as exc:
                failed += 1
                click.echo(json.dumps({"image": {"path": str(path)}, "error": str(exc)}, ensure_ascii=False))
                continue
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
            if annotate_path:
                _write_annotated(annotate_path / f"{path.stem}.annotated.png", result, annotate)
        if failed:
            click.echo(f"{failed} of {len(images)} images could not be read (see their error lines)", err=True)
            sys.exit(1)
        return
    result = analyze_image(source, analyzer, config, camera_id, counter_px)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_summary(result)
    if annotate_path:
        _write_annotated(annotate_path, result, annotate)
        if not as_json:
            click.echo(f"annotated picture: {annotate_path}")


@click.command("eval")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path),
              help="JSON list of {file, labels: {staff_present, phone_on_desk, phone_in_hand, phone_at_ear, "
                   "badge_visible, eating_or_drinking, head_down_sleeping}, desk_region?, source?}; "
                   "errors name a record by its index from 0")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="cameras.yaml with the window zones (then desk_region is not used)")
@click.option("--camera", "camera_id", help="camera id in the config (default: the first)")
@click.option("--sheet", "sheet_path", type=click.Path(path_type=Path),
              help="contact sheet of every miss and false alarm (default: LABELS.sheet.html beside the labels)")
@click.option("--json", "as_json", is_flag=True, help="print the metrics as JSON")
@click.option("--limit", type=click.IntRange(min=1), help="score only the first N records")
@click.option("--head", "extra_heads", multiple=True,
              help="switch this behaviour head (a models.yaml name) on for the run, on top of the config's "
                   "models.heads: measure a head before turning it on; may be given more than once")
def eval_command(folder: Path, labels_path: Path, config_path, camera_id, sheet_path, as_json, limit,
                 extra_heads) -> None:
    """Score the verdicts on labelled photos: P/R/F1 and balanced accuracy per verdict, per source, cost per
    stage, and an HTML contact sheet of the misses."""
    from vision.config import ModelChoice, load_config
    from vision.errors import InputError
    from vision.evaluation.labels import load_records, missing_images
    from vision.evaluation.run import run_eval
    from vision.evaluation.scores import format_table
    from vision.perception.load import load_analyzer

    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of images")
    records = load_records(labels_path)
    if limit:
        records = records[:limit]
    missing = missing_images(records, folder)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise InputError(f"{labels_path}: {len(missing)} labelled image(s) not found in {folder}: {shown}")
    config = load_config(config_path) if config_path else None
    if config is not None:
        if not config.cameras:
            raise InputError(f"{config_path}: has no cameras; add one with its windows")
        if camera_id is not None:
            config.camera(camera_id)
        if any(r.desk_region for r in records):
            click.echo("eval: --config given, so the records' desk_region is not used (the windows' counters are)",
                       err=True)
    sheet = sheet_path or labels_path.with_name(labels_path.stem + ".sheet.html")
    choice = config.models if config else ModelChoice()
    if extra_heads:
        choice = choice.model_copy(update={"heads": list(dict.fromkeys([*choice.heads, *extra_heads]))})
    analyzer = load_analyzer(choice, config.base_dir if config else None)
    run = run_eval(folder, records, analyzer, sheet, config, camera_id)
    report = run.report
    if run.unreadable:
        report["unreadable"] = run.unreadable
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        click.echo(format_table(report))
        click.echo(f"\ncontact sheet: {sheet} ({len(report['misses'])} wrong verdicts)")
    if run.unreadable:
        for line in run.unreadable:
            click.echo(f"error: {line}", err=True)
        click.echo(f"{len(run.unreadable)} of {len(records)} images could not be read and were not scored", err=True)
        sys.exit(1)


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in {".mp4", ".avi", ".mkv", ".mov", ".h264", ".264", ".ts", ".webm"}


def _write_annotated(path: Path, result, annotate) -> None:
    import cv2

    from vision.errors import InputError
    picture = annotate(result.image, result.windows, result.observations)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), picture):
        raise InputError(f"{path}: cannot write the picture here (check the folder and the suffix .png/.jpg)")


def _print_summary(result) -> None:
    data = result.to_json()
    img = data["image"]
    click.echo(f"{img['path']}: {img['width']}x{img['height']}, {len(data['persons'])} persons, "
               f"{len(data['objects'])} objects, {data['timing_ms'].get('total', 0):.0f} ms")
    for p in data["persons"]:
        flags = [k for k in ("staff", "phone_in_hand", "phone_at_ear", "eating", "head_down") if p[k]]
        eyes = "no face" if p.get("face") is None else (p["eyes"] or "unknown")
        click.echo(f"  person {p['score']:.2f} at {p['box']} badge={p['badge']} eyes={eyes} {' '.join(flags)}")
    for o in data["objects"]:
        click.echo(f"  {o['label']} {o['score']:.2f} at {o['box']}{' on counter' if o['on_counter'] else ''}")
    for w in data["windows"]:
        click.echo(f"  window {w['id']}: staff_present={w['staff_present']} phone_on_counter={w['phone_on_counter']} "
                   f"phone_in_use={w['phone_in_use']} badge_missing={w['badge_missing']} eating={w['eating']} "
                   f"head_down={w['head_down']}")
