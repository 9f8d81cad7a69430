"""The hall's training loop on real footage and the real backbone: labels held back by event or day,
a head fitted and judged before/after, versions in the hall's own manifest, switched on only when
asked, the CLI, and the running analyzer following the switches."""

from __future__ import annotations

import re
import time
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from hallmonitor.cli import main
from vision.config import load_config
from vision.media.event_frame import encode_jpeg
from vision.models.manifest import file_sha256, get_model, load_manifest
from vision.perception.crops import zone_crop
from vision.perception.heads import load_head, register_head
from vision.perception.load import load_analyzer
from vision.store.database import Store
from vision.training.fit import Trainer, hall_manifest, load_backbone, scores, split_labels
from vision.training.teaching import Label, Teaching
from vision.training.versions import HallHeads, HeadSwitch, head_name, model_name

from .teach_data import HALL_YAML, OCCUPIED, VACANT, vtest_frames, zone_polygon

T0 = 1_764_550_000.0      # 2025-12-01 08:46 +08:00
OCC = head_name("window_occupied", "w01")


@pytest.fixture(scope="module")
def backbone():
    from vision.config import HallConfig
    return load_backbone(HallConfig(), threads=1)


@pytest.fixture(scope="module")
def frames(media):
    return vtest_frames(media, OCCUPIED + VACANT)


def make_hall(folder: Path, frames) -> tuple:
    (folder / "cameras.yaml").write_text(HALL_YAML, encoding="utf-8")
    config = load_config(folder / "cameras.yaml")
    store = Store(config.path(config.storage.database), synchronous="NORMAL")
    teach = Teaching(store)
    for i, image in sorted(frames.items()):
        f = teach.add_frame(encode_jpeg(image), 768, 576, "cam-v", T0 + i / 10, event_id=f"evt_v{i:03d}")
        teach.label(f, "window", zone_polygon(), "window_state", "occupied" if i in OCCUPIED else "vacant", "li",
                    window_id="w01", at=T0 + 3600)
    return config, store


@pytest.fixture(scope="module")
def trained(tmp_path_factory, frames, backbone):
    config, store = make_hall(tmp_path_factory.mktemp("hall"), frames)
    t = time.perf_counter()
    result = Trainer(config, store, backbone).run(["window_state"], "li")
    yield {"config": config, "store": store, "result": result, "seconds": time.perf_counter() - t}
    store.close()


def label(i: int, value: str, *, event: str | None = None, day: int = 0) -> Label:
    return Label(i, i, event, "cam-v", "w01", "window", [], "window_state", value, "li", 0.0, T0 + day * 86400 + i)


@pytest.mark.parametrize("labels, unit", [
    ([label(i, "occupied" if i % 2 else "vacant", event=f"e{i // 4}") for i in range(24)], "event"),
    ([label(i, "occupied" if i % 2 else "vacant", event=f"e{i}", day=i % 4) for i in range(24)], "day"),
    ([label(i, "occupied" if i % 3 else "vacant", day=i % 2) for i in range(12)], "event"),   # frames w/o event
])
def test_labels_are_held_back_by_whole_days_or_events(labels, unit):
    split = split_labels(labels)
    assert split.unit == unit
    key = (lambda x: x.day()) if unit == "day" else (lambda x: x.event_id or x.frame_id)
    assert not {key(x) for x in split.train} & {key(x) for x in split.held_back}     # never the same unit
    assert {x.value for x in split.held_back} == {x.value for x in split.train} == {"occupied", "vacant"}
    assert 0.15 <= len(split.held_back) / len(labels) <= 0.5
    assert {x.id for x in split_labels(list(reversed(labels))).held_back} == {x.id for x in split.held_back}


def test_days_that_cannot_be_split_fairly_give_way_to_events():
    # 3 days, but one holds nearly everything: holding back a small day would judge on 1 label
    labels = [label(i, "occupied" if i % 2 else "vacant", event=f"e{i}") for i in range(40)]
    labels += [label(40, "occupied", event="e40", day=1), label(41, "vacant", event="e41", day=2)]
    split = split_labels(labels)
    assert split.unit == "event" and len(split.held_back) >= 10


def test_one_event_cannot_be_split():
    from vision.errors import InputError
    with pytest.raises(InputError, match="at least two events"):
        split_labels([label(i, "vacant" if i % 2 else "occupied", event="e1") for i in range(8)])


def test_scores_are_precision_recall_f1_of_seen():
    s = scores([True, True, False, False, True], [True, False, True, False, True])
    assert (s["precision"], s["recall"], s["f1"], s["accuracy"]) == (0.6667, 0.6667, 0.6667, 0.6)


