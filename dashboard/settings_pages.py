"""Settings without YAML (admins only): service hours, rules, the badge profile, cameras, and the change
log. Each form edits cameras.yaml through the zone editor's round-trip writer (dashboard/zones.py),
keeping its comments; the result is validated by the config's pydantic models before anything is
written (a refused form keeps what was typed and shows each error next to its field, in the page's
language), written atomically, and logged (who, when, the masked diff). The running cameras pick the
file up within seconds (vision.runtime.reload). Camera passwords never reach the browser: URLs are
shown masked and ``***`` keeps the stored password.
"""

from __future__ import annotations

import base64
from pathlib import Path

import cv2
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from vision.config import BEHAVIOURS, HallConfig
from vision.errors import ConfigError, InputError, NotFound
from vision.media.capture import mask_url
from vision.media.probe import probe_camera

from . import changes
from .auth import require
from .i18n import t
from .present import hall, local, type_title
from .settings_edit import (
    BADGE_NUMBERS,
    RULE_KINDS,
    Edit,
    badge_edit,
    camera_edit,
    hours_edit,
    remove_camera,
    rule_key,
    rules_edit,
)
from .settings_errors import problem_text
from .zones import edit_config, text_hash, write_config

bp = Blueprint("settings_forms", __name__, url_prefix="/settings")

MAX_PROBE_URL = 2000


def _config_path() -> Path | None:
    path = current_app.config.get("HALL_CONFIG_PATH")
    return Path(path) if path else None


class Form:
    """What the user typed, and the errors for each field (or for the whole form)."""

    def __init__(self, values: dict[str, str]):
        self.values, self.errors, self.general = values, {}, []   # type: ignore[var-annotated]

    def add(self, name: str | None, text: str) -> None:
        if name is None:
            self.general.append(text)
        else:
            self.errors.setdefault(name, []).append(text)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general


def save(form: Form, edit: Edit, what: str, detail: str = "") -> HallConfig | None:
    """Validate and write the edit; the new config, or None with ``form`` holding why not."""
    for name, problems in edit.row_errors.items():
        for p in problems:
            form.add(name, problem_text(p))
    path = _config_path()
    if path is None or not path.is_file():
        form.add(None, t("no_config_file"))
    if not form.ok or path is None:
        return None
    old = path.read_text(encoding="utf-8")
    if form.values.get("file_hash") and form.values["file_hash"] != text_hash(old):
        form.add(None, t("config_changed"))
        return None
    try:
        new_text, config = edit_config(old, edit.apply, source=path.name, base_dir=hall().base_dir)
    except ConfigError as exc:
        for p in exc.problems or [{"type": "", "msg": exc.message, "loc": ()}]:
            where = edit.field_of(tuple(p.get("loc", ())))
            text = problem_text(p)
            form.add(where, text if where else (f"{path.name}:{p['line']}: {text}" if p.get("line") else text))
        return None
    except InputError as exc:
        form.add(None, exc.message)
        return None
    if new_text != old:
        write_config(path, new_text, old)
        changes.record(what, detail, changes.text_diff(old, new_text, path.name))
    current_app.config["HALL"] = config      # this process's pages at once; the cameras within seconds
    return config


def _render(template: str, form: Form, status: int | None = None, **extra):
    path = _config_path()
    file_hash = text_hash(path.read_text(encoding="utf-8")) if path and path.is_file() else ""
    form.values.setdefault("file_hash", file_hash)
    code = status or (400 if not form.ok else 200)
    return render_template(template, form=form, saved=request.args.get("saved") == "1", config_path=path,
                           local=local, type_title=type_title, **extra), code


def _posted() -> dict[str, str]:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


# ---- service hours ----

def _hours_values(config: HallConfig) -> dict[str, str]:
    s = config.schedule
    values = {"timezone": s.timezone, "closed": "\n".join(d.isoformat() for d in s.closed)}
    for i, (days, periods) in enumerate(s.hours.items()):
        values[f"days_{i}"], values[f"periods_{i}"] = days, ", ".join(periods)
    return values


@bp.route("/hours", methods=["GET", "POST"])
@require("admin", token=False)
def hours():
    if request.method == "POST":
        form = Form(_posted())
        if save(form, hours_edit(form.values), "service hours"):
            return redirect(url_for("settings_forms.hours", saved=1))
    else:
        form = Form(_hours_values(hall()))
    rows = max([int(k.split("_")[1]) for k in form.values if k.startswith(("days_", "periods_"))] + [-1]) + 3
    return _render("settings_hours.html", form, rows=min(rows, 30))


# ---- rules ----

def _rules_values(config: HallConfig) -> dict[str, str]:
    values: dict[str, str] = {}
    for kind in RULE_KINDS:
        rule = getattr(config.defaults.rules, kind)
        key = rule_key(kind)
        values[f"d.{kind}.{key}"] = f"{getattr(rule, key):g}"
        values[f"d.{kind}.enabled"] = "1" if rule.enabled else ""
    for cam in config.cameras:
        for win in cam.windows:
            for kind in RULE_KINDS:
                over = getattr(win.rules, kind, None) if win.rules else None
                key = rule_key(kind)
                amount = getattr(over, key, None) if over is not None else None
                values[f"w.{win.id}.{kind}.{key}"] = "" if amount is None else f"{amount:g}"
                on = getattr(over, "enabled", None) if over is not None else None
                values[f"w.{win.id}.{kind}.enabled"] = "" if on is None else ("on" if on else "off")
    return values


