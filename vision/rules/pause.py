"""A window's pause (暂停服务): one ``window_paused`` event per pause, from the API or from the sign.

* API pause: ``start(now, until, reason, "api")``; it ends on ``end`` (resume) or when
  ``until`` has passed (``ended_at = until``). ``until=None`` lasts until resumed.
* Sign pause: the "暂停服务" sign seen on the counter starts one at once (source "sign");
  it lasts while the sign is seen and ends when the sign has not been seen for more
  than ``sign_grace_s`` (``ended_at`` = the last sighting). ``None`` (no sign template)
  is no sighting.
* One pause at a time: a new API pause while paused updates the running one (new
  reason/until/source, an ``updated``); a sign seen during an API pause changes
  nothing. A resume while the sign still stands ends the pause, and the next sighting
  starts a new sign pause: the sign on the counter is what the citizen sees.
"""

from __future__ import annotations

from vision.events import Event, iso, new_event_id, parse_iso

SOURCES = ("api", "sign")
SIGN_REASON = "暂停服务 sign on the counter"


class PauseKeeper:
    def __init__(self, camera_id: str, window_id: str, sign_grace_s: float) -> None:
        self.camera_id, self.window_id, self.sign_grace_s = camera_id, window_id, sign_grace_s
        self.event: Event | None = None
        self.ended_at = 0.0            # when the latest pause ended
        self._sign_seen_at = 0.0       # latest sighting of the sign
        self._sign_gap_from = 0.0      # the sign's gap is measured from here
        self._adopted = False          # restarted: the sign's grace starts at the next step

    @property
    def active(self) -> bool:
        return self.event is not None

    @property
    def source(self) -> str | None:
        return self.event.details["source"] if self.event else None

    @property
    def until(self) -> float | None:
        return parse_iso(self.event.details.get("until")) if self.event else None

    def start(self, now: float, until: float | None, reason: str, source: str) -> list[Event]:
        if source not in SOURCES:
            raise ValueError(f"pause source {source!r}: use one of {', '.join(SOURCES)}")
        if until is not None and until <= now:
            raise ValueError(f"a pause must end in the future (until={iso(until)}, now={iso(now)})")
        details = {"reason": reason, "source": source, "until": iso(until)}
        if self.event is not None:
            self.event = self.event.advance("updated", now, details={**self.event.details, **details})
        else:
            self.event = Event(id=new_event_id(now), type="window_paused", camera_id=self.camera_id,
                               window_id=self.window_id, phase="started", severity="low",
                               started_at=now, updated_at=now, details=details)
        return [self.event]

    def end(self, now: float, reason: str, ended_at: float | None = None) -> list[Event]:
        if self.event is None:
            return []
        at = now if ended_at is None else max(self.event.started_at, min(ended_at, now))
        ended = self.event.advance("ended", now, ended_at=at, details={**self.event.details, "end_reason": reason})
        self.event, self.ended_at = None, at
        return [ended]

    def step(self, now: float, sign: bool | None = None) -> list[Event]:
        """One observation (``sign``) or a tick (``None``): expiry, sign gone, sign seen."""
        out: list[Event] = []
        if self._adopted:
            self._adopted, self._sign_gap_from = False, max(self._sign_gap_from, now)
        if sign:
            self._sign_seen_at = self._sign_gap_from = now
        if self.event is not None:
            until = self.until
            if self.source == "api" and until is not None and now >= until:
                out += self.end(now, "expired", ended_at=until)
            elif self.source == "sign" and now - self._sign_gap_from > self.sign_grace_s:
                out += self.end(now, "sign_gone", ended_at=self._sign_seen_at)
        if sign and self.event is None:
            out += self.start(now, None, SIGN_REASON, "sign")
        return out

    def adopt(self, event: Event) -> None:
        """Continue a pause that was open before a restart; a sign pause gets a fresh grace."""
        self.event, self._adopted = event, True
        self._sign_seen_at = self._sign_gap_from = event.updated_at
