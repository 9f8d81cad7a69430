"""NanoDet (GFL head) adapter: per-stride class scores and 4 x (reg_max+1) distance bins."""

from __future__ import annotations

from dataclasses import replace

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
        # a file whose input height and width are free (models/free_input_size.py) runs on any multiple of
        # the largest stride; a static one only on the manifest's size
        declared = self.session.get_inputs()[0].shape
        self.free_size = len(declared) == 4 and not all(isinstance(d, int) for d in declared[2:])
        self._centers: dict[tuple[int, int], list[np.ndarray]] = {}
        self.bins = np.arange(self.reg_max + 1, dtype=np.float32)
        self.timing: dict[str, float] = {}
        self.input_size: tuple[int, int] | None = None    # (width, height) of the last call's input

    def centers(self, w: int, h: int) -> list[np.ndarray]:
        """Per stride, the centres of the cells of a ``w`` x ``h`` input."""
        if (w, h) not in self._centers:
            grids = []
            for s in self.strides:
                cols, rows = int(np.ceil(w / s)), int(np.ceil(h / s))
                yy, xx = np.mgrid[0:rows, 0:cols]
                grids.append(np.stack([(xx.ravel() + 0.5) * s, (yy.ravel() + 0.5) * s], axis=1).astype(np.float32))
            self._centers[(w, h)] = grids
        return self._centers[(w, h)]

    def fit_size(self, width: int, height: int, max_stretch: float = 1.0) -> tuple[int, int]:
        """The input for a ``width`` x ``height`` picture: with a free input size, the picture's own aspect at
        the scale the manifest's input gives its longer side, each side rounded up to the largest stride (a
        thin strip is not stretched to a square: the same pixels at the same scale, fewer of them); else the
        manifest's size. ``max_stretch``: each side may be scaled up to this many times more than that (a
        1280 x 439 strip at 2: 416 x 288 instead of 416 x 160), never past the manifest's side; the manifest's
        square is the unbounded stretch."""
        w, h = self.spec.input.width, self.spec.input.height
        if not self.free_size or width <= 0 or height <= 0:
            return w, h
        scale = min(w / width, h / height) * max(1.0, max_stretch)
        step = max(self.strides)

        def side(n: float, most: int) -> int:
            return int(min(most, max(step, step * np.ceil(n * scale / step - 1e-6))))
        return side(width, w), side(height, h)

    def detect(self, image: np.ndarray, min_score: float = 0.2,
               origin: tuple[float, float] = (0.0, 0.0), size: tuple[int, int] | None = None) -> list[Detection]:
        """Detections on ``image`` (boxes in the frame that ``origin`` places it in). ``size``: the input
        (width, height) to run at, e.g. ``fit_size`` of the picture; only a free-size file takes another size
        than the manifest's."""
        t = Timer()
        spec = self.spec.input
        if size is not None and size != (spec.width, spec.height):
            if not self.free_size:
                raise ModelError(f"model {self.spec.name!r}: {self.spec.file.name} takes only {spec.width} x "
                                 f"{spec.height} inputs (run models/free_input_size.py on it for others)")
            spec = replace(spec, width=int(size[0]), height=int(size[1]))
        x, tf = preprocess(image, spec, origin)
        self.input_size = (spec.width, spec.height)
        self.timing = {"preprocess": t.ms()}
        t = Timer()
        outs = self.session.run(self.score_outputs + self.box_outputs, {self.spec.input.name: x})
        self.timing["infer"] = t.ms()
        n = len(self.strides)
        centers = self.centers(spec.width, spec.height)
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
            c = centers[i][keep]
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
