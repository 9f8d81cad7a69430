"""Model adapters, picked by the manifest's ``family``, and the per-frame detection pipeline."""

from __future__ import annotations

from ..errors import ModelError
from ..models import ModelSpec
from .backbone import Backbone
from .blazeface import BlazeFaceDetector
from .facemesh import FaceMesh
from .iris import IrisLandmarks
from .movenet import MoveNetPose
from .nanodet import NanoDetDetector
from .yolo import YoloDetector, YoloPose

ADAPTERS = {
    ("nanodet", "detect"): NanoDetDetector,
    ("yolo", "detect"): YoloDetector,
    ("movenet", "pose"): MoveNetPose,
    ("yolo", "pose"): YoloPose,
    ("backbone", "features"): Backbone,
    ("blazeface", "face"): BlazeFaceDetector,
    ("facemesh", "landmarks"): FaceMesh,
    ("iris", "eyes"): IrisLandmarks,
}


def build(spec: ModelSpec, threads: int = 0):
    try:
        adapter = ADAPTERS[(spec.family, spec.task)]
    except KeyError:
        raise ModelError(f"model {spec.name!r}: no adapter for a {spec.family} {spec.task} model") from None
    return adapter(spec, threads=threads)


def load_analyzer(choice=None, base_dir=None, crop_pass: bool | None = None):
    """The Analyzer for a config's ``models:`` choice (defaults: bundled nanodet + movenet-lightning, and
    the shipped behaviour heads on the efficientnet-lite0 backbone; the face stage: blazeface-short +
    facemesh + iris)."""
    from pathlib import Path

    from ..config import ModelChoice
    from ..heads import load_head
    from ..models import DEFAULT_MANIFEST, get_model
    from .face import FaceReader
    from .pipeline import Analyzer

    choice = choice or ModelChoice()
    crop_pass = choice.crop_pass if crop_pass is None else crop_pass
    manifest = Path(choice.manifest)
    if not manifest.is_absolute():
        candidate = Path(base_dir or ".") / manifest
        manifest = candidate if candidate.is_file() else DEFAULT_MANIFEST
    detector = build(get_model(choice.detector, manifest, task="detect"), choice.threads)
    pose = build(get_model(choice.pose, manifest, task="pose"), choice.threads) if choice.pose else None
    heads = [load_head(get_model(name, manifest, task="classify")) for name in choice.heads]
    backbone = build(get_model(choice.backbone, manifest, task="features"), choice.threads) if heads else None
    face = None
    if choice.face:
        stages = [build(get_model(name, manifest, task=task), choice.threads) if name else None
                  for name, task in ((choice.face, "face"), (choice.landmarks, "landmarks"), (choice.eyes, "eyes"))]
        face = FaceReader(*stages)
    return Analyzer(detector, pose, face=face, crop_pass=crop_pass, backbone=backbone, heads=heads)


def load_pool(choice=None, base_dir=None, crop_pass: bool | None = None):
    """``models.sessions`` Analyzers (0: one per core, each single-threaded) sharing the work of all cameras."""
    import os

    from ..config import ModelChoice
    from .pipeline import AnalyzerPool

    choice = choice or ModelChoice()
    sessions = choice.sessions or max(1, os.cpu_count() or 1)
    threads = choice.threads or (1 if sessions > 1 else 0)
    per = choice.model_copy(update={"threads": threads})
    return AnalyzerPool([load_analyzer(per, base_dir, crop_pass) for _ in range(sessions)])
