"""The Analyzer a config asks for: its models built from the manifest, one per session."""

from __future__ import annotations

from vision.models.adapters import build


def load_analyzer(choice=None, base_dir=None, crop_pass: bool | None = None):
    """The Analyzer for a config's ``models:`` choice (defaults: bundled nanodet + movenet-lightning, and
    the shipped behaviour heads on the efficientnet-lite0 backbone; the face stage: blazeface-short +
    facemesh + iris; the presence cue: selfie)."""
    from pathlib import Path

    from vision.config import ModelChoice
    from vision.models.manifest import DEFAULT_MANIFEST, get_model
    from vision.perception.face import FaceReader
    from vision.perception.heads import load_head
    from vision.perception.pipeline import Analyzer

    choice = choice or ModelChoice()
    crop_pass = choice.crop_pass if crop_pass is None else crop_pass
    manifest = Path(choice.manifest)
    if not manifest.is_absolute():
        candidate = Path(base_dir or ".") / manifest
        manifest = candidate if candidate.is_file() else DEFAULT_MANIFEST
    detector = build(get_model(choice.detector, manifest, task="detect"), choice.threads)
    presence_name = presence_detector_name(choice, manifest)
    presence = build(get_model(presence_name, manifest, task="detect"), choice.threads) \
        if presence_name != choice.detector else None
    pose = build(get_model(choice.pose, manifest, task="pose"), choice.threads) if choice.pose else None
    heads = [load_head(get_model(name, manifest, task="classify")) for name in choice.heads]
    backbone = build(get_model(choice.backbone, manifest, task="features"), choice.threads) if heads else None
    face = None
    if choice.face:
        face_detector = build(get_model(choice.face, manifest, task="face"), choice.threads)
        mesh, iris = [build(get_model(name, manifest, task=task), choice.threads) if name else None
                      for name, task in ((choice.landmarks, "landmarks"), (choice.eyes, "eyes"))]
        face = FaceReader(face_detector, mesh, iris)
    mouth = None
    if choice.mouth and face is not None:
        from .mouth import MouthReader
        spec = get_model(choice.mouth, manifest, task="classify")
        assert spec.backbone is not None   # the manifest loader refuses a classifier without `backbone`
        if backbone is None or backbone.name != spec.backbone:
            backbone_for_mouth = build(get_model(spec.backbone, manifest, task="features"), choice.threads)
        else:
            backbone_for_mouth = backbone
        mouth = MouthReader(spec, backbone_for_mouth)
    pixels = None
    if choice.segmenter:
        from .presence_cue import PersonPixels
        pixels = PersonPixels(build(get_model(choice.segmenter, manifest, task="segment"), choice.threads))
    return Analyzer(detector, pose, face=face, crop_pass=crop_pass, backbone=backbone, heads=heads, mouth=mouth,
                    presence=presence, pixels=pixels, zoom_turns=tuple(choice.counter_zoom_turns),
                    zoom_turned_score=choice.counter_zoom_turned_score, presence_stretch=choice.presence_max_stretch)


def presence_detector_name(choice, manifest) -> str:
    """The detect model of the presence pass: ``models.presence_detector``; "auto" is the detector's int8
    twin (``<detector>-int8`` in the manifest, e.g. nanodet-int8) when the manifest has one, else the
    detector; None is the detector itself."""
    from vision.models.manifest import load_manifest

    wanted = choice.presence_detector
    if wanted is None:
        return choice.detector
    if wanted == "auto":
        twin = f"{choice.detector}-int8"
        spec = load_manifest(manifest).get(twin)
        return twin if spec is not None and spec.task == "detect" else choice.detector
    return wanted


def load_pool(choice=None, base_dir=None, crop_pass: bool | None = None):
    """``models.sessions`` Analyzers (0: one per core, each single-threaded) sharing the work of all cameras."""
    import os

    from vision.config import ModelChoice
    from vision.perception.pipeline import AnalyzerPool

    choice = choice or ModelChoice()
    sessions = choice.sessions or max(1, os.cpu_count() or 1)
    threads = choice.threads or (1 if sessions > 1 else 0)
    per = choice.model_copy(update={"threads": threads})
    return AnalyzerPool([load_analyzer(per, base_dir, crop_pass) for _ in range(sessions)])
