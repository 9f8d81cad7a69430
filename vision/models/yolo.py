"""Ultralytics YOLO (v8/11 head, exported to ONNX without NMS) adapters: detect and pose.

Output ``[1, 4 + nc (+ 3*K for pose), N]``: box centre x, y, width, height in
input pixels, then class scores (already sigmoid), then K keypoints (x, y, visibility).
"""

from __future__ import annotations

import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, batched_nms, open_session, preprocess
from vision.models.manifest import ModelSpec
from vision.models.movenet import crop_box
from vision.perception.detections import Box, Detection, Pose, as_box


def decode_yolo(raw: np.ndarray, n_classes: int, min_score: float, iou: float,
                max_det: int = 300, agnostic: bool = False,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Raw YOLO output (one image) -> boxes xyxy, scores, classes, keypoints (or None), in input pixels."""
    pred = raw[0].T if raw.ndim == 3 else raw.T            # [N, 4 + nc + extra]
    scores_all = pred[:, 4:4 + n_classes]
    classes = scores_all.argmax(axis=1)
    scores = scores_all[np.arange(len(pred)), classes]
    keep = scores > min_score
    pred, scores, classes = pred[keep], scores[keep], classes[keep]
    cx, cy, w, h = pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    order = np.argsort(scores)[::-1][:30000]
    boxes, scores, classes, pred = boxes[order], scores[order], classes[order], pred[order]
    idx = batched_nms(boxes, scores, np.zeros_like(classes) if agnostic else classes, iou)[:max_det]
    extra = pred[idx, 4 + n_classes:]
    kps = extra.reshape(len(idx), -1, 3) if extra.shape[1] and extra.shape[1] % 3 == 0 else None
    return boxes[idx], scores[idx], classes[idx], kps


class YoloDetector:
    task = "detect"

    def __init__(self, spec: ModelSpec, threads: int = 0, iou: float = 0.7):
        self.spec = spec
        self.labels = spec.labels
        self.session = open_session(spec, threads)
        self.iou = iou
        out = self.session.get_outputs()[0]
        self.output = out.name
        kpt_shape = spec.decode.get("kpt_shape", (17, 3)) if spec.task == "pose" else (0,)
        self.n_keypoint_values = int(np.prod(kpt_shape))
        self.n_classes = max(1, len(self.labels))
        rows = out.shape[1] if len(out.shape) == 3 else None
        if isinstance(rows, int) and rows != 4 + self.n_classes + self.n_keypoint_values:
            raise ModelError(
                f"model {spec.name!r}: {spec.file.name} outputs {rows} rows per anchor, but the manifest's "
                f"{len(self.labels)} labels{f' and {kpt_shape} keypoints' if self.n_keypoint_values else ''} "
                f"make {4 + self.n_classes + self.n_keypoint_values}; re-register it with `hallmonitor models add`")
        self.timing: dict[str, float] = {}

    def raw(self, image: np.ndarray, origin: tuple[float, float] = (0.0, 0.0)):
        t = Timer()
        x, tf = preprocess(image, self.spec.input, origin)
        self.timing = {"preprocess": t.ms()}
        t = Timer()
        out = self.session.run([self.output], {self.spec.input.name: x})[0]
        self.timing["infer"] = t.ms()
        return out, tf

    def predict(self, image: np.ndarray, min_score: float = 0.25, origin: tuple[float, float] = (0.0, 0.0),
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Boxes xyxy, scores, class ids and keypoints ``[n, K, 3]`` (or None), best first, in the pixels of the
        frame ``image`` sits in at ``origin``; boxes and keypoints clipped to ``image``, as ultralytics does."""
        out, tf = self.raw(image, origin)
        boxes, scores, classes, kps = decode_yolo(out, self.n_classes, min_score, self.iou)
        h, w = image.shape[:2]
        lo = np.array(origin, dtype=np.float32)
        hi = lo + np.array([w, h], dtype=np.float32)
        boxes = tf.boxes(boxes)
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(lo[0], hi[0])
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(lo[1], hi[1])
        if kps is not None:
            kps = np.concatenate([np.clip(tf.points(kps[..., :2]), lo, hi), kps[..., 2:3]], axis=-1)
        return boxes, scores, classes, kps

    def detect(self, image: np.ndarray, min_score: float = 0.25,
               origin: tuple[float, float] = (0.0, 0.0)) -> list[Detection]:
        boxes, scores, classes, _ = self.predict(image, min_score, origin)
        return [Detection(self.labels[int(c)], float(s), as_box(b))
                for b, s, c in zip(boxes, scores, classes)]


class YoloPose:
    """A YOLO pose model run on a person crop; the best-scoring skeleton in the crop wins."""

    task = "pose"

    def __init__(self, spec: ModelSpec, threads: int = 0, pad: float = 0.15, min_score: float = 0.1):
        self.detector = YoloDetector(spec, threads)
        self.spec = spec
        self.pad = pad
        self.min_score = min_score

    def estimate(self, image: np.ndarray, box: Box) -> Pose | None:
        h, w = image.shape[:2]
        x1, y1, x2, y2 = crop_box(box, w, h, self.pad)
        _, scores, _, kps = self.detector.predict(image[y1:y2, x1:x2], self.min_score, origin=(x1, y1))
        if kps is None or len(scores) == 0:
            return None
        return Pose(kps[0], float(scores[0]))
