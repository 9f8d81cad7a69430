"""A plain (non-editable) `pip install .` into a fresh venv carries everything the product needs:
the models and their manifest, the templates, static files and JSON Schemas; its `hallmonitor demo`
runs the real cameras and serves the dashboard from a folder that is not the source tree."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_a_plain_install_runs_the_demo_and_serves_the_dashboard(tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], capture_output=True, text=True,
                         timeout=900)
    assert pip.returncode == 0, pip.stderr[-2000:]
    site = subprocess.run([str(venv / "bin" / "python"), "-c",
                           "import vision, dashboard, hallmonitor_models; print(vision.__file__)"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert site.returncode == 0 and str(venv) in site.stdout, site.stderr     # not the source tree's code

    run = tmp_path / "hall"
    run.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HALLMONITOR_MEDIA": str(ROOT / ".cache" / "media"), "HOME": str(tmp_path)}
    demo = subprocess.Popen([str(venv / "bin" / "hallmonitor"), "demo", "--seconds", "40", "--port", "0",
                             "--web-port", "0"], cwd=run, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        url, lines, deadline = None, [], time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"dashboard:\s+(http://127\.0\.0\.1:\d+/)", line)
            url = m.group(1) if m else None
        assert url, "".join(lines)[-3000:]
        with urllib.request.urlopen(url + "login", timeout=10) as resp:
            page = resp.read().decode("utf-8")
            assert resp.status == 200 and 'name="password"' in page
        with urllib.request.urlopen(url + "static/app.css", timeout=10) as resp:
            assert resp.status == 200 and resp.read()
        rest, _ = demo.communicate(timeout=120)
        lines.append(rest)
    finally:
        if demo.poll() is None:
            demo.kill()
    out = "".join(lines)
    assert demo.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "online" in out          # the demo cameras were read


def test_every_source_package_is_listed_for_the_install():
    """pyproject.toml lists its packages by hand; a new sub-package left off the list imports from the source
    tree but not from an installed wheel (vision.privacy once did). Every folder with an __init__.py is listed."""
    import tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for top in ("hallmonitor", "vision", "dashboard") for init in (ROOT / top).rglob("__init__.py")}
    assert found - listed == set(), f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
