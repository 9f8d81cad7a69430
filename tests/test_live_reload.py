"""Live reload on a real running hall: a real RTSP camera, the real models and the supervisor watching
its cameras.yaml. A changed dwell or zone reaches the worker within 5 s, the other window keeps its
rule state, a broken file is refused with file, line and key while the old config keeps running, and
a camera added to the file starts."""

from __future__ import annotations

import logging
import time

import pytest

from tests.rtsp_fixtures import camera_stream, rtsp_server  # noqa: F401
from tests.test_live_pipeline import hall_yaml
from vision.config import load_config
from vision.runtime.supervisor import Supervisor

pytestmark = pytest.mark.slow

APPLY_S = 5.0


def apply_deadline(worker) -> float:
    """5 s, plus the frame the worker may be analysing when the file changes (a config applies between
    two frames): on a quiet machine that is well under a second, on one with a load of 30 it is not."""
    return APPLY_S + 2 * worker.step_ms / 1000


def wait_for(check, timeout: float, what: str) -> float:
    """Seconds until ``check()`` holds; fails naming ``what``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if check():
            return time.monotonic() - t0
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}")


def test_edits_reach_the_running_worker(rtsp_server, tmp_path, analyzer, caplog):
    path = tmp_path / "cameras.yaml"
    path.write_text(hall_yaml(tmp_path, {"cam1": rtsp_server.urls["cam1"]}), encoding="utf-8")
    sup = Supervisor(load_config(path), analyzer=analyzer, config_path=path).start()
    seen: list = []
    sup.config_listeners.append(seen.append)
    try:
        worker = sup.workers["cam1"]
        wait_for(lambda: worker.steps >= 2, 30, "the camera analysed two frames")
        busy = worker.watch.rules["cam1-busy"]
        busy_machines = dict(busy.machines)
        changed_rules = worker.watch.rules["cam1-w"]
        assert changed_rules.machines["unattended"].settings.dwell_s == 3

        # 1. a rule's dwell, per window (the file's own override block), by a plain text edit
        text = path.read_text(encoding="utf-8")
        edited = text.replace("      - id: cam1-w\n", "      - id: cam1-w\n        rules: {unattended: {dwell_s: 7}}\n")
        path.write_text(edited, encoding="utf-8")
        took = wait_for(lambda: worker.watch.rules["cam1-w"].machines["unattended"].settings.dwell_s == 7,
                        apply_deadline(worker), "the new dwell in the running worker")
        assert sup.workers["cam1"] is worker, "a rule change must not restart the camera"
        assert worker.watch.rules["cam1-busy"] is busy and busy.machines == busy_machines, \
            "the unchanged window lost its rule state"
        assert busy.machines["unattended"].settings.dwell_s == 3
        assert worker.watch.rules["cam1-w"] is changed_rules, "the changed window's state (dwell so far, open events) " \
                                                               "must go on under the new settings"
        assert seen and seen[-1].rules(seen[-1].cameras[0].windows[0]).unattended.dwell_s == 7
        steps = worker.steps
        wait_for(lambda: worker.steps > steps, 20, "the worker kept analysing after the change")

        # 2. a zone: the worker's observations use the new staff zone
        new_zone = "[[0.10, 0.10], [0.40, 0.10], [0.40, 0.40], [0.10, 0.40]]"
        path.write_text(edited.replace("[[0.50, 0.15], [0.70, 0.15], [0.70, 0.35], [0.50, 0.35]]", new_zone),
                        encoding="utf-8")
        took_zone = wait_for(lambda: worker.camera.windows[0].staff_zone[0] == (0.10, 0.10)
                             and worker.watch.camera.windows[0].staff_zone[0] == (0.10, 0.10),
                             apply_deadline(worker), "the new zone in the running worker")
        applied_at = worker.config_applied_at
        steps = worker.steps
        wait_for(lambda: worker.steps > steps + 1, 30, "frames analysed with the new zone")
        assert worker.watch._geometry is not None and worker.config_applied_at == applied_at

        # 3. a broken file: refused with file, line and key; the running config stays
        good = path.read_text(encoding="utf-8")
        caplog.set_level(logging.ERROR, logger="vision.runtime.reload")
        path.write_text(good.replace("dwell_s: 7", "dwell_s: -5"), encoding="utf-8")
        wait_for(lambda: any("refused" in r.getMessage() for r in caplog.records), APPLY_S, "the refusal logged")
        line = next(r.getMessage() for r in caplog.records if "refused" in r.getMessage())
        bad_line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if "dwell_s: -5" in ln)
        assert f"{path}:{bad_line}: cameras[0].windows[0].rules.unattended.dwell_s" in line, line
        assert worker.watch.rules["cam1-w"].machines["unattended"].settings.dwell_s == 7
        assert sup.config.rules(sup.config.cameras[0].windows[0]).unattended.dwell_s == 7
        steps = worker.steps
        wait_for(lambda: worker.steps > steps, 20, "the old config kept running")

        # 4. a second camera added to the file starts; taken out again, it stops
        both = hall_yaml(tmp_path, {"cam1": rtsp_server.urls["cam1"], "cam2": rtsp_server.urls["cam2"]})
        path.write_text(both, encoding="utf-8")
        wait_for(lambda: "cam2" in sup.workers and sup.workers["cam2"].steps >= 1, 20, "camera cam2 running")
        assert sup.workers["cam1"] is worker
        path.write_text(good, encoding="utf-8")
        wait_for(lambda: "cam2" not in sup.workers, apply_deadline(worker), "camera cam2 stopped")
        print(f"dwell applied in {took:.2f} s, zone in {took_zone:.2f} s (last frame analysed in "
              f"{worker.step_ms / 1000:.2f} s)")
    finally:
        sup.stop()


BASE = hall_yaml(__import__("pathlib").Path("/tmp/hm-plan"), {"cam1": "rtsp://127.0.0.1:9/a", "cam2": "rtsp://127.0.0.1:9/b"})


@pytest.mark.parametrize("edit, expect", [
    (lambda s: s, {}),
    (lambda s: s.replace("rtsp://127.0.0.1:9/b", "rtsp://127.0.0.1:9/c"), {"restart": ["cam2"]}),
    (lambda s: s.replace("dwell_s: 3, grace_s: 2.5, cooldown_s: 5, update_every_s: 2}\n    extra",
                         "dwell_s: 9, grace_s: 2.5, cooldown_s: 5, update_every_s: 2}\n    extra"),
     {"windows": ["cam1", "cam2"]}),
    (lambda s: s.replace('["00:00-24:00"]', '["08:00-18:00"]'), {"windows": ["cam1", "cam2"]}),
    (lambda s: s.replace("  - id: cam2\n", "  - id: cam2\n    enabled: false\n"), {"stop": ["cam2"]}),
    (lambda s: s.replace("storage: {", "storage: {retention_days: 3, "), {"needs_restart": ["storage"]}),
])
def test_plan_changes(edit, expect):
    from vision.config import parse_config
    from vision.runtime.reload import plan_changes
    got = plan_changes(parse_config(BASE), parse_config(edit(BASE)))
    for key in ("start", "stop", "restart", "windows", "needs_restart"):
        assert getattr(got, key) == expect.get(key, []), key
