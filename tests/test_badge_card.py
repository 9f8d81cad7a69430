"""The white-card badge judge (vision.perception.badge_card) on real photos through the product's path.

Nobody in these photos wears a work badge: what the older colour judge took for one (a shirt's print) must
not be a badge any more, while a small name tag put on a real person's chest is found, where the colour
judge's 3 % area floor misses it.
"""

from __future__ import annotations

import cv2
import pytest

from vision.analysis.photo import analyze_image
from vision.config import BadgeProfile, Thresholds
from vision.observe.observations import distinct
from vision.perception.badge import chest_region, judge_badge

COLOUR = Thresholds(badge_judge="colour")   # the judge before session 6


def _persons(path, analyzer):
    result = analyze_image(path, analyzer)
    persons, _ = distinct(result.observations)
    return result.image, sorted(persons, key=lambda p: -(p.box[2] - p.box[0]) * (p.box[3] - p.box[1]))


@pytest.fixture(scope="module")
def printed_shirt(media, analyzer):
    """basketball2.png: the man on the right wears a flower-print shirt; no badge."""
    image, persons = _persons(media / "opencv" / "basketball2.png", analyzer)
    return image, persons[0]


@pytest.fixture(scope="module")
def suited_man(media, analyzer):
    """zidane.jpg: the man on the right, dark suit, a white cuff and a hand across the chest; no badge."""
    image, persons = _persons(media / "ultralytics" / "zidane.jpg", analyzer)
    seen = [p for p in persons if p.pose is not None and chest_region(p.pose, Thresholds())[0] is not None]
    return image, max(seen, key=lambda p: p.box[0])


def test_a_shirt_print_is_no_badge(printed_shirt):
    image, person = printed_shirt
    old = judge_badge(image, person.pose, [], set(), BadgeProfile(), COLOUR)
    assert old.badge is True, old                      # the colour judge took a white flower for a card
    new = judge_badge(image, person.pose, [], set(), BadgeProfile(), Thresholds())
    assert new.badge is False and new.reason == "no badge on the chest", new
    assert person.badge is False                       # the Analyzer's own verdict, through analyze's path


def test_a_bare_forearm_across_the_chest_is_no_badge(media, analyzer):
    """basketball1.png (grey): the man on the left holds the ball, his bare forearm across his dark shirt is
    as white as a card there; the pose sees the arm, so it is no badge."""
    image, persons = _persons(media / "opencv" / "basketball1.png", analyzer)
    seen = [p for p in persons if p.pose is not None and chest_region(p.pose, Thresholds())[0] is not None]
    player = min(seen, key=lambda p: p.box[0])
    no_arm_cue = judge_badge(image, player.pose, [], set(), BadgeProfile(), Thresholds(badge_card_arm_margin=-1))
    assert no_arm_cue.badge is True, no_arm_cue
    verdict = judge_badge(image, player.pose, [], set(), BadgeProfile(), Thresholds())
    assert verdict.badge is False, verdict


def test_a_small_name_tag_on_a_real_chest_is_found(suited_man):
    image, person = suited_man
    chest, _ = chest_region(person.pose, Thresholds())
    assert judge_badge(image, person.pose, [], set(), BadgeProfile(), Thresholds()).badge is False
    x1, y1, x2, y2 = (int(v) for v in chest)
    tagged = image.copy()
    w = max(8, (x2 - x1) // 5)                          # a name tag: a fifth of the chest wide, half as tall
    h = max(4, w // 2)
    tx, ty = x1 + (x2 - x1) // 6, y1 + (y2 - y1) // 5
    cv2.rectangle(tagged, (tx, ty), (tx + w, ty + h), (245, 245, 245), -1)
    cv2.line(tagged, (tx + 2, ty + h // 2), (tx + w - 3, ty + h // 2), (40, 40, 40), 1)   # the name
    share = w * h / float((x2 - x1) * (y2 - y1))
    assert share < BadgeProfile().min_area             # under the colour judge's area floor
    old = judge_badge(tagged, person.pose, [], set(), BadgeProfile(), COLOUR)
    assert old.badge is False, old
    new = judge_badge(tagged, person.pose, [], set(), BadgeProfile(), Thresholds())
    assert new.badge is True and new.reason.startswith("white card on the chest"), new
    px1, py1, px2, py2 = new.patch
    assert px1 <= tx + w / 2 <= px2 and py1 <= ty + h / 2 <= py2     # and it is the tag that was found


def test_a_coloured_badge_profile_keeps_the_colour_judge(suited_man):
    image, person = suited_man
    chest, _ = chest_region(person.pose, Thresholds())
    x1, y1, x2, y2 = (int(v) for v in chest)
    carded = image.copy()
    cv2.rectangle(carded, (x1 + 4, y1 + 4), (x1 + 4 + (x2 - x1) // 3, y1 + 4 + (y2 - y1) // 3), (200, 60, 20), -1)
    blue = BadgeProfile(colors=["#1440c8"])
    assert judge_badge(carded, person.pose, [], set(), blue, Thresholds()).reason == "badge-coloured card on the chest"