def test_a_window_head_learns_occupied_from_the_halls_own_labels(trained):
    result = trained["result"]
    [row] = result.rows
    assert row["head"] == OCC and row["version"] == 1 and row["ref"] == f"{OCC}@1"
    assert row["split"] == "event" and row["before"] is None                   # no head judged this window before
    assert row["n_train"] + row["n_held_back"] == len(OCCUPIED) + len(VACANT)
    assert 0.2 <= row["n_held_back"] / (row["n_train"] + row["n_held_back"]) <= 0.45
    assert row["after"]["f1"] >= 0.9 and row["after"]["positives"] >= 3, row["after"]
    assert [s["head"] for s in result.skipped] == [head_name("window_head_down", "w01")]   # nobody put a head down
    assert "(0 with, 62 without so far)" in result.skipped[0]["reason"]
    assert result.activated == [] and HallHeads(trained["store"]).active() == []         # off until asked
    assert trained["seconds"] < 120


def test_the_version_is_a_file_and_an_entry_in_the_halls_own_manifest(trained):
    config = trained["config"]
    manifest = hall_manifest(config)
    assert manifest.parent == config.path(config.storage.heads_dir) and "models/" not in manifest.as_posix()[-20:]
    spec = load_manifest(manifest)[model_name(OCC, 1)]
    assert spec.family == "head" and spec.behaviour == "window_occupied" and spec.backbone == "efficientnet-lite0"
    assert spec.sha256 == file_sha256(spec.file)
    raw = YAML(typ="safe").load(manifest.read_text(encoding="utf-8"))["models"][model_name(OCC, 1)]
    assert (raw["head"], raw["version"], raw["window"]) == (OCC, 1, "w01")
    assert raw["held_back"]["f1"] == trained["result"].rows[0]["after"]["f1"] and raw["held_back"]["split"] == "event"
    [version] = HallHeads(trained["store"]).versions()
    assert version.sha256 == spec.sha256 and version.trained_by == "li" and version.metrics["split"] == "event"
    head = load_head(spec)
    assert head.behaviour == "window_occupied" and 0 < head.threshold < 1


def test_the_recorded_numbers_are_those_of_the_saved_head_on_the_held_back_crops(trained, backbone, frames):
    store = trained["store"]
    head = load_head(get_model(model_name(OCC, 1), hall_manifest(trained["config"])))
    split = split_labels(Teaching(store).labels("window_state"))
    by_event = {f"evt_v{i:03d}": image for i, image in frames.items()}
    crops = [zone_crop(by_event[x.event_id], x.region) for x in split.held_back]
    truth = [x.value == "occupied" for x in split.held_back]
    assert scores(truth, head.decide(backbone.features(crops))) == trained["result"].rows[0]["after"]


def test_with_a_version_on_the_next_run_is_judged_against_it(trained, backbone):
    store, config = trained["store"], trained["config"]
    HallHeads(store).activate(f"{OCC}@1", "admin")
    result = Trainer(config, store, backbone).run(["window_occupied"], "wang", activate=False)
    [row] = result.rows
    assert row["version"] == 2 and row["before"]["name"] == f"{OCC}@1"
    assert row["before"]["scores"] == trained["result"].rows[0]["after"]       # same labels, same split, same head
    assert [v.version for v in HallHeads(store).active()] == [1]               # still v1 until asked
    HallHeads(store).deactivate(OCC, "admin")


def test_cli_train_list_activate_rollback(trained):
    config, store = trained["config"], trained["store"]
    cfg = str(config.base_dir / "cameras.yaml")
    runner = CliRunner()
    out = runner.invoke(main, ["train", "--config", cfg, "--behaviour", "window_occupied", "--by", "zhao"])
    assert out.exit_code == 0, out.output
    assert "never single frames" in out.output
    assert re.search(rf"{OCC}\s+\d+\s+\d+\s+event\s+-\s+\d\.\d\d/\d\.\d\d/\d\.\d\d\s+{OCC}@3 \(before: no head\)",
                     out.output), out.output
    assert f"hallmonitor heads activate {OCC}@3" in out.output
    assert HallHeads(store).run()["status"] == "done" and HallHeads(store).run()["started_by"] == "zhao"

    out = runner.invoke(main, ["heads", "activate", f"{OCC}@3", "--config", cfg, "--by", "admin"])
    assert out.exit_code == 0 and f"{OCC}@3 is on" in out.output
    out = runner.invoke(main, ["heads", "list", "--config", cfg])
    assert re.search(rf"^ON {OCC}@3 ", out.output, re.M) and re.search(rf"^   {OCC}@1 ", out.output, re.M)
    out = runner.invoke(main, ["heads", "activate", f"{OCC}@9", "--config", cfg])
    assert out.exit_code == 2 and f"error: no head version {OCC}@9" in out.output
    out = runner.invoke(main, ["heads", "rollback", "--config", cfg, "--by", "admin"])
    assert out.exit_code == 0, out.output
    assert out.output.strip().startswith(f"rolled back {OCC}: {OCC} is off (was version 3)")
    assert HallHeads(store).active() == []
    out = runner.invoke(main, ["train", "--config", cfg, "--behaviour", "dozing"])
    assert out.exit_code == 2 and "behaviour 'dozing': use one of" in out.output


