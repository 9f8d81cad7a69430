"""Shared fixtures: real photos and footage from package registries, the real bundled models."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MEDIA = Path(os.environ.get("HALLMONITOR_MEDIA", ROOT / ".cache" / "media"))


@pytest.fixture(scope="session")
def media() -> Path:
    """Folder with opencv/ (Debian opencv-doc) and ultralytics/ (PyPI wheel) photos and footage."""
    if not (MEDIA / "ultralytics" / "bus.jpg").is_file() or not (MEDIA / "opencv" / "vtest.avi").is_file():
        subprocess.run(["bash", str(ROOT / "scripts" / "fetch-media.sh")], check=True, cwd=ROOT)
    return MEDIA


@pytest.fixture(scope="session")
def skimage_data() -> Path:
    import skimage
    return Path(skimage.__file__).parent / "data"


@pytest.fixture(scope="session")
def analyzer():
    from vision.perception.load import load_analyzer
    return load_analyzer()


from tests.pg_fixtures import backend, pg_server, store_target  # noqa: E402,F401 - shared fixtures: both back-ends
