"""BlazeFace (mediapipe face_detection_short_range) adapter: face boxes with 6 keypoints.

The model scores 896 SSD anchors; the anchors are generated here from the options in the manifest's
``decode.anchors`` (mediapipe's SsdAnchorsCalculator options for this model). Per anchor the model gives
x, y, w, h of the box and x, y of 6 keypoints, as offsets in input pixels from the anchor centre, and one
score logit. Overlapping detections are merged by score-weighted averaging (mediapipe's "weighted NMS")
or suppressed greedily.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, nms, open_session, preprocess
from vision.models.manifest import ModelSpec
from vision.perception.detections import Box, as_box


@dataclass(frozen=True)
class FaceCandidate:
    """One face found by the detector: box and keypoints (x, y) in frame pixels.

    Keypoints, in the model's order: the subject's right eye, left eye, nose tip, mouth centre, right ear
    tragion, left ear tragion (so on a frontal, unmirrored photo the "right eye" is on the image's left)."""

    box: Box
    score: float
    keypoints: np.ndarray     # (6, 2)

    @property
    def right_eye(self) -> np.ndarray:
        return self.keypoints[0]

    @property
    def left_eye(self) -> np.ndarray:
        return self.keypoints[1]


def ssd_anchor_centers(width: int, height: int, strides: list[int], min_scale: float, max_scale: float,
                       offset: float = 0.5, aspect_ratios=(1.0,), interpolated_scale_aspect_ratio: float = 1.0,
                       fixed_anchor_size: bool = True) -> np.ndarray:
    """SSD anchors (x, y, w, h), relative to the input, in the order the model scores them.

    Layers that share a stride share one feature map; each cell of it carries, per layer, one anchor per
    aspect ratio plus one at the scale between this layer's and the next one's. With
    ``fixed_anchor_size`` every anchor is 1 x 1 (the model's w, h are then in input units)."""
    n = len(strides)

    def scale(i: int) -> float:
        return (min_scale + max_scale) / 2 if n == 1 else min_scale + (max_scale - min_scale) * i / (n - 1)

    out = []
    layer = 0
    while layer < n:
        sizes = []
        last = layer
        while last < n and strides[last] == strides[layer]:
            s = scale(last)
            for r in aspect_ratios:
                sizes.append((s * np.sqrt(r), s / np.sqrt(r)))
            if interpolated_scale_aspect_ratio > 0:
                nxt = 1.0 if last == n - 1 else scale(last + 1)
                si, r = np.sqrt(s * nxt), interpolated_scale_aspect_ratio
                sizes.append((si * np.sqrt(r), si / np.sqrt(r)))
            last += 1
        stride = strides[layer]
        rows, cols = int(np.ceil(height / stride)), int(np.ceil(width / stride))
        for y in range(rows):
            for x in range(cols):
                for w, h in sizes:
                    out.append(((x + offset) / cols, (y + offset) / rows,
                                1.0 if fixed_anchor_size else w, 1.0 if fixed_anchor_size else h))
        layer = last
    return np.asarray(out, dtype=np.float32)


def _iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(box[0], boxes[:, 0]), np.maximum(box[1], boxes[:, 1])
    x2, y2 = np.minimum(box[2], boxes[:, 2]), np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, iou: float):
    """Merge each group of boxes overlapping the best remaining one: coordinates averaged with the scores
    as weights, the group's best score kept. Returns (boxes, points, scores), best first."""
    order = np.argsort(scores)[::-1]
    out_b, out_p, out_s = [], [], []
    while order.size:
        top = order[0]
        group = order[_iou_one(boxes[top], boxes[order]) > iou]
        group = group if group.size else order[:1]
        wts = scores[group][:, None]
        out_b.append((boxes[group] * wts).sum(0) / wts.sum())
        out_p.append((points[group] * wts[:, :, None]).sum(0) / wts.sum())
        out_s.append(scores[top])
        order = np.setdiff1d(order, group, assume_unique=True)
        order = order[np.argsort(scores[order])[::-1]]
    return np.asarray(out_b), np.asarray(out_p), np.asarray(out_s)


class BlazeFaceDetector:
    task = "face"

    def __init__(self, spec: ModelSpec, threads: int = 0):
        self.spec = spec
        self.session = open_session(spec, threads)
        dec = spec.decode
        try:
            a = dec["anchors"]
            self.anchors = ssd_anchor_centers(spec.input.width, spec.input.height, [int(s) for s in a["strides"]],
                                              float(a["min_scale"]), float(a["max_scale"]), float(a.get("offset", 0.5)),
                                              tuple(a.get("aspect_ratios", (1.0,))),
                                              float(a.get("interpolated_scale_aspect_ratio", 1.0)),
                                              bool(a.get("fixed_anchor_size", True)))
            self.box_output, self.score_output = dec["boxes"], dec["scores"]
            self.n_keypoints = int(dec["keypoints"])
        except (KeyError, TypeError) as exc:
            raise ModelError(f"model {spec.name!r}: manifest `decode` lacks {exc} (blazeface needs boxes, "
                             f"scores, keypoints and anchors: strides, min_scale, max_scale)") from None
        self.scale = float(dec.get("scale", spec.input.width))
        self.merge = dec.get("nms", "weighted")
        self.iou = float(dec.get("iou", 0.3))
        out = {o.name: o.shape for o in self.session.get_outputs()}
        if out.get(self.box_output, [None, None])[1] != len(self.anchors):
            raise ModelError(f"model {spec.name!r}: {len(self.anchors)} anchors from the manifest's options, "
                             f"but output {self.box_output!r} has shape {out.get(self.box_output)}")
        self.timing: dict[str, float] = {}

    def detect(self, image: np.ndarray, min_score: float = 0.5,
               origin: tuple[float, float] = (0.0, 0.0)) -> list[FaceCandidate]:
        """Faces in ``image`` (BGR; a crop placed at ``origin`` of the frame), best first."""
        t = Timer()
        x, tf = preprocess(image, self.spec.input, origin)
        raw_boxes, raw_scores = self.session.run([self.box_output, self.score_output], {self.spec.input.name: x})
        self.timing = {"infer": t.ms()}
        logits = np.clip(raw_scores[0, :, 0].astype(np.float64), -100, 100)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = scores >= min_score
        if not keep.any():
            return []
        raw, anc, scores = raw_boxes[0][keep], self.anchors[keep], scores[keep]
        s = self.scale
        cx = raw[:, 0] / s * anc[:, 2] + anc[:, 0]
        cy = raw[:, 1] / s * anc[:, 3] + anc[:, 1]
        bw, bh = raw[:, 2] / s * anc[:, 2], raw[:, 3] / s * anc[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        kp = raw[:, 4:4 + 2 * self.n_keypoints].reshape(-1, self.n_keypoints, 2) / s
        points = kp * anc[:, None, 2:4] + anc[:, None, 0:2]
        if self.merge == "weighted":
            boxes, points, scores = weighted_nms(boxes, points, scores, self.iou)
        else:
            idx = nms(boxes, scores, self.iou)
            boxes, points, scores = boxes[idx], points[idx], scores[idx]
        w_in, h_in = self.spec.input.width, self.spec.input.height
        boxes = tf.boxes(boxes * [w_in, h_in, w_in, h_in])
        points = tf.points(points * [w_in, h_in])
        return [FaceCandidate(as_box(b), float(sc), p.astype(np.float32))
                for b, p, sc in zip(boxes, points, scores)]
