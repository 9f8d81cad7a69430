"""The frozen crop backbone: pooled image features of person (or zone) crops, for the learned heads.

One batched onnxruntime call per frame: every crop is resized to the model's square input
(``stretch``; person crops are already square, see ``vision.perception.crops``), laid out as the manifest's
input spec says, and the pooled feature vector (e.g. 1280 numbers for EfficientNet-Lite0) comes out.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.errors import ModelError
from vision.models.base import Timer, _blob_params, open_session
from vision.models.manifest import ModelSpec


class Backbone:
    def __init__(self, spec: ModelSpec, threads: int = 0):
        if spec.input.layout != "NCHW" or spec.input.dtype != "float32":
            raise ModelError(f"model {spec.name!r}: a backbone needs an NCHW float32 input, "
                             f"the manifest says {spec.input.layout} {spec.input.dtype}")
        self.spec = spec
        self.name = spec.name
        self.session = open_session(spec, threads)
        outputs = [o.name for o in self.session.get_outputs()]
        self.output = spec.decode.get("output", outputs[0])
        if self.output not in outputs:
            raise ModelError(f"model {spec.name!r}: the manifest says output {self.output!r}, "
                             f"but {spec.file.name} has outputs {outputs}")
        shape = self.session.get_outputs()[outputs.index(self.output)].shape
        self.dim = int(shape[-1]) if isinstance(shape[-1], int) else int(spec.decode.get("dim", 0))
        self.timing: dict[str, float] = {}

    def features(self, crops: list[np.ndarray]) -> np.ndarray:
        """(N, D) float32 features of N BGR crops, in one batched call; (0, D) for no crops."""
        if not crops:
            return np.zeros((0, self.dim), dtype=np.float32)
        t = Timer()
        spec = self.spec.input
        size = (spec.width, spec.height)
        resized = [c if c.shape[1::-1] == size else cv2.resize(c, size, interpolation=cv2.INTER_AREA)
                   for c in crops]
        blob = cv2.dnn.blobFromImagesWithParams(resized, _blob_params(spec))
        pre = t.ms()
        out = self.session.run([self.output], {spec.name: blob})[0]
        self.timing = {"preprocess": pre, "infer": t.ms() - pre}
        return np.asarray(out, dtype=np.float32).reshape(len(crops), -1)
