"""API pauses in the store reconciled with the window's rules (vision.rules.pause_sync), on scripted
timelines: the store's rows as the dashboard writes them, one poll a second, real WindowRules."""

import pytest

from tests.test_rules import T0, obs, window
from vision.events import iso
from vision.rules.pause_sync import PauseChange, apply, reconcile


def row(until: float | None = None, reason: str = "lunch", source: str = "api", window_id: str = "w1") -> dict:
    """An active pause as store.active_pauses returns it."""
    return {"window_id": window_id, "source": source, "until": iso(until), "reason": reason}


def run(timeline: list[tuple[float, list[dict], bool]]) -> list[tuple[float, str, str | None]]:
    """Poll the store's rows and observe the window at each (seconds after T0, rows, sign seen);
    returns the pause events as (seconds, phase, end_reason)."""
    wr, out = window(), []
    for dt, rows, sign in timeline:
        now = T0 + dt
        events = apply(reconcile(now, rows, {"w1": wr.pause_keeper}), {"w1": wr}, now)
        events += wr.update(obs(pause_sign=sign), now)
        out += [(dt, e.phase, e.details.get("end_reason")) for e in events if e.type == "window_paused"]
    return out


CASES = [
    # (what happens, timeline [(t, stored rows, sign seen)], pause events [(t, phase, end_reason)])
    ("paused by the API, then resumed by the API",
     [(0, [], False), (1, [row()], False), (2, [row()], False), (3, [], False), (4, [], False)],
     [(1, "started", None), (3, "ended", "resumed")]),
    ("a pause with an end expires in the rules, not by the row going away",
     [(0, [row(T0 + 2.5)], False), (1, [row(T0 + 2.5)], False), (3, [], False), (4, [], False)],
     [(0, "started", None), (3, "ended", "expired")]),
    ("a new until is an update of the same pause",
     [(0, [row(T0 + 60)], False), (1, [row(T0 + 60)], False), (2, [row(T0 + 120)], False)],
     [(0, "started", None), (2, "updated", None)]),
    ("an API pause takes over a sign pause",
     [(0, [], True), (1, [row()], True), (2, [row()], True)],
     [(0, "started", None), (1, "updated", None)]),
    ("a sign pause is not resumed by an empty store",
     [(0, [], True), (1, [], True), (2, [], True)],
     [(0, "started", None)]),
    ("rows of other windows and other sources change nothing",
     [(0, [row(window_id="w2"), row(source="sign")], False), (1, [row(window_id="w2")], False)],
     []),
]


@pytest.mark.parametrize("timeline, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pause_timeline(timeline, expected):
    assert run(timeline) == expected


def test_reconcile_is_pure_and_idempotent():
    wr = window()
    rows = [row(T0 + 60, "meeting")]
    assert reconcile(T0, rows, {"w1": wr.pause_keeper}) == [PauseChange("w1", "pause", T0 + 60, "meeting")]
    assert not wr.pause_keeper.active                       # reconcile changed nothing
    apply(reconcile(T0, rows, {"w1": wr.pause_keeper}), {"w1": wr}, T0)
    assert reconcile(T0 + 1, rows, {"w1": wr.pause_keeper}) == []    # in step: nothing to do
    assert reconcile(T0 + 1, [], {"w1": wr.pause_keeper}) == [PauseChange("w1", "resume")]
