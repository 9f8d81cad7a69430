#!/usr/bin/env bash
# Create .cache/yolo-venv: a separate venv with ultralytics + CPU torch, used only to EXPORT
# YOLO .pt checkpoints to ONNX (`hallmonitor models add x.pt`) and by tests/test_yolo.py to get
# ultralytics' own reference output. Runtime never needs it: hallmonitor runs the ONNX with onnxruntime.
# It is separate because ultralytics pulls the non-headless opencv-python and torch, which must not
# enter the runtime environment.
#
#   bash scripts/yolo-venv.sh            # idempotent: does nothing if the venv already works
#   YOLO_VENV=/some/dir bash scripts/yolo-venv.sh
#
# torch 2.13.0 is pinned because this machine has its CPU wheel on disk (other versions pull GBs).
# torchvision: pip picks 0.28.0, a CUDA build that cannot `import` beside CPU torch 2.13 ("operator
# torchvision::nms does not exist"). It stays installed (ultralytics reads its version at import);
# export needs no torchvision, and tests/test_yolo.py stands ultralytics' own NMS in for it.
# onnxruntime (same version as the runtime's) lets ultralytics run the exported ONNX as the tests' reference.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${YOLO_VENV:-.cache/yolo-venv}"
python="${PYTHON:-python3}"
TORCH=2.13.0
ULTRALYTICS=8.4.190
ONNX=1.23.2
ONNXSLIM=0.1.98
ONNXRUNTIME=1.32.0

check() {
  # a throw-away config dir and offline: importing ultralytics writes settings and may probe the network
  [ -x "$venv/bin/python" ] && YOLO_OFFLINE=1 YOLO_CONFIG_DIR="$venv/yolo-config" MPLCONFIGDIR="$venv/mpl-config" "$venv/bin/python" - <<PY >/dev/null 2>&1
import torch, onnx, onnxslim, onnxruntime, ultralytics
assert ultralytics.__version__ == "$ULTRALYTICS", ultralytics.__version__
assert torch.__version__.split("+")[0] == "$TORCH", torch.__version__
PY
}

if check; then
  echo "yolo-venv: $venv is ready (ultralytics $ULTRALYTICS, torch $TORCH)"
  exit 0
fi

start=$(date +%s)
echo "yolo-venv: creating $venv"
"$python" -m venv --clear "$venv"
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
"${pip[@]}" "torch==$TORCH"
"${pip[@]}" "torch==$TORCH" "ultralytics==$ULTRALYTICS" "onnx==$ONNX" "onnxslim==$ONNXSLIM" \
  "onnxruntime==$ONNXRUNTIME"

if ! check; then
  echo "yolo-venv: $venv was created but 'import ultralytics, torch, onnx, onnxslim, onnxruntime' fails:" >&2
  "$venv/bin/python" -c "import torch, onnx, onnxslim, onnxruntime, ultralytics" >&2 || true
  exit 1
fi
echo "yolo-venv: ready in $(( $(date +%s) - start )) s: $venv (ultralytics $ULTRALYTICS, torch $TORCH)"
