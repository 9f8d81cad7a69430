"""The API reference page: the OpenAPI document (dashboard/openapi.py) drawn as HTML by our own template.

Served from this process, with no script and nothing fetched from elsewhere (a hall's network often
has no internet): ``/docs/api``, for anyone logged in. The document's own words (summaries,
descriptions) are the integrators' English and are marked ``lang="en"``; the page around them is in
the page's language.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .api_common import hall
from .auth import require

bp = Blueprint("api_reference", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def schema_text(schema: dict | None) -> str:
    """A JSON Schema in a few words: ``Event``, ``array of Event``, ``"a" | "b"``, ``integer >= 1``."""
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return " | ".join(schema_text(s) for s in schema[key])
    if "enum" in schema:
        return " | ".join(repr(v).replace("'", '"') for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"]).replace("'", '"')
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    if kind == "array":
        return f"array of {schema_text(schema.get('items'))}"
    bounds = [f">= {schema['minimum']}" if "minimum" in schema else "",
              f"<= {schema['maximum']}" if "maximum" in schema else "",
              f"format {schema['format']}" if "format" in schema else ""]
    return " ".join([kind, *[b for b in bounds if b]])


def _operations(doc: dict) -> list[tuple[str, list[dict]]]:
    by_tag: dict[str, list[dict]] = {t["name"]: [] for t in doc.get("tags", [])}
    for path, item in doc["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = (op.get("requestBody") or {}).get("content", {})
            responses = []
            for code, r in op.get("responses", {}).items():
                if "$ref" in r:
                    name = r["$ref"].rsplit("/", 1)[-1]
                    r = doc.get("components", {}).get("responses", {}).get(name, r)
                content = r.get("content") or {}
                mime, media = next(iter(content.items()), (None, {"schema": None}))
                responses.append({"code": code, "description": r.get("description", ""), "mime": mime,
                                  "schema": schema_text(media.get("schema"))})
            by_tag.setdefault((op.get("tags") or ["other"])[0], []).append({
                "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "params": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                            "schema": schema_text(p.get("schema")), "description": p.get("description", "")}
                           for p in op.get("parameters", [])],
                "body": schema_text(next(iter(body.values()), {"schema": None}).get("schema")) if body else "",
                "responses": responses})
    return [(tag, ops) for tag, ops in by_tag.items() if ops]


def _schemas(doc: dict) -> list[dict]:
    out = []
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        props = [{"name": k, "schema": schema_text(v), "required": k in required,
                  "description": v.get("description", "") if isinstance(v, dict) else ""}
                 for k, v in (schema.get("properties") or {}).items()]
        out.append({"name": name, "title": schema.get("title") or schema.get("description", ""),
                    "props": props, "text": "" if props else schema_text(schema)})
    return out


@bp.get("/docs/api")
@require("viewer", token=False)
def page():
    from .openapi import document
    doc = current_app.extensions.get("hallmonitor.openapi")
    if doc is None:
        doc = current_app.extensions["hallmonitor.openapi"] = document(hall())
    return render_template("api_reference.html", info=doc["info"], sections=_operations(doc), schemas=_schemas(doc))
