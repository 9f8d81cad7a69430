#!/usr/bin/env bash
# Fetch the real photos and footage that the demo and the tests use, from package registries only:
#   - Debian's opencv-doc: vtest.avi (real indoor footage of people), messi5.jpg, basketball1.png, ...
#   - the ultralytics wheel on PyPI: bus.jpg, zidane.jpg
# scikit-image's photos come with the scikit-image package itself (tests' extra).
# Everything lands in ${HALLMONITOR_MEDIA:-.cache/media}; running it again is a no-op.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${HALLMONITOR_MEDIA:-.cache/media}"
mkdir -p "$dest/opencv" "$dest/ultralytics"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$dest/opencv/vtest.avi" ]; then
  echo "fetch-media: opencv-doc (Debian) -> $dest/opencv"
  (cd "$tmp" && apt-get download -q opencv-doc >/dev/null 2>&1) || {
    apt-get update -qq && (cd "$tmp" && apt-get download -q opencv-doc >/dev/null); }
  dpkg-deb -x "$tmp"/opencv-doc_*.deb "$tmp/deb"
  src="$tmp/deb/usr/share/doc/opencv-doc/examples/data"
  for f in vtest.avi messi5.jpg basketball1.png basketball2.png lena.jpg people.jpg; do
    if [ -f "$src/$f" ]; then cp "$src/$f" "$dest/opencv/"; fi
    if [ -f "$src/$f.gz" ]; then gunzip -c "$src/$f.gz" > "$dest/opencv/$f"; fi
  done
fi

if [ ! -f "$dest/ultralytics/bus.jpg" ]; then
  echo "fetch-media: ultralytics assets (PyPI) -> $dest/ultralytics"
  python3 -m pip download -q --no-deps ultralytics -d "$tmp/wheel" 2>/dev/null
  python3 - "$tmp"/wheel/ultralytics-*.whl "$dest/ultralytics" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in ("ultralytics/assets/bus.jpg", "ultralytics/assets/zidane.jpg"):
        with open(f"{out}/{name.rsplit('/', 1)[1]}", "wb") as f:
            f.write(z.read(name))
PY
fi
ls "$dest/opencv" "$dest/ultralytics"
