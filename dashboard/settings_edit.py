"""The settings forms as edits of cameras.yaml's round-trip tree: service hours, rules, the badge
profile, cameras. Each ``*_edit`` takes what the form sent (field name -> text) and returns the edit
``dashboard.zones.edit_config`` applies, plus ``field_of`` that names the form field a config error's
key belongs to, so the page shows the error next to it. The text is validated by the config's own
pydantic models (``parse_config``); a number the user mistyped is left as text for pydantic to refuse.
No writing here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from vision.config import BEHAVIOURS, Rules
from vision.errors import InputError
from vision.media.capture import mask_url

RULE_KINDS: tuple[str, ...] = tuple(Rules.model_fields)          # the dwell rules, then late_opening
BADGE_NUMBERS = ("hue_tolerance", "min_saturation", "max_saturation", "min_value", "min_area", "max_area")
CAMERA_FIELDS = ("name", "url", "enabled", "analysis_fps")
# a new camera's first window, to be drawn in the zone editor
NEW_STAFF_ZONE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.6], [0.1, 0.6]]
NEW_COUNTER = [[0.0, 0.6], [1.0, 0.6], [1.0, 0.8], [0.0, 0.8]]
MAX_ROWS = 30


@dataclass
class Edit:
    apply: Callable[[CommentedMap], None]
    field_of: Callable[[tuple], str | None]
    row_errors: dict[str, list[dict]] = field(default_factory=dict)   # checked before the whole file


def value(text: str):
    """What a form's text is in YAML: a number when it reads as one, else the text (pydantic says why)."""
    text = (text or "").strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def flow(items) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def set_list(parent: CommentedMap, key: str, items: list) -> None:
    """``parent[key] = items``, in place when it is already a list (its comments and style stay)."""
    old = parent.get(key)
    if isinstance(old, CommentedSeq):
        if list(old) != items:
            del old[:]
            old.extend(items)
    else:
        parent[key] = flow(items)


def set_or_drop(parent: CommentedMap, key: str, new, keep_default=None) -> None:
    """Set ``key``; drop it when the form left it blank (None) or it equals ``keep_default`` and was not there."""
    if new is None or (keep_default is not None and new == keep_default and key not in parent):
        if key in parent:
            del parent[key]
        return
    if parent.get(key) != new or type(parent.get(key)) is not type(new):
        parent[key] = new


def section(tree: CommentedMap, *keys: str) -> CommentedMap:
    node = tree
    for key in keys:
        if not isinstance(node.get(key), dict):
            node[key] = CommentedMap()
        node = node[key]
    return node


def split_list(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,，;；]+", text or "") if p]


# ---- service hours, breaks, closed dates ----

def hours_rows(form: Mapping[str, str]) -> list[tuple[int, str, str]]:
    rows = []
    for i in range(MAX_ROWS):
        days, periods = (form.get(f"days_{i}") or "").strip(), (form.get(f"periods_{i}") or "").strip()
        if days or periods:
            rows.append((i, days, periods))
    return rows


def hours_edit(form: Mapping[str, str]) -> Edit:
    from pydantic import ValidationError

    from vision.config import Schedule

    rows = hours_rows(form)
    row_errors: dict[str, list[dict]] = {}
    for i, days, periods in rows:       # each row through the schedule model first: the error lands on its row
        try:
            Schedule.model_validate({"hours": {days: split_list(periods)}})
        except ValidationError as exc:
            row_errors[f"periods_{i}"] = [{"loc": ("schedule", "hours"), "type": e["type"], "ctx": e.get("ctx") or {},
                                           "msg": e["msg"].removeprefix("Value error, ")} for e in exc.errors()]
    closed_text = split_list(form.get("closed", ""))

    def apply(tree: CommentedMap) -> None:
        sched = section(tree, "schedule")
        set_or_drop(sched, "timezone", (form.get("timezone") or "").strip() or None)
        old: CommentedMap | None = sched["hours"] if isinstance(sched.get("hours"), CommentedMap) else None
        hours = CommentedMap()
        for _i, days, periods in rows:
            items = split_list(periods)
            prev = old.get(days) if old is not None else None
            if old is not None and isinstance(prev, CommentedSeq):
                set_list(old, days, items)
                hours[days] = old[days]
            else:
                hours[days] = flow(items)
        if old is not None and list(old.keys()) == list(hours.keys()):
            pass                              # the same days: edited in place, comments kept
        else:
            sched["hours"] = hours
        closed: list[date | str] = []
        for text in closed_text:
            try:
                closed.append(date.fromisoformat(text))
            except ValueError:
                closed.append(text)           # the schedule model refuses it, naming the entry
        set_list(sched, "closed", closed)

    def field_of(loc: tuple) -> str | None:
        if loc[:2] == ("schedule", "timezone"):
            return "timezone"
        if loc[:2] == ("schedule", "closed"):
            return "closed"
        if loc[:2] == ("schedule", "hours"):
            return "hours"
        return None

    return Edit(apply, field_of, row_errors)


