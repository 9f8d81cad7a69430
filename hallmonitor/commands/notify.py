"""`hallmonitor notify test`: post a test message through each group robot of cameras.yaml."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def notify() -> None:
    """Group robots (企业微信 / 钉钉) that tell chat groups about new alerts."""


@notify.command("test")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--robot", "robot_ids", multiple=True,
              help="only this robot id (repeatable); default: every enabled robot")
def notify_test(config_path: Path, robot_ids: tuple[str, ...]) -> None:
    """Post a test message through each robot and print what the robot answered."""
    from vision.config import load_config
    from vision.notify.messages import test_message
    from vision.notify.sender import Notifier
    from vision.store.database import Store
    from vision.webhooks.address_guard import http_session

    config = load_config(config_path)
    with Store(config.store_target()) as store:
        notifier = Notifier.from_config(store, config)
        robots = [r for r in notifier.robots if not robot_ids or r.id in robot_ids]
        unknown = set(robot_ids) - {r.id for r in notifier.robots}
        if unknown:
            known = ", ".join(r.id for r in notifier.robots) or "none"
            raise click.ClickException(f"{config_path}: no enabled robot {', '.join(sorted(unknown))} under notify: "
                                       f"(robots: {known})")
        if not robots:
            raise click.ClickException(f"{config_path}: no enabled robot under notify: (see docs/integration.md, "
                                       f"section 5)")
        failed = 0
        for robot in robots:
            message = test_message(robot.kind, notifier.facts, config.hall.name, robot.min_interval_s)
            outcome = notifier.post(robot, message, http_session(robot.allow_private))
            if outcome.ok:
                click.echo(f"robot {robot.id} ({robot.kind}): sent")
            else:
                failed += 1
                click.echo(f"robot {robot.id} ({robot.kind}): failed: {outcome.error}", err=True)
    if failed:
        raise click.ClickException(f"{failed} of {len(robots)} robots failed; "
                                   f"check their url and secret in {config_path}")
