"""NanoDet (GFL head) adapter: per-stride class scores and 4 x (reg_max+1) distance bins."""

from __future__ import annotations

import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, batched_nms, open_session, preprocess
from vision.models.manifest import ModelSpec
from vision.perception.detections import Detection, as_box


def _softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


class NanoDetDetector:
    task = "detect"

    def __init__(self, spec: ModelSpec, threads: int = 0, iou: float = 0.5, max_candidates: int = 1000):
        self.spec = spec
        self.labels = spec.labels
        self.session = open_session(spec, threads)
        self.iou = iou
        self.max_candidates = max_candidates
        dec = spec.decode
        try:
            self.strides = [int(s) for s in dec["strides"]]
            self.reg_max = int(dec["reg_max"])
            self.score_outputs = list(dec["score_outputs"])
            self.box_outputs = list(dec["box_outputs"])
        except KeyError as exc:
            raise ModelError(f"model {spec.name!r}: manifest `decode` lacks {exc} "
                             f"(nanodet needs strides, reg_max, score_outputs, box_outputs)") from None
        w, h = spec.input.width, spec.input.height
        self.centers = []
        for s in self.strides:
            cols, rows = int(np.ceil(w / s)), int(np.ceil(h / s))
            yy, xx = np.mgrid[0:rows, 0:cols]
            self.centers.append(np.stack([(xx.ravel() + 0.5) * s, (yy.ravel() + 0.5) * s], axis=1).astype(np.float32))
        self.bins = np.arange(self.reg_max + 1, dtype=np.float32)
        self.timing: dict[str, float] = {}

    def detect(self, image: np.ndarray, min_score: float = 0.2,
               origin: tuple[float, float] = (0.0, 0.0)) -> list[Detection]:
        t = Timer()
        x, tf = preprocess(image, self.spec.input, origin)
        self.timing = {"preprocess": t.ms()}
        t = Timer()
        outs = self.session.run(self.score_outputs + self.box_outputs, {self.spec.input.name: x})
        self.timing["infer"] = t.ms()
        n = len(self.strides)
        all_boxes, all_scores, all_cls = [], [], []
        for i, stride in enumerate(self.strides):
            scores = outs[i][0]
            regs = outs[n + i][0]
            cls = scores.argmax(axis=1)
            best = scores[np.arange(len(scores)), cls]
            keep = best >= min_score
            if not keep.any():
                continue
            dist = _softmax(regs[keep].reshape(-1, 4, self.reg_max + 1)) @ self.bins * stride
            c = self.centers[i][keep]
            boxes = np.concatenate([c - dist[:, 0:2], c + dist[:, 2:4]], axis=1)
            all_boxes.append(boxes)
            all_scores.append(best[keep])
            all_cls.append(cls[keep])
        if not all_boxes:
            return []
        boxes = np.concatenate(all_boxes)
        scores = np.concatenate(all_scores)
        classes = np.concatenate(all_cls)
        if len(scores) > self.max_candidates:
            top = np.argsort(scores)[::-1][: self.max_candidates]
            boxes, scores, classes = boxes[top], scores[top], classes[top]
        keep = batched_nms(boxes, scores, classes, self.iou)
        boxes = tf.boxes(boxes[keep])
        h, w = image.shape[:2]
        ox, oy = origin
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(ox, ox + w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(oy, oy + h)
        return [Detection(self.labels[int(c)], float(s), as_box(b))
                for b, s, c in zip(boxes, scores[keep], classes[keep])]
