"""The labels file of `hallmonitor eval`: what a person saw in each photo, checked key by key.

A JSON list, one record per image (``record N`` in messages is the list index, from 0)::

    [{"file": "desk-07.jpg",                  # relative to the image folder
      "source": "office-cctv",                # optional: results are broken down by it
      "desk_region": [410, 300, 620, 420],    # optional: the counter, x1,y1,x2,y2 in pixels
      "labels": {"staff_present": true, "phone_on_desk": false, "phone_in_hand": null,
                 "phone_at_ear": false, "badge_visible": null, "eating_or_drinking": false,
                 "head_down_sleeping": false}}]

A label that is missing or null is not scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vision.errors import InputError

LABEL_KEYS = ("staff_present", "phone_on_desk", "phone_in_hand", "phone_at_ear", "badge_visible",
              "eating_or_drinking", "head_down_sleeping")
RECORD_KEYS = ("file", "labels", "desk_region", "source")


class LabelsError(InputError):
    """The labels file is malformed; the message names the file, the record and the key."""


@dataclass(frozen=True)
class LabelRecord:
    file: str
    labels: dict[str, bool | None]
    desk_region: tuple[float, float, float, float] | None = None
    source: str | None = None


def _shown(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def parse_records(data, name: str) -> list[LabelRecord]:
    """Check the parsed JSON of a labels file; ``name`` is how messages call the file."""
    if not isinstance(data, list):
        raise LabelsError(f"{name}: expected a JSON list of records ({{\"file\": ..., \"labels\": {{...}}}}), "
                          f"got a {type(data).__name__}")
    records: list[LabelRecord] = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(data):
        where = f"{name}: record {i}"
        if not isinstance(rec, dict):
            raise LabelsError(f"{where}: expected an object with file and labels, got {_shown(rec)}")
        unknown = [k for k in rec if k not in RECORD_KEYS]
        if unknown:
            raise LabelsError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(RECORD_KEYS)})")
        file = rec.get("file")
        if not isinstance(file, str) or not file.strip():
            raise LabelsError(f"{where}: file: expected the image's path relative to the folder, got "
                              f"{_shown(file) if 'file' in rec else 'nothing'}")
        if file in seen:
            raise LabelsError(f"{where}: file: {file!r} is already labelled in record {seen[file]}")
        seen[file] = i
        labels = rec.get("labels")
        if not isinstance(labels, dict):
            raise LabelsError(f"{where}: labels: expected an object like {{\"staff_present\": true}}, got "
                              f"{_shown(labels) if 'labels' in rec else 'nothing'}")
        checked: dict[str, bool | None] = {}
        for key, value in labels.items():
            if key not in LABEL_KEYS:
                raise LabelsError(f"{where}: labels.{key}: unknown label (known: {', '.join(LABEL_KEYS)})")
            if value is not None and not isinstance(value, bool):
                raise LabelsError(f"{where}: labels.{key}: expected true/false/null, got {_shown(value)}")
            checked[key] = value
        region = rec.get("desk_region")
        if region is not None:
            if (not isinstance(region, list) or len(region) != 4
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in region)):
                raise LabelsError(f"{where}: desk_region: expected [x1, y1, x2, y2] in pixels, got {_shown(region)}")
            if not (region[2] > region[0] and region[3] > region[1]):
                raise LabelsError(f"{where}: desk_region: x2 must be > x1 and y2 > y1, got {_shown(region)}")
            region = tuple(float(v) for v in region)
        source = rec.get("source")
        if source is not None and (not isinstance(source, str) or not source):
            raise LabelsError(f"{where}: source: expected a name, got {_shown(source)}")
        records.append(LabelRecord(file, checked, region, source))
    if not records:
        raise LabelsError(f"{name}: no records; label at least one image")
    return records


def load_records(path: Path) -> list[LabelRecord]:
    """Read and check a labels file."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LabelsError(f"{name}: no such labels file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(f"{name}: cannot be read ({exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LabelsError(f"{name}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})") from None
    return parse_records(data, name)


def missing_images(records: list[LabelRecord], folder: Path) -> list[str]:
    """The labelled files that are not in ``folder``."""
    return [r.file for r in records if not (folder / r.file).is_file()]
