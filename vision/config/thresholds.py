"""thresholds: (under defaults: and per window): the per-frame judgement thresholds, and their override."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from vision.config.base import Strict


class Thresholds(Strict):
    """Per-frame judgement thresholds (observe). Distances are in shoulder widths unless noted."""

    person_score: float = Field(0.35, ge=0, le=1, description="minimum detector score for a person")
    person_confirm_score: float = Field(0.15, ge=0, le=1, description="a person scored from this up to person_score "
                                        "counts when the pose finds a head and shoulders in the box; set it to "
                                        "person_score to count only the detector's score")
    person_sure_score: float = Field(0.50, ge=0, le=1, description="a person the detector scores from "
                                     "person_score up to this, whose box is under small_person_share of the staff "
                                     "zone, counts only when the pose finds a head and shoulders in the box (with "
                                     "person_confirm_score under person_score); on the dev set the top of a bin seen "
                                     "from above and floor stains scored 0.35-0.53 (docs/models.md, \"Doubtful "
                                     "persons\"); set it to person_score to believe the detector from person_score")
    small_person_share: float = Field(0.08, ge=0, le=1, description="a person box under this share of the staff "
                                      "zone's area is small: at a score under person_sure_score it needs a head and "
                                      "shoulders in its pose; 0 = no person is small")
    distinct_staff: bool = Field(True, description="the staff count (and the extra_person rule) counts distinct "
                                 "people: a box on a head already counted, or a headless box mostly inside another "
                                 "staff box, is the same person; every box keeps its behaviours; off: every staff "
                                 "box counts (docs/models.md, \"Distinct staff, session 7\")")
    unsure_beside_staff_wait: bool = Field(True, description="a new person box that needs the pose's "
                                           "confirmation (weak: person_confirm_score up to person_score; doubtful: "
                                           "see person_sure_score) and has no verdict held at its place, in a window "
                                           "that already counts a staff member, waits for the window's confirmation "
                                           "(every 5 s) instead of being posed at once: only an extra person is "
                                           "counted up to one confirmation later; in a window that counts nobody it "
                                           "is posed at once (docs/performance.md section 18); off: posed on arrival")
    object_score: float = Field(0.30, ge=0, le=1, description="minimum score for cups, bottles, food")
    phone_score: float = Field(0.25, ge=0, le=1, description="minimum score for a cell phone")
    hand_phone_score: float = Field(0.30, ge=0, le=1, description="minimum score for a cell phone the hand zoom "
                                    "finds in a staff member's hand square (models.hand_zoom_every_s)")
    phone_head_score: float | None = Field(None, ge=0, le=1, description="probability from a phone_in_use head "
                                           "(models.heads) at or above which the staff member has a phone in use; "
                                           "None: the head's own threshold")
    keypoint_score: float = Field(0.30, ge=0, le=1, description="minimum score for a keypoint to be used")
    staff_zone_overlap: float = Field(0.5, gt=0, le=1, description="share of a person's box inside the staff zone to "
                                                                   "count as staff")
    citizen_zone_overlap: float = Field(0.5, gt=0, le=1)
    counter_overlap: float = Field(0.5, gt=0, le=1, description="share of an object's box on the counter polygon")
    counter_phone_max_share: float = Field(0.4, gt=0, le=1, description="a phone on the counter is at most this "
                                           "share of the counter's length (the longer side of its bounding "
                                           "rectangle); a bigger \"cell phone\" is something else, e.g. a laptop "
                                           "seen from above (docs/models.md, counter zoom); 1 = no limit")
    ear_phone_score: float | None = Field(None, ge=0, le=1, description="minimum score for a cell phone within "
                                          "ear_distance of an ear or eye to count as a phone at the ear (upright, "
                                          "ear_phone_upright); under phone_score such a phone counts for nothing "
                                          "else; None: phone_score")
    ear_phone_upright: float = Field(1.1, ge=0, description="a cell phone within ear_distance of an ear or eye is "
                                     "a phone at the ear only when its box is at least this many times as tall as "
                                     "wide (held to the ear, a phone lies along the jaw); a flatter one there counts "
                                     "as no phone at all, neither at the ear nor in the hand: on photos of people "
                                     "smoking, brushing their teeth or drinking it is the hand with the cigarette, "
                                     "the brush or the cup (docs/models.md, \"Phone at the ear, session 6\"); 0: off")
    hand_distance: float = Field(0.45, gt=0, description="phone centre to wrist, in shoulder widths, to count as held")
    ear_distance: float = Field(0.55, gt=0, description="phone centre to ear/eye, in shoulder widths, for phone at ear")
    mouth_distance: float = Field(0.5, gt=0, description="food/drink or wrist to mouth, in shoulder widths")
    eating_cue_score: float = Field(0.30, ge=0, le=1, description="minimum score for the pose's eating cues: the "
                                    "food/drink detection at the mouth, and the wrist and nose keypoints of a wrist "
                                    "at the mouth (the mouth stage, mouth_object, is judged apart)")
    mouth_object: float = Field(0.3, ge=0, le=1, description="probability of a mouth-held thing (cup, bottle, food) "
                                "around the face at or above which the staff member is eating or drinking")
    food_at_face: float = Field(0.6, ge=0, description="food/drink box to the mouth of the face found, in face widths")
    wrist_at_mouth: float = Field(0.0, ge=0, description="a wrist this close to the pose's mouth, in shoulder "
                                  "widths, is eating (the wrist and nose keypoints scoring eating_cue_score); 0: "
                                  "off, the default: on the dev set it made none of the 48 right eating calls and 4 "
                                  "wrong ones (a hand at the chin, a phone at the ear: docs/models.md, \"Eating, "
                                  "session 7\"); 0.3 was the older rule")
    mouth_food_max_share: float = Field(0.35, gt=0, description="a food or drink box at the mouth counts (for the "
                                        "pose's cue and the face's) only when its longer side is at most this share "
                                        "of the person box's longer side: a cup or a bottle held up is small beside "
                                        "the person; the bigger \"bottles\" and \"wine glasses\" at a mouth on the "
                                        "dev set were the person itself, a seat or a monitor (held drinks 0.15-0.32, "
                                        "those 0.38-1.0 of the person: docs/models.md, \"Eating, session 7\"); "
                                        "the mouth stage (mouth_object) is judged apart; a large value: no limit")
    head_down_tilt: float = Field(0.15, ge=0, description="nose below the eye line by this many shoulder widths")
    pitch_is_head_down: bool = Field(False, description="a head pitched down (ears above the eyes) with the eyes "
                                     "not seen counts as head down; off: on public photos it fired on 6 of 60 people "
                                     "reading, writing or typing and on 1 of 70 sleepers (docs/models.md)")
    head_down_drop: float = Field(0.10, description="eyes below the shoulder line minus this many shoulder widths")
    head_down_unsure_score: float = Field(0.10, ge=0, le=1, description="where the shoulders score under "
                                          "keypoint_score, the shoulder line is still read from shoulder and eye "
                                          "points scoring at least this, for 'eyes at the shoulder line' only (a head "
                                          "on the arms or the desk); keypoint_score or above: off (docs/models.md, "
                                          "Dozing, session 5)")
    min_shoulder_px: float = Field(24.0, gt=0, description="shoulder width in pixels below which the chest is too "
                                                           "small to judge")
    badge_judge: Literal["card", "colour"] = Field("card", description="how a white badge is seen on the chest: "
                                                   "'card', a compact patch white in all channels standing clearly out "
                                                   "of its surround (vision.perception.badge_card); 'colour', the "
                                                   "older patch of the profile's colour of at least badge.min_area. "
                                                   "A profile with a coloured card always uses 'colour' "
                                                   "(docs/models.md, Badge, session 6)")
    badge_card_lift: float = Field(25.0, ge=0, le=255, description="card pixels are at least this much whiter "
                                   "(darkest of B, G, R) than the chest around them (white top-hat)")
    badge_card_whiteness: float = Field(120.0, ge=0, le=255, description="card pixels are at least this white "
                                        "(darkest of B, G, R)")
    badge_card_max_saturation: float = Field(80.0, ge=0, le=255, description="card pixels' highest HSV saturation")
    badge_card_min_lift: float = Field(80.0, ge=0, le=255, description="a card's median lift over its surround: "
                                       "below it the patch is a fold, a skin highlight, a print or a strap, not a "
                                       "card (chosen on rogueloop/princeID chest photos; docs/models.md, Badge, "
                                       "session 6)")
    badge_card_arm_margin: float = Field(0.1, description="a card patch within this many chest widths of a forearm "
                                         "(elbow to wrist) or a wrist is a bare arm or a thing held at the chest, "
                                         "not a worn card; negative: off")
    still_motion: float = Field(0.02, ge=0, le=1, description="changed-pixel share in a head-down person's box below "
                                                              "which they are still")
    face_score: float = Field(0.5, ge=0, le=1, description="face-landmark score below which the eyes are not judged "
                                                           "(unknown)")
    eye_min_px: float = Field(8.0, gt=0, description="eye width (corner to corner) in frame pixels below which the "
                                                     "eyes are unknown")
    eye_turned_ratio: float = Field(0.7, gt=0, le=1, description="narrower eye over the wider one below which the "
                                                                 "head is turned: eyes unknown")
    eye_closed_below: float = Field(0.20, ge=0, description="eyelid gap over eye width at or below which the eyes are "
                                                            "closed (chosen on public eye photos: docs/models.md, "
                                                            "Face and eyes)")
    eye_open_above: float = Field(0.24, ge=0, description="eyelid gap over eye width at or above which the eyes are "
                                                          "open (between: unknown)")


def _patch_model(model: type[BaseModel]) -> type[BaseModel]:
    """The same fields as ``model``, all optional: a per-window override."""
    # every field of these models is annotated (f.annotation is never None)
    fields: dict[str, Any] = {name: (f.annotation | None, None)  # type: ignore[operator]
                              for name, f in model.model_fields.items()}
    return create_model(f"{model.__name__}Override", __config__=ConfigDict(extra="forbid", frozen=True), **fields)


ThresholdsOverride = _patch_model(Thresholds)
