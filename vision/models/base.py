"""What every model adapter shares: an onnxruntime session, preprocessing, mapping boxes back."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from vision.errors import ModelError
from vision.models.manifest import InputSpec, ModelSpec


def open_session(spec: ModelSpec, threads: int = 0) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(spec.file), sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise ModelError(f"model {spec.name!r}: onnxruntime cannot load {spec.file}: {exc}") from None
    names = [i.name for i in session.get_inputs()]
    if spec.input.name not in names:
        raise ModelError(f"model {spec.name!r}: the manifest says input {spec.input.name!r}, "
                         f"but {spec.file.name} has inputs {names}")
    return session


@dataclass(frozen=True)
class Transform:
    """Maps model-input pixels back to source-image pixels: x_src = (x_in - pad_x) / scale_x + off_x."""

    scale_x: float
    scale_y: float
    pad_x: float = 0.0
    pad_y: float = 0.0
    off_x: float = 0.0
    off_y: float = 0.0

    def points(self, xy: np.ndarray) -> np.ndarray:
        out = np.asarray(xy, dtype=np.float32).copy()
        out[..., 0] = (out[..., 0] - self.pad_x) / self.scale_x + self.off_x
        out[..., 1] = (out[..., 1] - self.pad_y) / self.scale_y + self.off_y
        return out

    def boxes(self, b: np.ndarray) -> np.ndarray:
        b = np.asarray(b, dtype=np.float32).reshape(-1, 4)
        out = np.empty_like(b)
        out[:, 0:2] = self.points(b[:, 0:2])
        out[:, 2:4] = self.points(b[:, 2:4])
        return out


def preprocess(image: np.ndarray, spec: InputSpec,
               origin: tuple[float, float] = (0.0, 0.0)) -> tuple[np.ndarray, Transform]:
    """Resize a BGR image as the model expects and lay it out as a batch of one.

    ``origin`` is where ``image`` sits in a larger frame (for crops), so the
    returned Transform maps straight back to frame pixels.
    """
    h, w = image.shape[:2]
    tw, th = spec.width, spec.height
    if spec.resize == "stretch":
        sx, sy = tw / w, th / h
        resized = cv2.resize(image, (tw, th), interpolation=cv2.INTER_LINEAR)
        tf = Transform(sx, sy, off_x=origin[0], off_y=origin[1])
    elif spec.resize in ("letterbox", "pad_square"):
        s = min(tw / w, th / h)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        px, py = (tw - nw) / 2, (th - nh) / 2
        fill = 114 if spec.resize == "letterbox" else 0
        resized = np.full((th, tw, 3), fill, dtype=np.uint8)
        x0, y0 = int(round(px - 0.1)), int(round(py - 0.1))
        resized[y0:y0 + nh, x0:x0 + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
        # Map back with the scale actually applied to each axis (nw / w, nh / h, after rounding), as
        # ultralytics' scale_boxes does, not with s: they differ by up to half a pixel over the image.
        tf = Transform(nw / w, nh / h, pad_x=x0, pad_y=y0, off_x=origin[0], off_y=origin[1])
    else:
        raise ModelError(f"unknown resize mode {spec.resize!r} (stretch, letterbox, pad_square)")
    if spec.dtype == "float32":
        # one C++ pass: channel swap, mean, scale and layout (about 10x faster than numpy here)
        x = cv2.dnn.blobFromImageWithParams(resized, _blob_params(spec))
        return (x if spec.layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))), tf
    if spec.color == "RGB":
        resized = cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)
    x = resized.astype(np.int32) if spec.dtype == "int32" else resized
    if spec.layout == "NCHW":
        x = x.transpose(2, 0, 1)
    return np.ascontiguousarray(x[None]), tf


_BLOB_PARAMS: dict[InputSpec, cv2.dnn.Image2BlobParams] = {}


def _blob_params(spec: InputSpec):
    params = _BLOB_PARAMS.get(spec)
    if params is None:
        params = cv2.dnn.Image2BlobParams(
            scalefactor=tuple(1.0 / v for v in spec.std), size=(spec.width, spec.height), mean=tuple(spec.mean),
            swapRB=spec.color == "RGB", ddepth=cv2.CV_32F)
        _BLOB_PARAMS[spec] = params
    return params


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression; returns kept indices, best first."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes.T
    areas = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx1, yy1 = np.maximum(x1[i], x1[rest]), np.maximum(y1[i], y1[rest])
        xx2, yy2 = np.minimum(x2[i], x2[rest]), np.minimum(y2[i], y2[rest])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        ratio = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[ratio <= iou]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """Per-class NMS by offsetting each class's boxes far apart."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    # The offset must exceed the boxes' whole span: boxes may start below 0 (YOLO boxes at the border).
    offset = classes.astype(np.float32)[:, None] * (float(boxes.max() - min(boxes.min(), 0.0)) + 1.0)
    return nms(boxes + offset, scores, iou)


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000.0