# ---- rules: dwell and on/off, for the hall and per window ----

def rule_key(kind: str) -> str:
    return "dwell_s" if kind in BEHAVIOURS else "lead_s"


def _windows(tree: CommentedMap) -> list[tuple[int, int, dict]]:
    out = []
    for i, cam in enumerate(tree.get("cameras") or []):
        if isinstance(cam, dict):
            for j, win in enumerate(cam.get("windows") or []):
                if isinstance(win, dict):
                    out.append((i, j, win))
    return out


def rules_edit(form: Mapping[str, str], current: Rules | None = None) -> Edit:
    """``current``: the hall's default rules now; a default the form leaves as it is, and the file does
    not spell out, is not written (the file stays as short as people wrote it)."""
    where: dict[tuple[int, int], str] = {}
    current = current or Rules()

    def apply(tree: CommentedMap) -> None:
        had_defaults = isinstance(tree.get("defaults"), dict) and isinstance(tree["defaults"].get("rules"), dict)
        defaults = section(tree, "defaults", "rules")
        for kind in RULE_KINDS:
            key = rule_key(kind)
            rule = defaults.get(kind)
            if not isinstance(rule, dict):
                rule = defaults[kind] = CommentedMap()
                rule.fa.set_flow_style()
            amount = (form.get(f"d.{kind}.{key}") or "").strip()
            now = getattr(current, kind)
            if key in rule or value(amount) != getattr(now, key):
                set_or_drop(rule, key, value(amount) if amount else None)
            on = form.get(f"d.{kind}.enabled") == "1"
            if "enabled" in rule or on != now.enabled:
                set_or_drop(rule, "enabled", on, keep_default=True)
            if not rule:
                del defaults[kind]
        if not defaults and not had_defaults:
            del tree["defaults"]["rules"]
            if not tree["defaults"]:
                del tree["defaults"]
        for i, j, win in _windows(tree):
            wid = str(win.get("id"))
            where[(i, j)] = wid
            rules: dict = win["rules"] if isinstance(win.get("rules"), dict) else CommentedMap()
            for kind in RULE_KINDS:
                key = rule_key(kind)
                amount = (form.get(f"w.{wid}.{kind}.{key}") or "").strip()
                switch = form.get(f"w.{wid}.{kind}.enabled") or ""
                rule = rules.get(kind) if isinstance(rules.get(kind), dict) else None
                if rule is None and not amount and not switch:
                    continue
                if rule is None:
                    rule = CommentedMap()
                    rule.fa.set_flow_style()
                    rules[kind] = rule
                set_or_drop(rule, key, value(amount) if amount else None)
                set_or_drop(rule, "enabled", {"on": True, "off": False}.get(switch))
                if not rule:
                    del rules[kind]
            if rules and "rules" not in win:
                win["rules"] = rules
            elif not rules and "rules" in win:
                del win["rules"]

    def field_of(loc: tuple) -> str | None:
        if loc[:2] == ("defaults", "rules") and len(loc) >= 4:
            return f"d.{loc[2]}.{loc[3]}"
        if len(loc) >= 7 and loc[0] == "cameras" and loc[2] == "windows" and loc[4] == "rules":
            wid = where.get((loc[1], loc[3]))
            return f"w.{wid}.{loc[5]}.{loc[6]}" if wid else None
        return None

    return Edit(apply, field_of)


