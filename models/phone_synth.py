"""Paired training data for the phone-in-use hand head: the same hand, with and without a phone.

    python models/phone_synth.py --mirrors /work/.mirror --out /work/data/phone4/synth   # ~2 min
    python models/train_phone_head.py                                                     # fit, report, --ship

No licence-clean public set of people holding phones could be had here (docs/models.md, "Phone in
use, session 4"), and the one real set of phones in use (a classroom) puts every phone in one video,
so a head trained on it learns the video. This script makes the pairs instead: every hand square the
product would look at (``vision.perception.hand_zoom.hand_regions`` on the bundled NanoDet and MoveNet)
in licence-clean photos of people, once as it is (no phone), once with a phone drawn into the hand
(screen or back towards the camera, fingers over its edge) and once with a look-alike drawn there
instead (a wallet, a card, an earbud case: no phone). A square at the ear gets a phone held to it.
The label is the only thing that changes between the copies of one square, so the head cannot learn
the room, the person or the camera.

Base photos: rogueloop/princeID (CC BY 4.0, Roboflow exports "id_no id" and "ID-card-detection"):
phone-camera photos of students standing in classrooms and corridors, ~640 px. Only the first copy of
each frame is used; the two ultralytics demo photos in the repository (bus.jpg, zidane.jpg) are left
out. Groups for the held-out split: shooting sessions (time stamps 3+ minutes apart).

Writes ``<out>/features-<backbone sha>.npz`` (features, labels, groups, variants) and the manifest
``models/phone-head-data.csv``: one row per square and variant with the base image's repository,
commit, path, sha256 and licence, the square, the variant and its random seed (the drawing is
deterministic given the seed). No image is committed.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPO = "rogueloop/princeID"
LICENSE = "CC-BY-4.0"
PREFIXES = ("lbscekId&WithoutId/", "main/MAIN/ID-card-detection-1/")
LEFT_OUT = ("bus.jpg", "zidane.jpg")
CSV_FIELDS = ("repo", "commit", "path", "sha256", "license", "group", "square", "at_head", "variant", "seed", "label")
PHONES_PER_SQUARE = 2          # phone copies of each square (different phones, angles, sides)
LOOKALIKES_PER_SQUARE = 2      # wallet / card / earbud-case copies


# ---------------------------------------------------------------- drawing

def _rounded_mask(w: int, h: int, r: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    r = max(1, min(r, w // 2, h // 2))
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), 255, -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), 255, -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(m, (cx, cy), r, 255, -1)
    return m


def _noise(h: int, w: int, rng: np.random.Generator, amp: float) -> np.ndarray:
    small = rng.normal(0, amp, (max(2, h // 4), max(2, w // 4), 1)).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]


def draw_phone(length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A phone seen flat, ``length`` px tall: BGR patch and alpha mask. Screen (lit, app-like) or back
    (body colour, camera lenses) towards the camera."""
    length = max(8, length)
    w = max(5, int(round(length / rng.uniform(1.9, 2.2))))
    body = rng.choice([(25, 25, 25), (45, 45, 50), (70, 70, 75), (190, 190, 195), (230, 230, 230),
                       (120, 60, 20), (40, 40, 140), (150, 130, 200), (60, 110, 60)])
    patch = np.empty((length, w, 3), np.float32)
    patch[:] = body
    patch += _noise(length, w, rng, 6)
    if rng.random() < 0.55:                       # screen towards the camera
        mx, my = max(1, int(0.06 * w)), max(1, int(0.05 * length))
        sh, sw = length - 2 * my, w - 2 * mx
        screen = np.empty((sh, sw, 3), np.float32)
        if rng.random() < 0.15:
            screen[:] = (15, 15, 15)              # off
        else:
            top = np.array(rng.uniform(80, 255, 3), np.float32)
            bottom = np.array(rng.uniform(80, 255, 3), np.float32)
            t = np.linspace(0, 1, sh, dtype=np.float32)[:, None, None]
            screen[:] = top * (1 - t) + bottom * t
            for _ in range(int(rng.integers(2, 7))):    # app tiles, text lines
                x1, y1 = int(rng.integers(0, max(1, sw - 2))), int(rng.integers(0, max(1, sh - 2)))
                x2 = min(sw, x1 + int(rng.integers(2, max(3, sw))))
                y2 = min(sh, y1 + int(rng.integers(1, max(2, sh // 5))))
                screen[y1:y2, x1:x2] = rng.uniform(20, 255, 3)
            screen = cv2.GaussianBlur(screen, (0, 0), max(0.5, 0.01 * length))
        patch[my:my + sh, mx:mx + sw] = screen
    else:                                         # back towards the camera: lenses in a corner
        r = max(1, int(0.09 * w))
        side = rng.choice([-1, 1])
        cx0 = int(w / 2 + side * 0.25 * w)
        for k in range(int(rng.integers(1, 4))):
            cy = int(0.08 * length + r + k * 2.3 * r)
            cv2.circle(patch, (cx0, cy), r + 1, (90, 90, 90), -1)
            cv2.circle(patch, (cx0, cy), r, (10, 10, 10), -1)
    edge = _rounded_mask(w, length, int(0.14 * w))
    inner = cv2.erode(edge, np.ones((3, 3), np.uint8))
    patch[(edge > 0) & (inner == 0)] *= 0.6        # a darker rim
    return np.clip(patch, 0, 255).astype(np.uint8), edge


def draw_lookalike(length: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, str]:
    """Something held that is not a phone: a wallet, a card or an earbud case."""
    kind = str(rng.choice(["wallet", "wallet", "card", "earbuds"]))
    length = max(8, length)
    if kind == "wallet":
        h, w = length, max(5, int(length / rng.uniform(1.1, 1.6)))
        colour = rng.choice([(20, 30, 60), (25, 25, 25), (40, 70, 120), (60, 90, 140), (30, 30, 90)])
        patch = np.empty((h, w, 3), np.float32)
        patch[:] = colour
        patch += _noise(h, w, rng, 12)
        y = int(h * rng.uniform(0.3, 0.6))
        cv2.line(patch, (0, y), (w, y), (0.6 * colour[0], 0.6 * colour[1], 0.6 * colour[2]), max(1, h // 30))
        mask = _rounded_mask(w, h, int(0.08 * w))
    elif kind == "card":
        h, w = max(5, int(length * 0.63)), length
        patch = np.empty((h, w, 3), np.float32)
        patch[:] = rng.uniform(170, 250, 3)
        cv2.rectangle(patch, (0, 0), (w, int(h * 0.25)), tuple(float(v) for v in rng.uniform(30, 200, 3)), -1)
        cv2.rectangle(patch, (int(0.08 * w), int(0.4 * h)), (int(0.35 * w), int(0.85 * h)), (120, 120, 140), -1)
        mask = _rounded_mask(w, h, int(0.05 * w))
    else:
        s = max(6, int(length * 0.55))
        h, w = s, int(s * rng.uniform(1.0, 1.3))
        patch = np.empty((h, w, 3), np.float32)
        patch[:] = rng.uniform(215, 245)
        patch += _noise(h, w, rng, 4)
        cv2.line(patch, (0, int(0.35 * h)), (w, int(0.35 * h)), (170, 170, 170), 1)
        mask = _rounded_mask(w, h, int(0.3 * min(w, h)))
    return np.clip(patch, 0, 255).astype(np.uint8), mask, kind


def skin_colour(image: np.ndarray, pose, rng: np.random.Generator) -> np.ndarray:
    """The median colour around the nose (the person's own skin), else a random skin tone."""
    nose = pose.point("nose", 0.3) if pose is not None else None
    if nose is not None:
        x, y = int(nose[0]), int(nose[1])
        h, w = image.shape[:2]
        r = max(2, int(0.01 * max(h, w)))
        patch = image[max(0, y - r):min(h, y + r), max(0, x - r):min(w, x + r)]
        if patch.size:
            return np.median(patch.reshape(-1, 3), axis=0).astype(np.float32)
    return np.array(rng.choice([(90, 120, 170), (70, 100, 150), (60, 80, 120), (40, 60, 90)]), np.float32)


def paste(image: np.ndarray, patch: np.ndarray, mask: np.ndarray, centre, angle: float, skin: np.ndarray,
          rng: np.random.Generator, fingers: int) -> np.ndarray:
    """``patch`` rotated by ``angle`` degrees, centred at ``centre``, lit like its surroundings, with
    ``fingers`` skin-coloured fingers over its edges; a new image."""
    ph, pw = patch.shape[:2]
    diag = int(np.ceil(np.hypot(ph, pw))) + 4
    canvas = np.zeros((diag, diag, 3), np.uint8)
    alpha = np.zeros((diag, diag), np.uint8)
    y0, x0 = (diag - ph) // 2, (diag - pw) // 2
    canvas[y0:y0 + ph, x0:x0 + pw] = patch
    alpha[y0:y0 + ph, x0:x0 + pw] = mask
    for _ in range(fingers):                      # fingers across the sides and the bottom
        side = rng.choice([-1, 1])
        fy = y0 + int(ph * rng.uniform(0.35, 0.95))
        fx = x0 + (pw if side > 0 else 0)
        axes = (max(2, int(pw * rng.uniform(0.25, 0.45))), max(1, int(ph * rng.uniform(0.05, 0.08))))
        cv2.ellipse(canvas, (fx, fy), axes, 0, 0, 360, tuple(float(v) for v in skin * rng.uniform(0.85, 1.1)), -1)
        cv2.ellipse(alpha, (fx, fy), axes, 0, 0, 360, 255, -1)
    rot = cv2.getRotationMatrix2D((diag / 2, diag / 2), angle, 1.0)
    canvas = cv2.warpAffine(canvas, rot, (diag, diag), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(alpha, rot, (diag, diag), flags=cv2.INTER_LINEAR)
    out = image.copy()
    h, w = image.shape[:2]
    cx, cy = int(centre[0]), int(centre[1])
    x1, y1 = cx - diag // 2, cy - diag // 2
    sx1, sy1, sx2, sy2 = max(0, x1), max(0, y1), min(w, x1 + diag), min(h, y1 + diag)
    if sx2 <= sx1 or sy2 <= sy1:
        return out
    region = out[sy1:sy2, sx1:sx2].astype(np.float32)
    src = canvas[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1].astype(np.float32)
    a = alpha[sy1 - y1:sy2 - y1, sx1 - x1:sx2 - x1].astype(np.float32)[..., None] / 255.0
    light = float(region.mean()) / 128.0           # lit like the scene around it
    src = src * (0.6 + 0.4 * min(1.6, max(0.4, light)))
    blur = max(0.4, 0.004 * max(h, w) * rng.uniform(0.5, 1.5))
    src = cv2.GaussianBlur(src, (0, 0), blur)
    a = cv2.GaussianBlur(a, (0, 0), blur)[..., None] if a.ndim == 3 else a
    region = region * (1 - a) + src * a
    region += rng.normal(0, 2.0, region.shape)
    out[sy1:sy2, sx1:sx2] = np.clip(region, 0, 255).astype(np.uint8)
    return out


# ---------------------------------------------------------------- squares

def ear_square(pose, box, person: int, width: int, height: int):
    """The square the hand zoom looks at when a hand is raised to the ear: around the ear (or eye), 1.2
    shoulder widths across. None without an ear or eye."""
    from vision.perception.hand_zoom import HandRegion, _square, body_scale
    for name in ("left_ear", "right_ear", "left_eye", "right_eye"):
        p = pose.point(name, 0.3)
        if p is not None:
            sw = body_scale(pose, box, 0.2)
            return HandRegion(_square(p[0], p[1], 1.5 * sw, width, height), person, True), p, sw
    return None


def first_copies(paths: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for p in sorted(paths):
        key = re.sub(r"_(jpg|jpeg|png)\.rf\.[0-9a-f]+\.jpg$", "", p.rsplit("/", 1)[-1])
        seen.setdefault(key, p)
    return sorted(seen.values())


def sessions(paths: list[str], gap_min: int = 3) -> dict[str, str]:
    """Shooting sessions by the photos' time stamps (PXL_YYYYMMDD_HHMM...); photos without one form
    their own group."""
    stamps = {}
    for p in paths:
        m = re.search(r"PXL_\d{8}_(\d{2})(\d{2})", p)
        stamps[p] = int(m.group(1)) * 60 + int(m.group(2)) if m else None
    out, n, last = {}, 0, None
    for p, t in sorted(((p, t) for p, t in stamps.items() if t is not None), key=lambda kv: kv[1]):
        if last is not None and t - last >= gap_min:
            n += 1
        out[p] = f"princeID-photos/session{n + 1}"
        last = t
    for p, t in stamps.items():
        if t is None:
            out[p] = "princeID-photos/no-stamp"
    return out


def main() -> None:
    from tqdm import tqdm

    from vision.config import ModelChoice
    from vision.models.adapters import build
    from vision.models.manifest import get_model
    from vision.perception.hand_zoom import hand_regions
    from vision.perception.load import load_analyzer

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("/work/data/phone4/synth"))
    ap.add_argument("--manifest", type=Path, default=ROOT / "models" / "phone-head-data.csv")
    ap.add_argument("--examples", type=int, default=6,
                    help="write this many example squares per variant to <out>/examples")
    ap.add_argument("--limit", type=int, default=0, help="only the first N photos (a quick look)")
    args = ap.parse_args()

    git = args.mirrors / REPO.replace("/", "+") / "repo"
    if not git.is_dir():
        raise SystemExit(f"{git}: no snapshot of {REPO}; bring it with the fetch tool (github:{REPO})")

    def run(*a) -> bytes:
        return subprocess.run(["git", "--git-dir", str(git), *a], check=True, capture_output=True).stdout
    commit = run("rev-parse", "HEAD").decode().strip()
    files = run("ls-tree", "-r", "--name-only", "HEAD").decode().splitlines()
    paths = first_copies([p for p in files if p.startswith(PREFIXES) and p.lower().endswith((".jpg", ".png"))
                          and not p.endswith(LEFT_OUT)])
    group_of = sessions(paths)
    if args.limit:
        paths = paths[: args.limit]

    analyzer = load_analyzer(ModelChoice(face=None, mouth=None), crop_pass=False)
    backbone = build(get_model("efficientnet-lite0", task="features"))
    rows, feats = [], []
    ex_dir = args.out / "examples"
    ex_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for path in tqdm(paths, unit="img", file=sys.stderr):
        data = run("show", f"HEAD:{path}")
        sha = hashlib.sha256(data).hexdigest()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            continue
        h, w = image.shape[:2]
        frame = analyzer.analyze(image, read_faces=False)
        people = sorted((i for i in range(len(frame.persons)) if frame.poses[i] is not None),
                        key=lambda i: -frame.persons[i].width * frame.persons[i].height)[:2]
        for i in people:
            pose, box = frame.poses[i], frame.persons[i].box
            squares = [(r, None, None) for r in hand_regions(pose, box, i, w, h, min_score=0.1)]
            ear = ear_square(pose, box, i, w, h)
            if ear is not None:
                squares.append(ear)
            for r, ear_point, ear_sw in squares:
                x1, y1, x2, y2 = r.box
                side = x2 - x1
                seed0 = int(hashlib.sha256(f"{sha}|{r.box}".encode()).hexdigest()[:8], 16)
                centre = ((x1 + x2) / 2, (y1 + y2) / 2)
                variants = [("original", seed0, False, image)]
                for k in range(PHONES_PER_SQUARE):
                    rng = np.random.default_rng(seed0 + 1 + k)
                    skin = skin_colour(image, pose, rng)
                    if ear_point is not None:     # a call: the phone upright against the ear, hand below
                        patch, mask = draw_phone(int(ear_sw * rng.uniform(0.45, 0.6)), rng)
                        c = (ear_point[0] + rng.uniform(-0.05, 0.05) * side,
                             ear_point[1] + rng.uniform(0.0, 0.12) * side)
                        img = paste(image, patch, mask, c, rng.uniform(-25, 25), skin, rng, int(rng.integers(2, 4)))
                    else:
                        patch, mask = draw_phone(int(side * rng.uniform(0.28, 0.45)), rng)
                        c = (centre[0] + rng.uniform(-0.12, 0.12) * side, centre[1] + rng.uniform(-0.12, 0.12) * side)
                        img = paste(image, patch, mask, c, rng.uniform(-60, 60), skin, rng, int(rng.integers(1, 4)))
                    variants.append(("phone", seed0 + 1 + k, True, img))
                for k in range(LOOKALIKES_PER_SQUARE):
                    rng = np.random.default_rng(seed0 + 101 + k)
                    skin = skin_colour(image, pose, rng)
                    patch, mask, kind = draw_lookalike(int(side * rng.uniform(0.25, 0.4)), rng)
                    c = ((ear_point[0], ear_point[1]) if ear_point is not None else
                         (centre[0] + rng.uniform(-0.12, 0.12) * side, centre[1] + rng.uniform(-0.12, 0.12) * side))
                    img = paste(image, patch, mask, c, rng.uniform(-60, 60), skin, rng, int(rng.integers(1, 4)))
                    variants.append((kind, seed0 + 101 + k, False, img))
                crops = [img[y1:y2, x1:x2] for _, _, _, img in variants]
                feats.append(backbone.features(crops))
                for (variant, seed, label, _), crop in zip(variants, crops):
                    rows.append({"repo": REPO, "commit": commit, "path": path, "sha256": sha, "license": LICENSE,
                                 "group": group_of[path], "square": " ".join(map(str, r.box)),
                                 "at_head": int(r.at_head), "variant": variant, "seed": seed, "label": int(label)})
                    n = written.get(variant, 0)
                    if n < args.examples:
                        cv2.imwrite(str(ex_dir / f"{variant}-{n}.png"), cv2.resize(crop, (160, 160)))
                        written[variant] = n + 1
    features = np.concatenate(feats)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / f"features-{backbone.spec.sha256[:12]}.npz", features=features,
                        labels=np.array([r["label"] for r in rows], bool),
                        groups=np.array([r["group"] for r in rows]), variants=np.array([r["variant"] for r in rows]),
                        at_head=np.array([r["at_head"] for r in rows], bool))
    with open(args.manifest, "w", newline="", encoding="utf-8") as f:
        wr = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        wr.writeheader()
        wr.writerows(rows)
    print(f"{len(paths)} photos, {len(rows)} squares x variants ({sum(r['label'] for r in rows)} with a phone), "
          f"groups: {sorted(set(group_of.values()))}; manifest {args.manifest}")


if __name__ == "__main__":
    main()
