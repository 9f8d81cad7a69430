"""Learned behaviour heads: small logistic classifiers on the frozen backbone's crop features.

A head says how likely one behaviour is on one person crop (``vision.perception.crops.person_crop``):
phone in use, eating or drinking, badge worn, asleep. Its file (``.npz``, a few kB) holds the
weights, the bias, the feature normalisation and a JSON block with the threshold and a summary of
its training data; its entry in models/models.yaml (family ``head``, task ``classify``) names the
``behaviour`` it scores and the ``backbone`` whose features it reads.

    probs = head.predict(features)      # features: (N, D) from Backbone.features(crops)

``fit_head`` trains one (scikit-learn logistic regression, classes balanced, threshold picked
on the training data's own out-of-fold predictions); ``register_head`` saves it next to the
manifest and writes its entry (the only way heads get into models.yaml).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vision.errors import ModelError
from vision.models.manifest import DEFAULT_MANIFEST, ModelSpec, file_sha256, verify

# the behaviours a head may score; the names are the keys of FrameDetections.head_scores
BEHAVIOURS = ("phone_in_use", "eating", "badge_worn", "asleep", "window_occupied", "window_head_down")
DEFAULT_BACKBONE = "efficientnet-lite0"
# The heads on by default (ModelChoice.heads). models/ ships head-badge_worn (models/train_heads.py:
# held-out balanced accuracy 0.74 on public crops of one room), but it is NOT on by default: on an
# independent set of office-CCTV crops it judged more staff than the badge geometry but at balanced
# accuracy 0.59 against the geometry's 0.71 (docs/models.md, "Behaviour heads"). Switch it on with
# `models: {heads: [head-badge_worn]}` in cameras.yaml.
DEFAULT_HEADS: tuple[str, ...] = ()
FORMAT = 1
# what a head looks at: the person's crop (vision.perception.crops.person_crop), or each square the hand
# zoom would look at (vision.perception.hand_zoom.hand_regions), the person's score being the best square's
CROPS = ("person", "hands")


@dataclass(frozen=True)
class Head:
    name: str
    behaviour: str
    backbone: str
    weights: np.ndarray            # (D,)
    bias: float
    mean: np.ndarray               # (D,) feature normalisation: x = (features - mean) / scale
    scale: np.ndarray              # (D,)
    threshold: float = 0.5         # probability at or above which the behaviour is said to be seen
    training: dict = field(default_factory=dict)   # what it was trained on and how it scored
    crop: str = "person"           # what it looks at: "person" crops, or "hands" (the hand zoom's squares)

    def __post_init__(self) -> None:
        if self.crop not in CROPS:
            raise ValueError(f"head {self.name!r}: crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        d = self.weights.shape
        if self.weights.ndim != 1 or self.mean.shape != d or self.scale.shape != d:
            raise ValueError(f"head {self.name!r}: weights, mean and scale must be 1-D of one length, got "
                             f"{self.weights.shape}, {self.mean.shape}, {self.scale.shape}")

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def predict(self, features: np.ndarray) -> np.ndarray:
        """(N,) probabilities of the behaviour for (N, D) features."""
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"head {self.name!r} reads ({self.dim},) features of {self.backbone!r}, "
                             f"got an array of shape {x.shape}")
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))

    def decide(self, features: np.ndarray) -> np.ndarray:
        """(N,) booleans: probability at or above the head's threshold."""
        return self.predict(features) >= self.threshold

    def meta(self) -> dict:
        meta = {"format": FORMAT, "name": self.name, "behaviour": self.behaviour, "backbone": self.backbone,
                "bias": float(self.bias), "threshold": float(self.threshold), "training": self.training}
        if self.crop != "person":       # heads from before the field keep their bytes
            meta["crop"] = self.crop
        return meta

    def save(self, path: Path | str) -> Path:
        """Write the head to ``path`` (.npz). Same head, same bytes."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = json.dumps(self.meta(), sort_keys=True, ensure_ascii=False)
        arrays = {"weights": self.weights.astype(np.float64), "mean": self.mean.astype(np.float64),
                  "scale": self.scale.astype(np.float64), "meta": np.array(meta)}
        # np.savez stamps the time into the zip; a fixed stamp keeps the sha256 of a head stable
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for key, arr in arrays.items():
                info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(info, "w") as out:
                    np.lib.format.write_array(out, arr, allow_pickle=False)
        return path


def manifest_heads(manifest: Path | str = DEFAULT_MANIFEST) -> dict[str, ModelSpec]:
    """Every head in the manifest, by name."""
    from vision.models.manifest import load_manifest
    return {name: spec for name, spec in load_manifest(manifest).items() if spec.family == "head"}


def read_head(path: Path | str) -> Head:
    """A head from its .npz file (no manifest check: see ``load_head``)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return Head(name=meta["name"], behaviour=meta["behaviour"], backbone=meta["backbone"],
                        weights=z["weights"], bias=float(meta["bias"]), mean=z["mean"], scale=z["scale"],
                        threshold=float(meta["threshold"]), training=meta.get("training") or {},
                        crop=meta.get("crop", "person"))
    except FileNotFoundError:
        raise ModelError(f"head file {path} not found") from None
    except (KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{path}: not a head file ({exc}); write heads with Head.save") from None


def load_head(spec: ModelSpec | str, manifest: Path | str = DEFAULT_MANIFEST) -> Head:
    """The head of a manifest entry (a ModelSpec, or its name in ``manifest``), checksum verified."""
    if isinstance(spec, str):
        from vision.models.manifest import get_model
        spec = get_model(spec, manifest, task="classify")
    if spec.family != "head":
        raise ModelError(f"model {spec.name!r} is a {spec.family} model, not a head")
    verify(spec)
    head = read_head(spec.file)
    if head.behaviour != spec.behaviour or head.backbone != spec.backbone:
        raise ModelError(f"model {spec.name!r}: the manifest says behaviour {spec.behaviour!r} on "
                         f"{spec.backbone!r}, its file {spec.file.name} says {head.behaviour!r} on "
                         f"{head.backbone!r}; re-register it with vision.perception.heads.register_head")
    return head


def _best_threshold(labels: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of ``probs >= threshold`` against ``labels``."""
    best = (0.5, -1.0)
    for t in np.unique(np.round(probs, 3)):
        pred = probs >= t
        tp = float(np.sum(pred & labels))
        f1 = 2 * tp / max(float(pred.sum() + labels.sum()), 1.0)
        if f1 > best[1] or (f1 == best[1] and abs(t - 0.5) < abs(best[0] - 0.5)):
            best = (float(t), f1)
    return best


def fit_head(features: np.ndarray, labels, behaviour: str, *, name: str | None = None,
             backbone: str = DEFAULT_BACKBONE, groups=None, C: float = 0.1,
             summary: dict | None = None, crop: str = "person") -> Head:
    """Fit a head on (N, D) features and N booleans (True = the behaviour is seen).

    Logistic regression on standardised features with balanced class weights. The threshold is
    chosen on the training data only: the F1-best cut of out-of-fold probabilities, folds by
    ``groups`` (source / video / camera) when there are at least 2, else stratified folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    if behaviour not in BEHAVIOURS:
        raise ValueError(f"behaviour {behaviour!r} is not one of {', '.join(BEHAVIOURS)}")
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"fit_head needs (N, D) features and N labels, got {x.shape} and {y.shape}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos < 2 or n_neg < 2:
        raise ValueError(f"head {behaviour!r}: needs at least 2 crops with and 2 without the behaviour, "
                         f"got {n_pos} and {n_neg}")
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    xs = (x - mean) / scale

    def model():
        return LogisticRegression(C=C, class_weight="balanced", max_iter=2000)

    oof = np.full(len(y), np.nan)
    g = None if groups is None else np.asarray(groups)
    if g is not None and len(np.unique(g)) >= 2:
        folds = GroupKFold(n_splits=min(5, len(np.unique(g)))).split(xs, y, g)
    else:
        folds = StratifiedKFold(n_splits=min(5, n_pos, n_neg), shuffle=True, random_state=0).split(xs, y)
    for train, test in folds:
        if len(np.unique(y[train])) < 2:
            continue
        oof[test] = model().fit(xs[train], y[train]).predict_proba(xs[test])[:, 1]
    seen = ~np.isnan(oof)
    threshold, f1 = _best_threshold(y[seen], oof[seen]) if seen.sum() and y[seen].any() else (0.5, float("nan"))

    clf = model().fit(xs, y)
    training = {"crops": len(y), "positives": n_pos, "negatives": n_neg, "C": C,
                "threshold_from": "out-of-fold F1 on the training data" + (" (grouped folds)" if g is not None else ""),
                "out_of_fold_f1": None if np.isnan(f1) else round(f1, 4), **(summary or {})}
    return Head(name=name or f"head-{behaviour}", behaviour=behaviour, backbone=backbone,
                weights=clf.coef_[0].astype(np.float64), bias=float(clf.intercept_[0]),
                mean=mean, scale=scale, threshold=threshold, training=training, crop=crop)


def register_head(head: Head, manifest: Path | str = DEFAULT_MANIFEST, *, license: str,
                  source: dict | None = None, file: str | None = None, extra: dict | None = None) -> ModelSpec:
    """Save ``head`` beside ``manifest`` (as ``file``, default ``NAME.npz``) and add or update its entry.

    ``license`` is the licence of the data it was trained on (and of the backbone); ``source`` says
    where it came from (training script, data manifest, date); ``extra`` adds keys of your own to the
    entry (e.g. a version or the held-out scores; not file, sha256, family, task, behaviour, backbone).
    Returns the new entry, sha256 checked.
    """
    from ruamel.yaml.comments import CommentedMap

    from vision.models.manifest_writer import _atomic_write, _flow_map, write_entry

    own = {"file", "sha256", "size_bytes", "family", "task", "behaviour", "backbone", "license", "source"}
    clash = own & set(extra or {})
    if clash:
        raise ValueError(f"register_head: extra keys {sorted(clash)} would overwrite the entry's own")
    manifest = Path(manifest)
    target = manifest.parent / (file or f"{head.name}.npz")
    _atomic_write(target, head.save)     # a running Analyzer never reads a half-written head
    entry = CommentedMap()
    entry["file"] = target.name
    entry["sha256"] = file_sha256(target)
    entry["size_bytes"] = target.stat().st_size
    entry["family"] = "head"
    entry["task"] = "classify"
    entry["behaviour"] = head.behaviour
    entry["backbone"] = head.backbone
    entry["license"] = license
    if source:
        entry["source"] = _flow_map(dict(source))
    for key, value in (extra or {}).items():
        entry[key] = _flow_map(value) if isinstance(value, dict) else value
    return write_entry(manifest, head.name, entry)
