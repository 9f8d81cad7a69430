"""What a hall teaches its own heads: managers' labels on staff crops and window zones, with the frames.

A label says, for one person (a box in a frame) or one window (its staff zone in a frame), what a
manager saw: phone in use yes/no, badge worn yes/no, eating yes/no, asleep yes/no, or the window's
state (occupied / vacant / head down). The clean frame is copied into the store (``teach_frames``),
so a label outlives the event's media (retention) and a head can be re-fitted years later with a
new crop or backbone. Each label names who gave it and when; giving another value replaces it,
and the previous value stays in ``teach_label_log``.

Window-state candidates are labels nobody had to think about: frames from closed hours are
"vacant" candidates, frames with a confident staff detection "occupied" ones. They wait in
``teach_candidates`` until a manager confirms or corrects them; only then are they labels.

This module owns its tables (migration 6, numbered in vision/store/schema.py).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from vision.errors import InputError, NotFound
from vision.events import iso
from vision.store.where import Where

if TYPE_CHECKING:
    from vision.store.database import Store

# what a manager marks -> the values a label may take (person behaviours: yes/no, named as the heads'
# behaviours in vision.perception.heads; the window's state: one of three, which teaches two window heads)
BEHAVIOURS: dict[str, tuple[str, ...]] = {
    "phone_in_use": ("yes", "no"),
    "badge_worn": ("yes", "no"),
    "eating": ("yes", "no"),
    "asleep": ("yes", "no"),
    "window_state": ("occupied", "vacant", "head_down"),
}
PERSON_BEHAVIOURS = tuple(b for b in BEHAVIOURS if b != "window_state")
SUBJECTS = ("person", "window")
FRAME_SOURCES = ("event", "snapshot", "candidate")
MAX_FRAME_BYTES = 8 * 1024 * 1024


def create_tables(conn: sqlite3.Connection) -> None:
    """Migration 6 (vision/store/schema.py numbers it): this module's tables."""
    for sql in (
        # the clean frame a label was given on (JPEG), with the persons the models found in it
        """CREATE TABLE teach_frames (
            id         INTEGER PRIMARY KEY,
            camera_id  TEXT NOT NULL,
            event_id   TEXT UNIQUE,
            source     TEXT NOT NULL CHECK (source IN ('event', 'snapshot', 'candidate')),
            taken_at   REAL NOT NULL,
            width      INTEGER NOT NULL,
            height     INTEGER NOT NULL,
            jpeg       BLOB NOT NULL,
            sha256     TEXT NOT NULL UNIQUE,
            persons    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(persons)),
            added_at   REAL NOT NULL
        )""",
        """CREATE TABLE teach_labels (
            id          INTEGER PRIMARY KEY,
            frame_id    INTEGER NOT NULL REFERENCES teach_frames (id) ON DELETE CASCADE,
            subject     TEXT NOT NULL CHECK (subject IN ('person', 'window')),
            subject_key TEXT NOT NULL,
            window_id   TEXT,
            region      TEXT NOT NULL CHECK (json_valid(region)),
            behaviour   TEXT NOT NULL,
            value       TEXT NOT NULL,
            labelled_by TEXT NOT NULL,
            labelled_at REAL NOT NULL,
            UNIQUE (frame_id, subject_key, behaviour)
        )""",
        "CREATE INDEX teach_labels_by_behaviour ON teach_labels (behaviour, window_id)",
        """CREATE TABLE teach_label_log (
            id          INTEGER PRIMARY KEY,
            label_id    INTEGER NOT NULL,
            frame_id    INTEGER NOT NULL,
            subject_key TEXT NOT NULL,
            behaviour   TEXT NOT NULL,
            old_value   TEXT,
            new_value   TEXT,
            by          TEXT NOT NULL,
            at          REAL NOT NULL
        )""",
        """CREATE TABLE teach_candidates (
            id          INTEGER PRIMARY KEY,
            frame_id    INTEGER NOT NULL REFERENCES teach_frames (id) ON DELETE CASCADE,
            window_id   TEXT NOT NULL,
            region      TEXT NOT NULL CHECK (json_valid(region)),
            suggested   TEXT NOT NULL CHECK (suggested IN ('occupied', 'vacant', 'head_down')),
            reason      TEXT NOT NULL,
            created_at  REAL NOT NULL,
            resolved_at REAL,
            resolved_by TEXT,
            UNIQUE (frame_id, window_id)
        )""",
        "CREATE INDEX teach_candidates_open ON teach_candidates (window_id, created_at) WHERE resolved_at IS NULL",
    ):
        conn.execute(sql)   # one statement each: executescript() would commit the migration's transaction


