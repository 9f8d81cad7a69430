"""`hallmonitor bench`: per-stage latency on real photos, and what that means in windows per core.

A benchmark prints a table; it never fails because the machine is slow.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

STAGES = ("decode", "preprocess", "detect", "crop_detect", "pose", "face", "mouth", "heads", "observe")


def _stats(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(np.median(arr)), float(np.percentile(arr, 95))


def stage_bench(images: list[Path], repeats: int = 5, threads: int = 1, crop_pass: bool = True,
                progress=None, heads: list[str] | None = None, hand_zoom: bool = False) -> dict:
    """Run every photo ``repeats`` times through decode, models and observe with ``threads`` threads
    (and the behaviour ``heads``, default: the ones on by default; ``hand_zoom``: the hand zoom on,
    the ``hand_zoom`` row)."""
    from vision.analysis.photo import analyze_image as analyze_photo
    from vision.analysis.photo import read_image
    from vision.config import ModelChoice, single_window_config
    from vision.perception.load import load_analyzer

    choice = ModelChoice(threads=threads) if heads is None else ModelChoice(threads=threads, heads=heads)
    analyzer = load_analyzer(choice, crop_pass=crop_pass)
    configs: dict = {}

    def analyze_image(img, analyzer):
        if not hand_zoom:
            return analyze_photo(img, analyzer)
        if img not in configs:          # the photo's one window, with the hand zoom on
            h, w = read_image(img).shape[:2]
            configs[img] = single_window_config(w, h, None).model_copy(
                update={"models": choice.model_copy(update={"hand_zoom_every_s": 5.0})})
        return analyze_photo(img, analyzer, configs[img], "image")
    for img in images:                      # warm-up: first runs allocate
        analyze_image(img, analyzer)
    samples: dict[str, list[float]] = {s: [] for s in (*STAGES, "total")}
    persons, faces = [], []
    for r in range(repeats):
        for img in images:
            res = analyze_image(img, analyzer)
            t = res.timing_ms
            # every stage the analyzer reports, the fixed ones first; a stage that did not run costs 0
            for stage in {**dict.fromkeys(STAGES), **t}:
                samples.setdefault(stage, [0.0] * (len(samples["total"])))
            for stage in samples:
                samples[stage].append(t.get(stage, 0.0))
            persons.append(len(res.frame.persons))
            faces.append(sum(f is not None for f in res.frame.faces))
        if progress:
            progress(r + 1, repeats)
    # the person-pixel cue runs only where nobody is found (rarely on these photos): its own cost per view
    segment: list[float] = []
    if analyzer.pixels is not None:
        for img in images[: max(1, min(len(images), 3))]:
            image = read_image(img)
            for _ in range(repeats):
                analyzer.pixels.segmenter.person_mask(image)
                segment.append(analyzer.pixels.segmenter.timing["segment"])
    return {"samples": samples, "segment_when_run": segment, "persons": float(np.mean(persons)),
            "faces": float(np.mean(faces)), "threads": threads, "frames": repeats * len(images),
            "crop_pass": crop_pass, "heads": [h.name for h in analyzer.heads]}


def format_stage_table(result: dict, windows_per_camera: tuple[int, ...] = (1, 2, 4)) -> str:
    s = result["samples"]
    lines = [f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
             f"{platform.python_version()}; onnxruntime threads={result['threads']}; crop pass="
             f"{'on' if result['crop_pass'] else 'off'}; heads: {', '.join(result.get('heads') or []) or 'none'}; "
             f"{result['frames']} frames, "
             f"{result['persons']:.1f} persons and {result.get('faces', 0.0):.1f} faces/frame on average",
             "",
             "| stage | median ms | p95 ms |",
             "| --- | ---: | ---: |"]
    for stage in [*(k for k in s if k != "total"), "total"]:
        med, p95 = _stats(s[stage])
        lines.append(f"| {stage} | {med:.1f} | {p95:.1f} |")
    if result.get("segment_when_run"):
        med, p95 = _stats(result["segment_when_run"])
        lines += ["", f"person pixels (`segment`, only on a view where nobody is found): {med:.1f} ms median, "
                      f"{p95:.1f} ms p95 per view"]
    total_med = _stats(s["total"])[0]
    # with T threads a frame occupies T cores for its wall time
    frames_per_core = 1000.0 / (total_med * result["threads"]) if total_med else 0.0
    lines += ["", "At one analysis per second per window, one core watches:", "",
              "| windows per camera | windows per core |", "| ---: | ---: |"]
    for k in windows_per_camera:
        lines.append(f"| {k} | {frames_per_core * k:.1f} |")
    return "\n".join(lines)


def default_images() -> list[Path]:
    from vision.analysis.photo import list_images
    root = Path(os.environ.get("HALLMONITOR_MEDIA", Path(__file__).resolve().parent.parent / ".cache" / "media"))
    images = []
    for sub in ("ultralytics", "opencv"):
        if (root / sub).is_dir():
            images += list_images(root / sub)
    bundled = Path(__file__).resolve().parent.parent / "examples"
    if bundled.is_dir():
        images += list_images(bundled)
    return images