@bp.route("/rules", methods=["GET", "POST"])
@require("admin", token=False)
def rules():
    if request.method == "POST":
        form = Form(_posted())
        if save(form, rules_edit(form.values, hall().defaults.rules), "rules"):
            return redirect(url_for("settings_forms.rules", saved=1))
    else:
        form = Form(_rules_values(hall()))
    windows = [(cam, w) for cam in hall().cameras for w in cam.windows]
    return _render("settings_rules.html", form, kinds=RULE_KINDS, rule_key=rule_key, windows=windows,
                   behaviours=BEHAVIOURS)


# ---- the badge profile ----

@bp.route("/badge", methods=["GET", "POST"])
@require("admin", token=False)
def badge():
    if request.method == "POST":
        form = Form(_posted())
        if save(form, badge_edit(form.values), "badge profile"):
            return redirect(url_for("settings_forms.badge", saved=1))
    else:
        b = hall().badge
        form = Form({"colors": ", ".join(b.colors), "detector_labels": ", ".join(b.detector_labels),
                     **{k: f"{getattr(b, k):g}" for k in BADGE_NUMBERS}})
    return _render("settings_badge.html", form, numbers=BADGE_NUMBERS)


# ---- cameras ----

def _stored_url(camera_id: str | None) -> str | None:
    if camera_id is None:
        return None
    return next((c.url for c in hall().cameras if c.id == camera_id), None)


def _masked_values(values: dict[str, str]) -> dict[str, str]:
    """The form as it goes back to the browser: the URL masked (a password typed is not sent back)."""
    out = dict(values)
    if out.get("url"):
        out["url"] = mask_url(out["url"])
    return out


@bp.route("/cameras/new", methods=["GET", "POST"])
@require("admin", token=False)
def new_camera():
    if request.method == "POST":
        form = Form(_posted())
        if save(form, camera_edit(form.values, None, None), "camera added", form.values.get("id", "")):
            return redirect(url_for("settings.zones_page", camera_id=form.values["id"].strip()))
        form.values = _masked_values(form.values)
    else:
        form = Form({"analysis_fps": "1", "enabled": "1", "window_id": "", "url": "rtsp://"})
    return _render("settings_camera.html", form, camera=None)


@bp.route("/cameras/<camera_id>/edit", methods=["GET", "POST"])
@require("admin", token=False)
def edit_camera(camera_id: str):
    cam = next((c for c in hall().cameras if c.id == camera_id), None)
    if cam is None:
        raise NotFound(f"no camera {camera_id!r} in the config")
    if request.method == "POST":
        form = Form(_posted())
        try:
            edit = camera_edit(form.values, camera_id, cam.url)
        except InputError as exc:
            form.add("url", exc.message)
        else:
            if save(form, edit, "camera changed", camera_id):
                return redirect(url_for("settings_forms.edit_camera", camera_id=camera_id, saved=1))
        form.values = _masked_values(form.values)
    else:
        form = Form({"name": cam.name or "", "url": mask_url(cam.url), "enabled": "1" if cam.enabled else "",
                     "analysis_fps": f"{cam.analysis_fps:g}"})
    return _render("settings_camera.html", form, camera=cam)


@bp.post("/cameras/<camera_id>/remove")
@require("admin", token=False)
def delete_camera(camera_id: str):
    if not any(c.id == camera_id for c in hall().cameras):
        raise NotFound(f"no camera {camera_id!r} in the config")
    form = Form(_posted())
    if save(form, remove_camera(camera_id), "camera removed", camera_id):
        return redirect(url_for("settings.index", removed=camera_id))
    raise InputError("; ".join(form.general + [m for ms in form.errors.values() for m in ms]))


@bp.post("/cameras/test")
@require("admin", token=False)
def test_camera():
    """Open the URL with the real capture code; the first frame as a JPEG data URL, or the reason."""
    sent = request.form.get("url", "")
    if not sent.strip() or len(sent) > MAX_PROBE_URL:
        raise InputError(t("err_required"))
    url = restore_url_for(request.form.get("camera_id") or None, sent)
    result = probe_camera(url, open_timeout_s=5.0, wait_s=8.0)
    if not result.ok or result.image is None:
        return jsonify({"ok": False, "error": result.error, "seconds": round(result.seconds, 2),
                        "message": t("camera_test_failed")})
    h, w = result.image.shape[:2]
    scale = min(1.0, 640 / w)
    small = cv2.resize(result.image, (int(w * scale), int(h * scale))) if scale < 1 else result.image
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return jsonify({"ok": True, "width": w, "height": h, "seconds": round(result.seconds, 2),
                    "message": t("camera_test_ok").replace("{w}", str(w)).replace("{h}", str(h)),
                    "image": "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode()})


def restore_url_for(camera_id: str | None, sent: str) -> str:
    from .settings_edit import restore_url
    return restore_url(sent, _stored_url(camera_id))


# ---- the change log ----

@bp.get("/changes")
@require("admin", token=False)
def change_log():
    return render_template("settings_changes.html", entries=changes.recent(200), local=local)
