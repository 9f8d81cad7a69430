"""Config errors in the page's language: a pydantic error (its type and limits) or one of the
schema's own checks, as the sentence a settings form shows next to its field."""

from __future__ import annotations

import re

from vision.config.loading import key_path
from vision.errors import ConfigError

from .i18n import t

_BOUNDS = {"greater_than_equal": ("err_ge", "ge"), "greater_than": ("err_gt", "gt"),
           "less_than_equal": ("err_le", "le"), "less_than": ("err_lt", "lt")}
_NUMBER = {"float_parsing", "float_type", "int_parsing", "int_type", "int_from_float", "finite_number"}
_DATE = {"date_from_datetime_parsing", "date_parsing", "date_type", "date_from_datetime_inexact"}
# the schema's own checks (the section modules of vision/config/), known by how their English message begins
_OWN = [(re.compile(r"^weekday"), "err_weekday"), (re.compile(r"^service period .* must look like"), "err_period"),
        (re.compile(r"impossible time"), "err_period_time"), (re.compile(r"ends before it starts"), "err_period_order"),
        (re.compile(r"^unknown time zone"), "err_timezone"), (re.compile(r"^colour .* must be #rrggbb"), "err_colour"),
        (re.compile(r"is used twice"), "err_duplicate_id"), (re.compile(r"is shorter than the .* between two analyses"),
                                                               "err_grace_short"),
        (re.compile(r"polygon needs at least 3 points"), "err_polygon_short"),
        (re.compile(r"is outside the frame"), "err_point_outside"), (re.compile(r"^no such file"), "err_no_such_file"),
        (re.compile(r"is not an image OpenCV can read"), "err_not_image"),
        (re.compile(r"not valid YAML"), "err_yaml"), (re.compile(r"top level must be a mapping"), "err_top_level")]


def _number(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def problem_text(problem: dict) -> str:
    """One config problem (``ConfigError.problems``) in the page's language."""
    kind, ctx, msg = problem.get("type", ""), problem.get("ctx") or {}, problem.get("msg", "")
    if kind in _BOUNDS:
        key, limit = _BOUNDS[kind]
        return t(key).replace("{n}", _number(ctx.get(limit)))
    if kind in _NUMBER:
        return t("err_number")
    if kind in ("bool_parsing", "bool_type"):
        return t("err_bool")
    if kind in _DATE:
        return t("err_date")
    if kind == "missing":
        return t("err_required")
    if kind == "extra_forbidden":
        return t("err_unknown_key")
    if kind == "string_pattern_mismatch":
        return t("err_pattern_id") if "A-Za-z0-9" in str(ctx.get("pattern", "")) else t("err_pattern")
    if kind in ("too_short", "list_too_short"):
        return t("err_too_short").replace("{n}", _number(ctx.get("min_length", 1)))
    if kind == "literal_error":
        return t("err_choice").replace("{choices}", str(ctx.get("expected", "")))
    for pattern, key in _OWN:
        if pattern.search(msg):
            return t(key) + (f" ({_quoted(msg)})" if _quoted(msg) else "")
    return msg


def config_problems(exc: ConfigError) -> list[dict]:
    """A refused config as a page shows it: per problem ``where`` (file:line, from the English message's
    lines), ``key`` (cameras[0].windows[1].counter) and ``text``, what is wrong in the page's language."""
    lines = exc.message.splitlines()
    if not exc.problems:
        return [{"where": "", "key": "", "text": problem_text({"msg": exc.message})}]
    out = []
    for i, p in enumerate(exc.problems):
        key = key_path(tuple(p.get("loc", ())))
        line = lines[i] if i < len(lines) else ""
        where = line.split(f": {key}:", 1)[0] if f": {key}:" in line else ""
        out.append({"where": where, "key": key, "text": problem_text(p)})
    return out


def _quoted(msg: str) -> str:
    m = re.search(r"'([^']{1,40})'", msg)
    return m.group(1) if m else ""
