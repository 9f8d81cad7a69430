"""Weak persons confirmed by their pose: a person the detector scores under the bar counts when
MoveNet finds a confident head and shoulders inside its box; parts of a person already found, a
blurred crowd and a door with a ball in front of it do not."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from vision.analyze import analyze_image
from vision.detect import load_analyzer

MEDIA = Path(__file__).resolve().parent.parent / ".cache" / "media"


@pytest.fixture(scope="module")
def analyzer():
    return load_analyzer()


def _left_man(frame):
    return [(d, c) for d, c in zip(frame.persons, frame.confirmed) if (d.box[0] + d.box[2]) / 2 < 200 and d.height > 200]


@pytest.mark.parametrize("name", ["basketball1.png", "basketball2.png"])
def test_the_man_the_detector_scores_low_is_found_by_his_pose(analyzer, name):
    image = cv2.imread(str(MEDIA / "opencv" / name))
    plain = analyzer.analyze(image, person_min_score=0.35)                    # no confirmation asked
    assert _left_man(plain) == []
    frame = analyzer.analyze(image, person_min_score=0.35, confirm_min_score=0.15)
    [(man, confirmed)] = _left_man(frame)
    assert confirmed and man.score < 0.35
    assert len(frame.persons) == len(plain.persons) + 1                        # him, and nobody else
    i = frame.persons.index(man)
    assert frame.poses[i] is not None                                          # its pose is kept, not run twice


def test_analyze_counts_him_as_staff_and_says_why(analyzer):
    res = analyze_image(MEDIA / "opencv" / "basketball1.png", analyzer)
    confirmed = [p for p in res.to_json()["persons"] if p["evidence"].get("confirmed_by")]
    assert len(confirmed) == 1 and confirmed[0]["staff"] and confirmed[0]["score"] < 0.35


def test_no_extra_person_from_a_blurred_crowd_or_a_part_of_someone(analyzer):
    res = analyze_image(MEDIA / "ultralytics" / "zidane.jpg", analyzer)
    assert len(res.frame.persons) == 2 and not any(res.frame.confirmed)
    res = analyze_image(MEDIA / "ultralytics" / "bus.jpg", analyzer)
    assert not any(res.frame.confirmed)