@dataclass(frozen=True)
class Label:
    id: int
    frame_id: int
    event_id: str | None
    camera_id: str
    window_id: str | None
    subject: str
    region: list                 # person: box [x1, y1, x2, y2]; window: staff zone polygon, frame pixels
    behaviour: str
    value: str
    labelled_by: str
    labelled_at: float
    taken_at: float

    def to_json(self) -> dict:
        return {"id": self.id, "frame_id": self.frame_id, "event_id": self.event_id, "camera_id": self.camera_id,
                "window_id": self.window_id, "subject": self.subject, "region": self.region,
                "behaviour": self.behaviour, "value": self.value, "labelled_by": self.labelled_by,
                "labelled_at": iso(self.labelled_at), "taken_at": iso(self.taken_at)}

    def day(self, tz: ZoneInfo | None = None) -> str:
        return datetime.fromtimestamp(self.taken_at, tz=tz).strftime("%Y-%m-%d")


def check_value(behaviour: str, value: str) -> None:
    if behaviour not in BEHAVIOURS:
        raise InputError(f"behaviour {behaviour!r}: use one of {', '.join(BEHAVIOURS)}")
    if value not in BEHAVIOURS[behaviour]:
        raise InputError(f"{behaviour}: value {value!r}; use one of {', '.join(BEHAVIOURS[behaviour])}")


def _region(subject: str, region: Any) -> list:
    try:
        if subject == "person":
            box = [float(v) for v in region]
            if len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
                raise ValueError
            return [round(v, 1) for v in box]
        points = [[round(float(x), 1), round(float(y), 1)] for x, y in region]
        if len(points) < 3:
            raise ValueError
        return points
    except (TypeError, ValueError):
        want = "a box [x1, y1, x2, y2] with x2 > x1, y2 > y1" if subject == "person" else "a polygon of 3+ [x, y]"
        raise InputError(f"{subject} region: expected {want} in frame pixels, got {region!r}") from None


def subject_key(subject: str, region: list, window_id: str | None) -> str:
    """Which thing in the frame a label is about: a person by box (to the pixel), a window by id."""
    if subject == "window":
        if not window_id:
            raise InputError("a window label needs window_id")
        return f"window:{window_id}"
    return "person:" + ",".join(str(round(v)) for v in region)


def _label_of(row: sqlite3.Row) -> Label:
    return Label(row["id"], row["frame_id"], row["event_id"], row["camera_id"], row["window_id"], row["subject"],
                 json.loads(row["region"]), row["behaviour"], row["value"], row["labelled_by"],
                 row["labelled_at"], row["taken_at"])


_LABEL_SELECT = """SELECT l.*, f.event_id, f.camera_id, f.taken_at FROM teach_labels l
                   JOIN teach_frames f ON f.id = l.frame_id"""


CANDIDATE_MIN_SCORE = 0.6        # a staff detection at least this sure makes an "occupied" candidate


def state_candidates(observations, statuses: dict[str, str],
                     min_score: float = CANDIDATE_MIN_SCORE) -> list[tuple[str, str, str]]:
    """Window states a frame suggests without anyone's effort: (window id, state, reason), the reason
    a code the dashboard words (``closed_hours``, or ``staff_detected:0.83`` with the best score).

    Closed hours with nobody found in the staff zone: vacant. Open hours with a confident staff
    detection: occupied. Anything less sure suggests nothing (a manager's time is worth more than
    a doubtful candidate)."""
    out = []
    for obs in observations:
        best = max((p.score for p in obs.persons if p.staff), default=0.0)
        if statuses.get(obs.window_id) == "closed":
            if not any(p.staff for p in obs.persons):
                out.append((obs.window_id, "vacant", "closed_hours"))
        elif best >= min_score:
            out.append((obs.window_id, "occupied", f"staff_detected:{best:.2f}"))
    return out


