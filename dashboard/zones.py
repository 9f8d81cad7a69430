"""Editing the zones of cameras.yaml from the zone editor, keeping the file as people wrote it.

The file is loaded with ruamel's round-trip loader, only the polygon sequences of the windows
being edited are changed (in place, so their comments and flow style stay), and it is dumped
back. The new text is checked with ``parse_config`` before anything is written: a bad polygon
comes back as ``cameras.yaml:14: cameras[0].windows[0].staff_zone: ...`` and the file is left
alone. Writes are atomic (temporary file + rename) and keep the previous text as ``.bak``.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import math
import os
import re
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from vision.config import HallConfig, parse_config
from vision.errors import ConfigError, InputError

ZONES = ("staff_zone", "counter", "citizen_zone")
OPTIONAL = {"citizen_zone"}
DECIMALS = 4


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _yaml(text: str) -> tuple[YAML, object]:
    try:
        tree, indent, block_seq_indent = load_yaml_guess_indent(text)
    except YAMLError as exc:
        raise ConfigError(f"the config is not valid YAML: {exc}") from None
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096                       # never re-wrap a long line
    indent = indent or 2
    offset = block_seq_indent or 0
    y.indent(mapping=max(2, indent - offset) if offset else indent, sequence=indent, offset=offset)
    return y, y.load(text)


def _point(value, where: str) -> CommentedSeq:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise InputError(f"{where}: a point is [x, y], got {value!r}")
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(f"{where}: coordinates are numbers from 0 to 1, got {v!r}")
        out.append(round(float(v), DECIMALS))
    seq = CommentedSeq(out)
    seq.fa.set_flow_style()
    return seq


def _set_polygon(window: dict, zone: str, points, where: str) -> None:
    if points is None:
        if zone not in OPTIONAL:
            raise InputError(f"{where}: this zone is required")
        if zone in window:
            del window[zone]
        return
    if not isinstance(points, (list, tuple)):
        raise InputError(f"{where}: expected a list of [x, y] points")
    new = [_point(p, f"{where}[{i}]") for i, p in enumerate(points)]
    old = window.get(zone)
    if isinstance(old, CommentedSeq):
        del old[:]            # in place: the sequence keeps its comments and its flow style
        old.extend(new)
    else:
        seq = CommentedSeq(new)
        seq.fa.set_flow_style()
        window[zone] = seq


def set_zones(text: str, camera_id: str, windows: object, source: str = "cameras.yaml",
              base_dir: Path | None = None) -> tuple[str, HallConfig]:
    """The config text with the given windows' zones replaced, and the config it parses to.

    ``windows`` is ``{window_id: {"staff_zone": [[x, y], ...], "counter": [...], "citizen_zone": [...] | None}}``;
    a zone left out is not changed. Raises ``InputError`` for a request that does not fit the file and
    ``ConfigError`` (file:line: key: message) when the result is not a valid config.
    """
    if not isinstance(windows, dict) or not windows:
        raise InputError("windows: expected {window_id: {zone: [[x, y], ...]}}")
    return edit_config(text, lambda tree: _edit_zones(tree, camera_id, windows, source), source, base_dir)


def edit_config(text: str, edit, source: str = "cameras.yaml", base_dir: Path | None = None) -> tuple[str, HallConfig]:
    """The config text after ``edit(tree)`` changed its round-trip tree in place, and the config it parses
    to: the one writer of cameras.yaml (the zone editor and the settings pages). Comments, flow style
    and the spacing people put in stay; ``ConfigError`` (file:line: key, with ``problems``) when the
    result is not a valid config, and nothing is written."""
    y, tree = _yaml(text)
    if tree is None:
        tree = CommentedMap()
    if not isinstance(tree, dict):
        raise ConfigError(f"{source}:1: the top level must be a mapping (hall:, cameras:, ...)")
    edit(tree)
    buf = io.StringIO()
    y.dump(tree, buf)
    new_text = keep_spacing(text, buf.getvalue())
    config = parse_config(new_text, source=source, base_dir=base_dir)
    return new_text, config


def _edit_zones(tree, camera_id: str, windows: dict, source: str) -> None:
    cameras = tree.get("cameras") if isinstance(tree, dict) else None
    cam_index, camera = next(((i, c) for i, c in enumerate(cameras or []) if isinstance(c, dict)
                              and str(c.get("id")) == camera_id), (None, None))
    if camera is None:
        raise InputError(f"{source}: no camera {camera_id!r}")
    by_id = {str(w.get("id")): (j, w) for j, w in enumerate(camera.get("windows") or []) if isinstance(w, dict)}
    for window_id, zones in windows.items():
        if window_id not in by_id:
            raise InputError(f"{source}: camera {camera_id} has no window {window_id!r}")
        if not isinstance(zones, dict):
            raise InputError(f"window {window_id}: expected {{zone: [[x, y], ...]}}")
        j, window = by_id[window_id]
        for zone, points in zones.items():
            if zone not in ZONES:
                raise InputError(f"window {window_id}: unknown zone {zone!r}; zones are {', '.join(ZONES)}")
            _set_polygon(window, zone, points, f"cameras[{cam_index}].windows[{j}].{zone}")


_KEY_LINE = re.compile(r"^(\s*(?:- )?[^\s:#][^:#]*:)(\s+)(\S.*)$")


_COMMENT = re.compile(r"^(.*?\S)(\s+)(# .*)$")


def _same_comment_gap(old_value: str, new_value: str) -> str:
    """``new_value`` with the gap before its end-of-line comment as it was in ``old_value``."""
    mo, mn = _COMMENT.match(old_value), _COMMENT.match(new_value)
    if mo and mn and mo.group(3) == mn.group(3):
        return mn.group(1) + mo.group(2) + mn.group(3)
    return new_value


def keep_spacing(old: str, new: str) -> str:
    """``new`` with the spacing people put in ``old`` kept: ruamel re-emits ``key:    value`` as
    ``key: value``; lines that differ only in spaces are taken from ``old``, and a changed value keeps
    the old line's alignment after its key."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "replace":
            out.extend(b[j1:j2])
            continue
        if (i2 - i1) != (j2 - j1):       # lines were added or dropped here: keep the old text of those that stay
            spare = [x for x in a[i1:i2]]
            for y in b[j1:j2]:
                same = next((x for x in spare if x.split() == y.split()), None)
                if same is not None:
                    spare.remove(same)
                out.append(same if same is not None else y)
            continue
        for x, y in zip(a[i1:i2], b[j1:j2]):
            if x.split() == y.split():
                out.append(x)
                continue
            mx, my = _KEY_LINE.match(x.rstrip("\n")), _KEY_LINE.match(y.rstrip("\n"))
            if mx and my and mx.group(1) == my.group(1):
                value = _same_comment_gap(mx.group(3), my.group(3))
                out.append(mx.group(1) + mx.group(2) + value + ("\n" if y.endswith("\n") else ""))
            else:
                out.append(y)
    return "".join(out)


def write_config(path: Path, new_text: str, old_text: str) -> None:
    """Replace ``path`` atomically; the previous text stays in ``<path>.bak``."""
    path = Path(path)
    backup = path.with_name(path.name + ".bak")
    backup.write_text(old_text, encoding="utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(new_text, encoding="utf-8")
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
        except OSError:
            pass
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
