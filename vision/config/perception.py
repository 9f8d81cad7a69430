"""models: and badge: which models look at the frames, how often, and how the hall's work badge looks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator

from vision.config.base import Strict
from vision.perception.heads import DEFAULT_HEADS
from vision.perception.turned_looks import DEFAULT_TURNS, TURNED_PHONE_SCORE


class ModelChoice(Strict):
    manifest: Path = Path("models/models.yaml")
    detector: str = "nanodet"
    presence_detector: str | None = Field(None, description="detect model of the presence pass (the frame or "
                                          "the zones, every analysis); the crop pass, the zooms and the weak persons "
                                          "the pose confirms keep `detector`; auto: the detector's int8 twin "
                                          "(<detector>-int8) if the manifest has it; null (the default): the detector; "
                                          "with auto staff_present lost beyond noise on the dev set "
                                          "(docs/performance.md section 13)")
    presence_max_stretch: float | None = Field(1.5, ge=1, description="the presence pass (the windows' zones, or a "
                                               "photo's frame) at the rectangle's own aspect, its longer side at the "
                                               "detector's input size and its shorter side stretched at most this "
                                               "many times more (a 1280 x 439 rectangle: 416 x 160 at 1, 416 x 224 at "
                                               "1.5, 416 x 288 at 2; a 4:3 photo keeps the square from 1.34); null: "
                                               "stretched to the detector's square, as before; only a detector of "
                                               "free input size (nanodet) takes it, the static files (nanodet-int8, "
                                               "YOLO) keep their square. At 1.5 the walkway's presence pass costs 54 % "
                                               "of the square's and finds more people (docs/performance.md section 17)")
    pose: str | None = "movenet-lightning"
    threads: int = Field(0, ge=0, description="onnxruntime intra-op threads per session; 0 = 1 with several sessions, "
                                              "else all cores")
    sessions: int = Field(0, ge=0, le=16, description="model sessions shared by all cameras; 0 = one per core")
    crop_pass: bool = Field(True, description="a second detector pass on each staff member's crop: finds small "
                                              "phones and cups, costs about one more detection per staff member; "
                                              "it looks four times per dwell of the shortest rule it serves "
                                              "(phone, call, eating, badge) and its finds hold in between")
    counter_zoom_every_s: float = Field(10.0, ge=0, description="look at each counter in tiles of the detector's "
                                        "input size this often (flat phones, cups), when the counter changed; "
                                        "what it finds holds until the next look; 0 = off")
    counter_zoom_turns: list[Annotated[int, Field(ge=1, le=359)]] = Field(
        default_factory=lambda: list(DEFAULT_TURNS),
        description="the counter zoom also looks at each tile turned by these degrees clockwise (1-359), for phones "
                    "lying across or at a slant, which the detector (trained on upright phones in hands) misses; each "
                    "turn is one more detector pass per tile; on a camera the turned looks run once per dwell of the "
                    "phone_on_counter rule (30 s), and with each upright look where they hold a phone; a photo gets "
                    "every look; [] = upright only (docs/models.md, \"Phone on the counter, session 6\"; "
                    "docs/performance.md section 16)")
    counter_zoom_turned_score: float = Field(TURNED_PHONE_SCORE, ge=0, le=1,
                                             description="minimum score for a cell phone a turned look at a "
                                             "counter tile finds (an upright look's phones need "
                                             "thresholds.phone_score)")
    hand_zoom_every_s: float = Field(0.0, ge=0, description="look at each staff member's hands in squares of the "
                                     "detector's input size this often (phones in hand or at the ear), e.g. 5; what "
                                     "it finds holds until the next look (the phone rule's dwell is 30 s); 0 = off "
                                     "(the default: with the bundled NanoDet it did not beat the geometry, "
                                     "docs/models.md)")
    backbone: str = Field("efficientnet-lite0", description="the crop backbone whose features the heads read")
    heads: list[str] = Field(default_factory=lambda: list(DEFAULT_HEADS),
                             description="behaviour heads (model names in the manifest) run on each staff "
                                         "member's crop; default: the shipped heads; [] switches them off")
    face_every_s: float = Field(5.0, ge=0, description="read the staff's faces and eyes this often per window "
                                "(when its staff zone changed; at least every 10 s); "
                                "between reads each person keeps the last reading of the person at the same "
                                "place (the sleeping rule's dwell is 90 s); 0 = every analysis")
    face: str | None = Field("blazeface-short", description="face detector on each staff member's head; None: no face "
                                                            "stage")
    landmarks: str | None = Field("facemesh", description="face landmarks on each face found; None: eyes unknown")
    eyes: str | None = Field("iris", description="eyelid and iris model on each eye; None: eyes unknown")
    segmenter: str | None = Field("selfie", description="person segmentation for the windows where the detector "
                                  "found nobody: a weak person box (score >= 0.1) made of person pixels counts as a "
                                  "person (docs/models.md, \"Person pixels\"); None: it does not")
    mouth: str | None = Field("lite0-mouth-objects", description="what is held at each face's mouth (a cup, a "
                              "bottle, food): the backbone's ImageNet classes on the square around the face, "
                              "with the face stage; None: eating is judged by the detector's objects only")

    @field_validator("counter_zoom_turns")
    @classmethod
    def _distinct_turns(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError(f"each turn once, got {value}")
        return value


class BadgeProfile(Strict):
    """How this hall's work badge looks on the chest."""

    colors: list[str] = Field(default_factory=lambda: ["#ffffff"], description="card or lanyard colours, #rrggbb")
    hue_tolerance: int = Field(12, ge=1, le=90)
    min_saturation: int = Field(0, ge=0, le=255)
    max_saturation: int = Field(60, ge=0, le=255)
    min_value: int = Field(170, ge=0, le=255)
    min_area: float = Field(0.03, gt=0, le=1, description="badge area over chest region area, lower bound")
    max_area: float = Field(0.35, gt=0, le=1, description="upper bound: a bigger patch is a shirt, not a card")
    detector_labels: list[str] = Field(default_factory=lambda: ["badge"], description="detector classes that are a "
                                                                                      "badge when in the chest region")

    @field_validator("colors")
    @classmethod
    def _hex(cls, value: list[str]) -> list[str]:
        for c in value:
            if not re.fullmatch(r"#[0-9a-fA-F]{6}", c):
                raise ValueError(f"colour {c!r} must be #rrggbb")
        return value