# ---- the badge profile ----

def badge_edit(form: Mapping[str, str]) -> Edit:
    def apply(tree: CommentedMap) -> None:
        badge = section(tree, "badge")
        set_list(badge, "colors", split_list(form.get("colors", "")))
        set_list(badge, "detector_labels", split_list(form.get("detector_labels", "")))
        for key in BADGE_NUMBERS:
            text = (form.get(key) or "").strip()
            set_or_drop(badge, key, value(text) if text else None)

    def field_of(loc: tuple) -> str | None:
        return str(loc[1]) if loc[:1] == ("badge",) and len(loc) > 1 else None

    return Edit(apply, field_of)


# ---- cameras ----

_AUTHORITY = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^?#\s]*)@")


def url_secrets(url: str) -> list[str]:
    """The passwords in a camera URL, in the order ``mask_url`` replaces them with ``***``."""
    found = []
    m = _AUTHORITY.match(url)
    if m and ":" in m.group(2):
        found.append(m.group(2).split(":", 1)[1])
    from vision.media.capture import _SECRET_QUERY
    found += [url[mm.end(1):mm.end()] for mm in _SECRET_QUERY.finditer(url)]
    return found


def restore_url(sent: str, stored: str | None) -> str:
    """The URL the form sent, with each ``***`` standing for the stored password (the page never has it)."""
    sent = (sent or "").strip()
    if "***" not in sent or not stored:
        return sent
    if sent == mask_url(stored):
        return stored
    secrets = url_secrets(stored)
    if sent.count("***") > len(secrets):
        raise InputError("url: type the password again (*** stands for the stored one only)")
    for secret in secrets[:sent.count("***")]:
        sent = sent.replace("***", secret, 1)
    return sent


def camera_index(tree: CommentedMap, camera_id: str) -> int | None:
    return next((i for i, c in enumerate(tree.get("cameras") or [])
                 if isinstance(c, dict) and str(c.get("id")) == camera_id), None)


def camera_edit(form: Mapping[str, str], camera_id: str | None, stored_url: str | None) -> Edit:
    """Change camera ``camera_id``, or add one (``camera_id`` None) with a first window to draw."""
    url = restore_url(form.get("url", ""), stored_url)
    index: list[int] = []

    def apply(tree: CommentedMap) -> None:
        if not isinstance(tree.get("cameras"), list):
            tree["cameras"] = CommentedSeq()
        cameras = tree["cameras"]
        if camera_id is None:
            cam = CommentedMap()
            cam["id"] = (form.get("id") or "").strip()
            cameras.append(cam)
            i = len(cameras) - 1
        else:
            found = camera_index(tree, camera_id)
            if found is None:
                raise InputError(f"no camera {camera_id!r} in the config")
            i, cam = found, cameras[found]
        index.append(i)
        set_or_drop(cam, "name", (form.get("name") or "").strip() or None)
        cam["url"] = url
        set_or_drop(cam, "enabled", form.get("enabled") == "1", keep_default=True)
        fps = (form.get("analysis_fps") or "").strip()
        set_or_drop(cam, "analysis_fps", value(fps) if fps else None)
        if camera_id is None:
            win = CommentedMap()
            win["id"] = (form.get("window_id") or "").strip()
            name = (form.get("window_name") or "").strip()
            if name:
                win["name"] = name
            win["staff_zone"] = flow([flow(p) for p in NEW_STAFF_ZONE])
            win["counter"] = flow([flow(p) for p in NEW_COUNTER])
            cam["windows"] = CommentedSeq([win])

    def field_of(loc: tuple) -> str | None:
        if loc[:1] != ("cameras",) or len(loc) < 3 or not index or loc[1] != index[0]:
            return None
        if loc[2] == "windows":
            return "window_" + str(loc[-1]) if loc[-1] in ("id", "name") else "window_id"
        return str(loc[2])

    return Edit(apply, field_of)


def remove_camera(camera_id: str) -> Edit:
    def apply(tree: CommentedMap) -> None:
        found = camera_index(tree, camera_id)
        if found is None:
            raise InputError(f"no camera {camera_id!r} in the config")
        del tree["cameras"][found]

    return Edit(apply, lambda loc: None)
