"""Model adapters, picked by the manifest's ``family`` and ``task``: one class per model family."""

from __future__ import annotations

from vision.errors import ModelError
from vision.models.backbone import Backbone
from vision.models.blazeface import BlazeFaceDetector
from vision.models.facemesh import FaceMesh
from vision.models.iris import IrisLandmarks
from vision.models.manifest import ModelSpec
from vision.models.movenet import MoveNetPose
from vision.models.nanodet import NanoDetDetector
from vision.models.selfie import PersonSegmenter
from vision.models.yolo import YoloDetector, YoloPose

ADAPTERS = {
    ("nanodet", "detect"): NanoDetDetector,
    ("yolo", "detect"): YoloDetector,
    ("movenet", "pose"): MoveNetPose,
    ("yolo", "pose"): YoloPose,
    ("backbone", "features"): Backbone,
    ("blazeface", "face"): BlazeFaceDetector,
    ("facemesh", "landmarks"): FaceMesh,
    ("iris", "eyes"): IrisLandmarks,
    ("selfie", "segment"): PersonSegmenter,
}


def build(spec: ModelSpec, threads: int = 0):
    try:
        adapter = ADAPTERS[(spec.family, spec.task)]
    except KeyError:
        raise ModelError(f"model {spec.name!r}: no adapter for a {spec.family} {spec.task} model") from None
    return adapter(spec, threads=threads)