def test_a_window_state_head_keeps_a_window_staffed_where_the_detector_sees_nobody(trained, frames, analyzer):
    """Presence = detector OR the window's state head: with the detector made blind (person_score 0.99)
    the occupied lawn is staffed only through the head, and the empty lawn is not."""
    from vision.runtime.watch import CameraWatch
    store, base = trained["store"], trained["config"].base_dir
    (base / "blind.yaml").write_text(HALL_YAML + "defaults: {thresholds: {person_score: 0.99, person_confirm_score: "
                                                 "0.99}}\n",
                                    encoding="utf-8")
    blind = load_config(base / "blind.yaml")
    HallHeads(store).activate(f"{OCC}@1", "admin")
    switch = HeadSwitch(blind, store, [analyzer])
    bundled = list(analyzer.heads)
    assert switch.sync() and list(switch.zone) == ["w01"] and analyzer.heads == bundled   # person heads untouched
    watch = CameraWatch(blind, "cam-v", analyzer)
    occupied, vacant = frames[OCCUPIED[12]], frames[VACANT[3]]
    [without] = watch.step(occupied, T0).observations
    assert not without.staff_present and without.zone_state is None            # the blind detector alone
    watch.zone_heads = switch
    step = watch.step(occupied, T0 + 1)
    [obs] = step.observations
    assert obs.staff_present and obs.zone_state["window_occupied"]["seen"] and not obs.persons
    assert obs.staff_seen_by == ["window state head"]                         # the window says why
    assert obs.zone_state["window_occupied"]["p"] > 0.5 and step.timing_ms["zone_heads"] > 0
    [empty] = watch.step(vacant, T0 + 2).observations
    assert not empty.staff_present and empty.zone_state["window_occupied"]["seen"] is False
    HallHeads(store).rollback(OCC, "admin")
    assert switch.sync() and switch.zone == {}


def test_the_running_analyzer_follows_the_switches(tmp_path, media, frames, backbone):
    """A person head of the hall (fitted here on real crops of vtest.avi; what it scores does not
    matter) goes into the analyzer when switched on and out when rolled back."""
    from vision.perception.heads import fit_head
    config, store = make_hall(tmp_path, {})
    crops = [zone_crop(frames[i], zone_polygon()) for i in OCCUPIED[:8] + VACANT[:8]]
    head = fit_head(backbone.features(crops), [True] * 8 + [False] * 8, "phone_in_use",
                    name=model_name(head_name("phone_in_use"), 1), backbone=backbone.name)
    hall_manifest(config).parent.mkdir(parents=True)
    spec = register_head(head, hall_manifest(config), license="test")
    hh = HallHeads(store)
    hh.add_version(head_name("phone_in_use"), "phone_in_use", None, 1, spec.file.name, spec.sha256, {}, "li")
    analyzer = load_analyzer(config.models, config.base_dir)
    bundled = [h.name for h in analyzer.heads]
    assert bundled == list(config.models.heads) and "phone_in_use" not in {h.behaviour for h in analyzer.heads}
    switch = HeadSwitch(config, store, [analyzer])
    bus = cv2.imread(str(media / "ultralytics" / "bus.jpg"))
    assert switch.sync() and [h.name for h in analyzer.heads] == bundled and not switch.sync()   # nothing on
    hh.activate(f"{head_name('phone_in_use')}@1", "admin")
    assert switch.sync() and switch.applied == [f"{head_name('phone_in_use')}@1"]
    assert [h.name for h in analyzer.heads] == bundled + [model_name(head_name("phone_in_use"), 1)]
    found = analyzer.analyze(bus)
    assert found.persons and all(s is not None and 0 <= s["phone_in_use"] <= 1 for s in found.head_scores)
    hh.rollback(None, "admin")
    assert switch.sync() and [h.name for h in analyzer.heads] == bundled
    assert all(s is None or "phone_in_use" not in s for s in analyzer.analyze(bus).head_scores)
    store.close()
