"""The rota page (排班): the shifts of a day, and importing a rota's CSV (admins).

The import is the API's (dashboard/api_rota.py does the same for integrators): parsed by vision/rota.py,
stored in one transaction by vision/store/rota.py. Here its problems are worded in the page's language,
each with the CSV line and column to fix; the mode picked stays picked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, render_template, request

from vision.rota import COLUMNS, Problem, RotaError, parse_csv
from vision.store.rota import MODES

from .api_rota import MAX_ROTA_BYTES
from .auth import actor, require
from .i18n import t
from .present import hall_tz, local, local_day_start, parse_day, store, window_names

bp = Blueprint("rota_pages", __name__)


@bp.url_value_preprocessor
def _larger_body(endpoint, values) -> None:
    # before the login and CSRF check read the form: a rota file may be over the usual 64 KiB
    request.max_content_length = MAX_ROTA_BYTES


def _fill(text: str, params: dict) -> str:
    for key, value in params.items():
        text = text.replace("{" + key + "}", "" if value is None else str(value))
    return text


def problem_text(p: Problem) -> dict:
    """A problem as the page shows it: where (line, column) and what, in the page's language."""
    column = p.heading or (t(f"rota_col_{p.column}") if p.column in COLUMNS else p.column)
    return {"line": p.line, "column": column, "message": _fill(t(f"rota_e_{p.code}"), p.params)}


def _page(status: int = 200, **extra):
    day = parse_day(request.values.get("day")) or datetime.now(hall_tz()).date()
    lo = local_day_start(day)
    hi = local_day_start(day + timedelta(days=1))
    names = window_names()
    shifts = [{**s, "window": names.get(s["window_id"], s["window_id"])}
              for s in store().rota(since=lo, until=hi)]
    return render_template("rota.html", day=day, shifts=shifts, modes=MODES, local=local,
                           mode=request.form.get("mode", "add"), **extra), status


@bp.get("/rota")
@require("viewer", token=False)
def page():
    return _page()


@bp.post("/rota")
@require("admin", token=False)
def upload():
    mode = request.form.get("mode", "add")
    sent = request.files.get("rota")
    if sent is None or not sent.filename:
        return _page(400, error=t("rota_no_file"))
    try:
        if mode not in MODES:
            raise RotaError([Problem("bad_mode", params={"value": mode})])
        shifts = parse_csv(sent.read(), window_names(), hall_tz())
        result = store().import_rota(shifts, hall_tz(), mode=mode, user=actor())
    except RotaError as exc:
        return _page(400, problems=[problem_text(p) for p in exc.problems], filename=sent.filename)
    return _page(201, result=_fill(t("rota_imported"), result))
