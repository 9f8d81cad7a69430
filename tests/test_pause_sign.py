"""The '暂停服务' sign on the counter, found by template matching on real pictures."""

from __future__ import annotations

import cv2
import numpy as np

from vision.config import BadgeProfile, Thresholds, Window
from vision.observe.frame import observe_window
from vision.perception.detections import FrameDetections
from vision.perception.pause_sign import sign_score


def _frames(media):
    cap = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    frames = []
    for _ in range(2):
        ok, frame = cap.read()
        assert ok
        frames.append(frame)
    cap.release()
    return frames[0]


def test_sign_found_on_the_counter_and_not_elsewhere(media, tmp_path):
    frame = _frames(media)                                     # 768x576 real footage
    sign_photo = cv2.imread(str(media / "opencv" / "messi5.jpg"))[60:200, 200:330]   # a real picture as the sign
    template = tmp_path / "sign.png"
    cv2.imwrite(str(template), sign_photo)
    with_sign = frame.copy()
    small = cv2.resize(sign_photo, (65, 70))
    with_sign[430:500, 300:365] = small                        # the sign stands on the counter
    counter = (250, 420, 520, 520)
    assert sign_score(with_sign, counter, template) > 0.8
    assert sign_score(frame, counter, template) < 0.5          # the same counter without the sign

    window = Window(id="w", staff_zone=[(0, 0), (1, 0), (1, 0.7)],
                    counter=[(250 / 768, 420 / 576), (520 / 768, 420 / 576),
                             (520 / 768, 520 / 576), (250 / 768, 520 / 576)],
                    pause_sign={"template": template, "threshold": 0.7})
    empty = FrameDetections(768, 576)
    assert observe_window(empty, window, Thresholds(), BadgeProfile(), image=with_sign).pause_sign is True
    assert observe_window(empty, window, Thresholds(), BadgeProfile(), image=frame).pause_sign is False
    no_template = Window(id="w2", staff_zone=window.staff_zone, counter=window.counter)
    assert observe_window(empty, no_template, Thresholds(), BadgeProfile(), image=frame).pause_sign is None
