"""Mouth stage: is something held at a staff member's mouth (a cup, a glass, a bottle, food)?

A cup at the lips or a sandwich held up to the mouth is small and half hidden by the hand and the
face; in the 416 px frame, or even in the person's crop, NanoDet rarely finds it (its scores there
are 0.2-0.35, where it also sees "donuts" on hands). Seen whole, the face with the thing at its mouth
is what an ImageNet classifier knows well: it takes the scene for a cup, a beer bottle, an ice lolly, a
harmonica. So two squares around each face found (``face_square``: two and four face widths, the
larger reaching down to the hands) go through the crop backbone, and the backbone's own ImageNet classifier
(``models/lite0-mouth-objects.npz``, the `_fc` layer of the same weights: nothing trained here) gives
the probability summed over the ImageNet classes that are things put to the mouth.

One batched backbone call for the faces of a frame (two crops each); it runs with the face stage (same schedule, and
its reading is held with the face between reads: it lives in ``Face.evidence["mouth"]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vision.errors import ModelError
from vision.models.manifest import ModelSpec, verify
from vision.perception.detections import KP, Box, Face, Pose, as_box

Rect = tuple[int, int, int, int]
# the squares read around each face, in face widths: 2 sees a cup at the lips large, 4 the bottle
# or the sandwich held below the chin (on the dev set's drinkers: 24 of 60 with 3 alone, 38 with 2 and 4)
SPANS = (2.0, 4.0)
HEAD_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")


def head_box(box: Box, pose: Pose | None, face: Face | None, kp_score: float = 0.3) -> Box:
    """Where the head is: the face box when a face was found, else a box around the pose's head points
    (1.6 times their spread, at least a quarter of the person's width), else the top of the person's box."""
    if face is not None:
        return as_box(face.box)
    x1, y1, x2, y2 = box
    bw = x2 - x1
    if pose is not None:
        pts = np.array([pose.keypoints[KP[n], :2] for n in HEAD_POINTS if pose.keypoints[KP[n], 2] >= kp_score])
        if len(pts) >= 2:
            cx, cy = pts.mean(axis=0)
            side = max(float(np.ptp(pts[:, 0])) * 1.6, 0.25 * bw)
            return (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
    side = min(bw, y2 - y1) / 2
    cx = (x1 + x2) / 2
    return (cx - side / 2, y1, cx + side / 2, y1 + side)


def face_square(head: Box, width: int, height: int, span: float = 3.0, min_px: int = 96) -> Rect | None:
    """A square ``span`` head widths wide around the head, its top half a head width above the head's
    top (the mouth in its upper half, the hands below it inside), shifted to stay in the frame."""
    hx1, hy1, hx2, hy2 = head
    hw = max(hx2 - hx1, hy2 - hy1)
    side = min(max(span * hw, float(min_px)), float(width), float(height))
    if side < 16:
        return None
    cx = (hx1 + hx2) / 2
    x1 = min(max(0.0, cx - side / 2), width - side)
    y1 = min(max(0.0, hy1 - 0.5 * hw), height - side)
    return int(round(x1)), int(round(y1)), int(round(x1 + side)), int(round(y1 + side))


class MouthReader:
    """The backbone + its ImageNet classifier restricted to mouth-held classes."""

    def __init__(self, spec: ModelSpec, backbone):
        if spec.backbone != backbone.name:
            raise ModelError(f"model {spec.name!r} reads {spec.backbone!r} features; the backbone is {backbone.name!r}")
        verify(spec)
        data = np.load(Path(spec.file), allow_pickle=False)
        self.weight = data["weight"].astype(np.float32)
        self.bias = data["bias"].astype(np.float32)
        self.classes = data["classes"].astype(np.int64)
        self.names = [str(n) for n in data["names"]]
        if self.weight.shape[1] != backbone.dim:
            raise ModelError(f"model {spec.name!r}: {self.weight.shape[1]} inputs, the backbone gives {backbone.dim}")
        self.name = spec.name
        self.backbone = backbone

    def probabilities(self, crops: list[np.ndarray]) -> list[tuple[float, str, float]]:
        """Per crop: (probability of any mouth-held class, the likeliest of them, its probability)."""
        if not crops:
            return []
        logits = self.backbone.features(crops) @ self.weight.T + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        mouth = probs[:, self.classes]
        out = []
        for row in mouth:
            j = int(np.argmax(row))
            out.append((float(row.sum()), self.names[j], float(row[j])))
        return out

    def read(self, image: np.ndarray, faces: list[Face | None]) -> None:
        """Write each face's mouth reading into its evidence (``evidence["mouth"]``): the squares of
        ``SPANS`` face widths around it in one batched call, and the larger probability of the two."""
        h, w = image.shape[:2]
        todo = []
        for face in faces:
            if face is None:
                continue
            for span in SPANS:
                rect = face_square(face.box, w, h, span=span)
                if rect is not None:
                    todo.append((face, rect))
        probs = self.probabilities([image[r[1]:r[3], r[0]:r[2]] for _, r in todo])
        readings: dict[int, dict] = {}
        for (face, rect), (p, top, p_top) in zip(todo, probs):
            best = readings.get(id(face))
            if best is None or p > best["p"]:
                readings[id(face)] = {"p": round(p, 4), "top": top, "p_top": round(p_top, 4), "square": list(rect),
                                      "squares": (best or {}).get("squares", [])}
            readings[id(face)]["squares"].append({"box": list(rect), "p": round(p, 4)})
        for face in faces:
            if face is not None and id(face) in readings:
                face.evidence["mouth"] = readings[id(face)]
