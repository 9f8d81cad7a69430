"""`hallmonitor tokens add|list|revoke`: integrators make API tokens from the shell; a token made
there opens the real API, and a revoked one is refused at once."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dashboard import create_app
from hallmonitor.cli import main
from vision.config import load_config

HALL = """\
storage: {database: var/hm.db, media_dir: var/media}
dashboard: {secret_key_file: var/secret_key}
cameras:
  - id: cam-a
    url: rtsp://127.0.0.1:9/none
    windows:
      - id: w01
        staff_zone: [[0.05, 0.10], [0.45, 0.10], [0.45, 0.60], [0.05, 0.60]]
        counter:    [[0.00, 0.60], [0.50, 0.60], [0.50, 0.80], [0.00, 0.80]]
"""


def test_a_token_made_on_the_command_line_opens_the_api_until_revoked(tmp_path: Path):
    cfg = tmp_path / "cameras.yaml"
    cfg.write_text(HALL)
    runner = CliRunner()
    made = runner.invoke(main, ["tokens", "add", "queue caller", "--scope", "write", "--config", str(cfg)])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("hm_") and "not shown again" in made.stderr

    app = create_app(load_config(cfg), testing=True)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/events", headers=auth).status_code == 200
    assert client.post("/api/windows/w01/pause", json={"minutes": 1}, headers=auth).status_code == 201

    listed = runner.invoke(main, ["tokens", "list", "--config", str(cfg)])
    assert listed.exit_code == 0 and "queue caller" in listed.stdout and "write" in listed.stdout
    token_id = next(line.split()[0] for line in listed.stdout.splitlines() if "queue caller" in line)
    assert token_id.startswith("tok_") and secret not in listed.stdout

    revoked = runner.invoke(main, ["tokens", "revoke", token_id, "--config", str(cfg)])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert client.get("/api/events", headers=auth).status_code == 401

    unknown = runner.invoke(main, ["tokens", "revoke", "tok_nothing", "--config", str(cfg)])
    assert unknown.exit_code != 0 and "no token 'tok_nothing'" in unknown.output and "Traceback" not in unknown.output
