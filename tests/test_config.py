"""cameras.yaml validation: every error names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision.config import load_config, parse_config
from vision.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
cameras:
  - id: cam1
    url: rtsp://127.0.0.1:8554/cam1
    windows:
      - id: w1
        staff_zone: [[0, 0], [1, 0], [1, 0.6]]
        counter: [[0, 0.6], [1, 0.6], [1, 0.8]]
"""


def test_bundled_cameras_yaml_is_valid():
    cfg = load_config(ROOT / "cameras.yaml")
    assert [w.id for w in cfg.cameras[0].windows] == ["w01", "w02"]
    w02 = cfg.cameras[0].windows[1]
    assert cfg.rules(w02).unattended.dwell_s == 90
    assert cfg.rules(w02).phone_use.dwell_s == 30            # inherited
    assert cfg.schedule.timezone == "Asia/Shanghai"


def test_window_overrides_merge_with_defaults():
    text = GOOD + "        thresholds: {phone_score: 0.5}\n        rules: {eating: {dwell_s: 5}}\n"
    cfg = parse_config(text)
    win = cfg.cameras[0].windows[0]
    assert cfg.thresholds(win).phone_score == 0.5 and cfg.thresholds(win).person_score == 0.35
    assert cfg.rules(win).eating.dwell_s == 5 and cfg.rules(win).eating.grace_s == 10


@pytest.mark.parametrize("text, line, key, words", [
    (GOOD.replace("staff_zone: [[0, 0], [1, 0], [1, 0.6]]", "staff_zone: [[0, 0], [1, 0]]"),
     6, "cameras[0].windows[0].staff_zone", "at least 3 points"),
    (GOOD.replace("[1, 0.6]]\n", "[1, 1.6]]\n", 1), 6, "cameras[0].windows[0].staff_zone", "relative"),
    (GOOD.replace("    url:", "    ur1:"), 3, "cameras[0].ur1", "unknown key"),
    (GOOD.replace("    url: rtsp://127.0.0.1:8554/cam1\n", ""), 2, "cameras[0].url", "missing"),
    (GOOD + "        staff: many\n", 8, "cameras[0].windows[0].staff", "integer"),
    (GOOD + "        rules: {unattended: {dwell: 5}}\n", 8, "cameras[0].windows[0].rules.unattended.dwell",
     "unknown key"),
    ("schedule:\n  timezone: Mars/Olympus\n" + GOOD, 2, "schedule.timezone", "time zone"),
    ("schedule:\n  hours: {mon-fri: ['9-12']}\n" + GOOD, 2, "schedule.hours", "09:00-12:00"),
    (GOOD + GOOD.replace("cameras:\n", "").replace("cam1", "cam2"), 11, "cameras[1].windows[0].id",
     "'w1' is used twice"),
    (GOOD.replace("id: cam1", "id: '..'"), 2, "cameras[0].id", "an id is letters, digits"),
    (GOOD.replace("id: w1", "id: ../w1"), 5, "cameras[0].windows[0].id", "an id is letters, digits"),
    (GOOD + "        pause_sign: {template: signs/none.png}\n", 8, "cameras[0].windows[0].pause_sign.template",
     "no such file"),
    ("models:\n  counter_zoom_turns: [45, 400]\n" + GOOD, 2, "models.counter_zoom_turns[1]", "less than or equal to 359"),
    ("models:\n  counter_zoom_turns: [45, 45]\n" + GOOD, 2, "models.counter_zoom_turns", "each turn once"),
])
def test_errors_name_line_and_key(text, line, key, words):
    with pytest.raises(ConfigError) as err:
        parse_config(text, source="halls/cameras.yaml")
    msg = str(err.value)
    assert f"halls/cameras.yaml:{line}: {key}" in msg, msg
    assert words in msg


def test_yaml_syntax_error_has_line():
    with pytest.raises(ConfigError, match=r"cameras.yaml:4: not valid YAML"):
        parse_config("cameras:\n  - id: c\n    url: x\n   windows: [\n")


def test_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")


def test_unknown_camera():
    cfg = parse_config(GOOD)
    with pytest.raises(ConfigError, match="no camera 'x'.*cam1"):
        cfg.camera("x")


def test_a_pause_sign_that_is_not_an_image_is_refused_at_load(tmp_path):
    (tmp_path / "sign.png").write_text("not a picture")
    (tmp_path / "cameras.yaml").write_text(GOOD + "        pause_sign: {template: sign.png}\n")
    with pytest.raises(ConfigError, match=r"cameras.yaml:8: cameras\[0\].windows\[0\].pause_sign.template: .*sign.png "
                                          r"is not an image"):
        load_config(tmp_path / "cameras.yaml")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "cameras.yaml"
    big.write_text(GOOD + "#" * (2 << 20))
    with pytest.raises(ConfigError, match=r"cameras.yaml: the config is 2.1 MB"):
        load_config(big)


def test_a_yaml_alias_bomb_is_refused_quickly():
    import time
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    text = "defaults:\n  bomb:\n" + "\n".join("    " + line for line in levels) + "\n" + GOOD
    t0 = time.monotonic()
    with pytest.raises(ConfigError, match=r"bomb.yaml: the config expands to more than 200,000 values"):
        parse_config(text, source="bomb.yaml")
    assert time.monotonic() - t0 < 10


def test_the_ring_reaches_back_over_the_longest_dwell_and_warns_beyond_what_it_keeps():
    from vision.runtime.worker import ring_seconds
    cfg = parse_config(GOOD)
    # long_call's 180 s dwell is the longest by default: its clip starts 10 s before the dwell began
    assert ring_seconds(cfg, cfg.cameras[0]) >= 10 + 180 + 20
    assert cfg.clip_warnings() == []
    off = parse_config(GOOD + "        rules: {long_call: {enabled: false}, badge_absent: {enabled: false}}\n")
    assert ring_seconds(off, off.cameras[0]) == 10 + 120 + 20 + 5         # extra_person is then the longest
    long = parse_config("defaults:\n  rules:\n    long_call: {dwell_s: 900}\n" + GOOD)
    [warning] = long.clip_warnings()
    assert "window w1: long_call.dwell_s 900 s" in warning and "more than the 600 s" in warning
