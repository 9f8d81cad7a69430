#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for hallmonitor (run as root, or with sudo available).
#   bash scripts/setup.sh          runtime: Debian packages, the Python package, the demo footage
#   bash scripts/setup.sh --test   also what the tests need (test extras, the YOLO export venv)
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
want_test=0; [ "${1:-}" = "--test" ] && want_test=1

# Debian: ffmpeg (ffprobe), GStreamer's RTSP server for the demo cameras and the stream tests.
pkgs="ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-rtsp gstreamer1.0-plugins-base \
gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools"
# --test: a real browser for the dashboard's end-to-end tests (Debian's, never a downloaded one), and
# Debian's MQTT broker for the MQTT tests (tests/mqtt_fixtures.py starts it on a free port; openssl makes
# its test certificates), and Debian's PostgreSQL for the store tests on that back-end
# (vision/store/pg_server.py runs a scratch server from /usr/lib/postgresql/*/bin on a free port)
if [ "$want_test" -eq 1 ]; then
  pkgs="$pkgs chromium chromium-driver fonts-wqy-microhei mosquitto openssl postgresql"
fi
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "setup: apt-get install$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PY="${PYTHON:-python3}"
if [ "$want_test" -eq 1 ]; then
  "$PY" -m pip install -q -e ".[test]"
else
  "$PY" -m pip install -q -e .
fi
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true     # the `hallmonitor` command on PATH
bash scripts/fetch-media.sh >/dev/null
if [ "$want_test" -eq 1 ] && [ -f scripts/yolo-venv.sh ]; then
  bash scripts/yolo-venv.sh
fi
echo "setup: done"
