"""The live view's frame route through the Flask test client, on a real SQLite store and a recorded
frame of real footage (vtest.avi, as a worker keeps it): each window's staff zone outlined in the
colour of the state the store keeps, the size parameter and its bounds, the frame's age headers."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from dashboard import create_app
from vision.media.palette import STATES

from .test_dashboard import login, site  # noqa: F401


class Worker:
    """What the live view reads of a camera worker: its newest analysed frame."""

    def __init__(self, ts: float, image: np.ndarray):
        self.latest = (ts, image, [])


class Supervisor:
    def __init__(self, workers: dict):
        self.workers = workers


@pytest.fixture()
def recorded_frame(media) -> np.ndarray:
    cap = cv2.VideoCapture(str(media / "opencv" / "vtest.avi"))
    for _ in range(30):
        ok, image = cap.read()
    cap.release()
    assert ok
    return cv2.resize(image, (1280, 720))


def live_client(site, frame, ts=None):  # noqa: F811
    sup = Supervisor({"cam-a": Worker(time.time() if ts is None else ts, frame)})
    app = create_app(site.config, store=site.store, supervisor=sup, testing=True, secret_key=b"t" * 32)
    client = app.test_client()
    login(client, "viewer")
    return client


def decoded(resp) -> np.ndarray:
    assert resp.status_code == 200, resp.text
    return cv2.imdecode(np.frombuffer(resp.data, np.uint8), cv2.IMREAD_COLOR)


def edge_colour(image: np.ndarray, x: float, y: float) -> np.ndarray:
    """The median colour of a few pixels around a point given as fractions of the frame."""
    h, w = image.shape[:2]
    cx, cy = round(x * w), round(y * h)
    return np.median(image[cy - 1:cy + 2, cx - 1:cx + 2].reshape(-1, 3), axis=0)


# status the store keeps -> the palette colour its staff zone is outlined in
STATE_CASES = [("staffed", "staffed"), ("unattended", "unattended"), ("late", "late"), ("paused", "paused"),
               ("closed", "closed"), ("something-new", "unknown")]


@pytest.mark.parametrize("status,colour", STATE_CASES)
def test_each_staff_zone_is_outlined_in_its_windows_state_colour(site, recorded_frame, status, colour):  # noqa: F811
    now = time.time()
    site.store.set_window_state("w01", "cam-a", status, now - 60, now)
    site.store.set_window_state("w02", "cam-a", "staffed" if status != "staffed" else "paused", now - 60, now)
    image = decoded(live_client(site, recorded_frame).get("/live/cam-a.jpg?width=1280"))
    assert image.shape[:2] == (720, 1280)
    # w01's staff zone right edge is x = 0.45 (0.10..0.60 high); w02's left edge is x = 0.55
    got = edge_colour(image, 0.45, 0.35)
    assert np.abs(got - np.array(STATES[colour])).max() <= 40, (status, got, STATES[colour])
    other = edge_colour(image, 0.55, 0.35)
    want = STATES["staffed" if status != "staffed" else "paused"]
    assert np.abs(other - np.array(want)).max() <= 40, (other, want)


def test_a_window_without_a_state_yet_is_outlined_as_no_data(site, recorded_frame):  # noqa: F811
    image = decoded(live_client(site, recorded_frame).get("/live/cam-a.jpg?width=1280"))
    assert np.abs(edge_colour(image, 0.45, 0.35) - np.array(STATES["unknown"])).max() <= 40


SIZE_CASES = [  # ?width= -> the width served (never more than the camera's 1280), or the error status
    ("", 960), ("640", 640), ("1280", 1280), ("1920", 1280), ("160", 160),
    ("159", 400), ("1921", 400), ("abc", 400), ("12.5", 400), ("-5", 400), ("9" * 40, 400),
]


@pytest.mark.parametrize("width,expected", SIZE_CASES)
def test_the_size_parameter_is_bounded(site, recorded_frame, width, expected):  # noqa: F811
    resp = live_client(site, recorded_frame).get(f"/live/cam-a.jpg?width={width}")
    if expected == 400:
        assert resp.status_code == 400 and resp.is_json
        assert "width: expected a whole number of pixels from 160 to 1920" in resp.json["error"]["message"]
    else:
        assert decoded(resp).shape[1] == expected


def test_the_headers_tell_the_frames_age_in_the_halls_time(site, recorded_frame):  # noqa: F811
    ts = time.time() - 42
    resp = live_client(site, recorded_frame, ts).get("/live/cam-a.jpg")
    assert resp.status_code == 200
    assert 41.5 <= float(resp.headers["X-Frame-Age"]) <= 45
    assert resp.headers["X-Frame-Stale"] == "1"
    assert resp.headers["X-Camera-Status"] == "online"        # the stand-in worker has no reader; no offline event
    assert resp.headers["X-Frame-Time"] == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts + 8 * 3600))
    fresh = live_client(site, recorded_frame).get("/live/cam-a.jpg")
    assert fresh.headers["X-Frame-Stale"] == "0" and float(fresh.headers["X-Frame-Age"]) < 2