class Teaching:
    """The hall's labels and their frames, in the hall's store."""

    def __init__(self, store: Store):
        self.store = store

    # ---- frames ----

    def add_frame(self, jpeg: bytes, width: int, height: int, camera_id: str, taken_at: float, *,
                  source: str = "event", event_id: str | None = None, persons: Iterable[dict] = ()) -> int:
        """Keep a clean frame (JPEG bytes); the same event or the same pixels again return the same id."""
        if source not in FRAME_SOURCES:
            raise InputError(f"frame source {source!r}: use one of {', '.join(FRAME_SOURCES)}")
        if not isinstance(jpeg, (bytes, bytearray)) or not jpeg.startswith(b"\xff\xd8"):
            raise InputError("frame: expected JPEG bytes")
        if len(jpeg) > MAX_FRAME_BYTES:
            raise InputError(f"frame: {len(jpeg)} bytes, more than {MAX_FRAME_BYTES}")
        if not camera_id:
            raise InputError("frame: camera_id is required")
        digest = hashlib.sha256(jpeg).hexdigest()
        persons_text = json.dumps(list(persons), ensure_ascii=False)
        with self.store.write() as conn:
            if event_id is not None:
                row = conn.execute("SELECT id FROM teach_frames WHERE event_id = ?", (event_id,)).fetchone()
                if row is not None:
                    return row["id"]
            row = conn.execute("SELECT id FROM teach_frames WHERE sha256 = ?", (digest,)).fetchone()
            if row is not None:
                return row["id"]
            return conn.execute(
                """INSERT INTO teach_frames (camera_id, event_id, source, taken_at, width, height, jpeg, sha256,
                                             persons, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                (camera_id, event_id, source, float(taken_at), int(width), int(height), bytes(jpeg), digest,
                 persons_text, time.time())).fetchone()[0]

    def frame(self, frame_id: int) -> dict:
        row = self.store.query(
            "SELECT id, camera_id, event_id, source, taken_at, width, height, persons FROM teach_frames WHERE id = ?",
            (frame_id,)).fetchone()
        if row is None:
            raise NotFound(f"no teaching frame {frame_id}")
        return {**dict(row), "persons": json.loads(row["persons"])}

    def frame_id_of_event(self, event_id: str) -> int | None:
        row = self.store.query("SELECT id FROM teach_frames WHERE event_id = ?", (event_id,)).fetchone()
        return None if row is None else row["id"]

    def frame_jpeg(self, frame_id: int) -> bytes:
        row = self.store.query("SELECT jpeg FROM teach_frames WHERE id = ?", (frame_id,)).fetchone()
        if row is None:
            raise NotFound(f"no teaching frame {frame_id}")
        return bytes(row["jpeg"])

    # ---- labels ----

    def label(self, frame_id: int, subject: str, region: Any, behaviour: str, value: str | None, by: str, *,
              window_id: str | None = None, at: float | None = None) -> Label | None:
        """Set (or with ``value`` None, clear) one label; returns it (None when cleared)."""
        if subject not in SUBJECTS:
            raise InputError(f"subject {subject!r}: use person or window")
        if value is not None:
            check_value(behaviour, value)
        elif behaviour not in BEHAVIOURS:
            check_value(behaviour, "")
        if (behaviour == "window_state") != (subject == "window"):
            raise InputError(f"{behaviour} is a label of a {'window' if behaviour == 'window_state' else 'person'}, "
                             f"not of a {subject}")
        if not isinstance(by, str) or not by:
            raise InputError("who gave the label: required")
        region = _region(subject, region)
        key = subject_key(subject, region, window_id)
        now = time.time() if at is None else float(at)
        with self.store.write() as conn:
            if conn.execute("SELECT 1 FROM teach_frames WHERE id = ?", (frame_id,)).fetchone() is None:
                raise NotFound(f"no teaching frame {frame_id}")
            old = conn.execute("SELECT id, value FROM teach_labels WHERE frame_id = ? AND subject_key = ? "
                               "AND behaviour = ?", (frame_id, key, behaviour)).fetchone()
            old_value = None if old is None else old["value"]
            if value is None:
                if old is not None:
                    conn.execute("DELETE FROM teach_labels WHERE id = ?", (old["id"],))
                    self._log(conn, old["id"], frame_id, key, behaviour, old_value, None, by, now)
                return None
            if old is None:
                label_id = conn.execute(
                    """INSERT INTO teach_labels (frame_id, subject, subject_key, window_id, region, behaviour, value,
                                                 labelled_by, labelled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                       RETURNING id""",
                    (frame_id, subject, key, window_id, json.dumps(region), behaviour, value, by, now)).fetchone()[0]
            else:
                label_id = old["id"]
                conn.execute("UPDATE teach_labels SET value = ?, labelled_by = ?, labelled_at = ?, window_id = ? "
                             "WHERE id = ?", (value, by, now, window_id, label_id))
            if old_value != value:
                self._log(conn, label_id, frame_id, key, behaviour, old_value, value, by, now)
            row = conn.execute(_LABEL_SELECT + " WHERE l.id = ?", (label_id,)).fetchone()
        return _label_of(row)

    @staticmethod
    def _log(conn, label_id, frame_id, key, behaviour, old, new, by, at) -> None:
        conn.execute("INSERT INTO teach_label_log (label_id, frame_id, subject_key, behaviour, old_value, new_value,"
                     " by, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (label_id, frame_id, key, behaviour, old, new, by, at))

    def labels(self, behaviour: str | None = None, frame_id: int | None = None) -> list[Label]:
        if behaviour is not None and behaviour not in BEHAVIOURS:
            raise InputError(f"behaviour {behaviour!r}: use one of {', '.join(BEHAVIOURS)}")
        where = Where().equals("l.behaviour", behaviour).equals("l.frame_id", frame_id)
        rows = self.store.query(_LABEL_SELECT + where.sql() + " ORDER BY f.taken_at, l.id",
                                          where.params).fetchall()
        return [_label_of(r) for r in rows]

    def history(self, limit: int = 50) -> list[dict]:
        rows = self.store.query("SELECT * FROM teach_label_log ORDER BY id DESC LIMIT ?", (limit,))
        return [{**dict(r), "at": iso(r["at"])} for r in rows]

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """behaviour -> window ('' for labels without one) -> value -> number of labels."""
        out: dict[str, dict[str, dict[str, int]]] = {b: {} for b in BEHAVIOURS}
        rows = self.store.query(
            "SELECT behaviour, COALESCE(window_id, '') AS w, value, count(*) AS n FROM teach_labels "
            "GROUP BY behaviour, w, value").fetchall()
        for r in rows:
            out.setdefault(r["behaviour"], {}).setdefault(r["w"], {})[r["value"]] = r["n"]
        return out

    # ---- window-state candidates ----

    def add_candidate(self, frame_id: int, window_id: str, region: Any, suggested: str, reason: str) -> bool:
        """Propose a window state for a frame; False if that frame and window already have one."""
        check_value("window_state", suggested)
        region = _region("window", region)
        with self.store.write() as conn:
            cur = conn.execute(
                "INSERT INTO teach_candidates (frame_id, window_id, region, suggested, reason, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (frame_id, window_id, json.dumps(region), suggested, reason, time.time()))
            return cur.rowcount == 1

    def open_candidates(self, window_id: str) -> int:
        return self.store.query("SELECT count(*) FROM teach_candidates WHERE window_id = ? AND "
                                          "resolved_at IS NULL", (window_id,)).fetchone()[0]

    def candidates(self, window_id: str | None = None, limit: int = 60) -> list[dict]:
        sql = ("SELECT c.*, f.taken_at, f.camera_id FROM teach_candidates c JOIN teach_frames f ON f.id = c.frame_id"
               " WHERE c.resolved_at IS NULL")
        params: list[Any] = []
        if window_id is not None:
            sql += " AND c.window_id = ?"
            params.append(window_id)
        rows = self.store.query(sql + " ORDER BY c.created_at, c.id LIMIT ?", (*params, limit)).fetchall()
        return [{"id": r["id"], "frame_id": r["frame_id"], "window_id": r["window_id"], "camera_id": r["camera_id"],
                 "region": json.loads(r["region"]), "suggested": r["suggested"], "reason": r["reason"],
                 "taken_at": iso(r["taken_at"])} for r in rows]

    def resolve_candidate(self, candidate_id: int, value: str | None, by: str) -> Label | None:
        """Confirm (``value`` = the suggestion), correct (another state) or drop (None) a candidate."""
        row = self.store.query("SELECT * FROM teach_candidates WHERE id = ?", (candidate_id,)).fetchone()
        if row is None:
            raise NotFound(f"no window-state candidate {candidate_id}")
        label = None
        if value is not None:
            label = self.label(row["frame_id"], "window", json.loads(row["region"]), "window_state", value, by,
                               window_id=row["window_id"])
        with self.store.write() as conn:
            conn.execute("UPDATE teach_candidates SET resolved_at = ?, resolved_by = ? WHERE id = ?",
                         (time.time(), by, candidate_id))
        return label
