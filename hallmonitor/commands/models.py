"""`hallmonitor models`, `train` and `heads`: the model manifest and the hall's own heads."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group()
def models() -> None:
    """The model manifest: list the models, add a YOLO model."""


@models.command("list")
def models_list() -> None:
    """Every model in models/models.yaml, with its task, family, input size and class count."""
    from vision.models.manifest import DEFAULT_MANIFEST, load_manifest
    for name, spec in load_manifest(DEFAULT_MANIFEST).items():
        present = "ok" if spec.file.is_file() else "MISSING"
        click.echo(f"{name:<22} {spec.task:<7} {spec.family:<8} {spec.input.width}x{spec.input.height:<5} "
                   f"{len(spec.labels):>3} labels  {spec.license or '?':<10} {present}")


@models.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="name in the manifest (default: the file's stem)")
@click.option("--imgsz", default=640, show_default=True, help="export size for a .pt")
@click.option("--license", "license_", default="unknown", show_default=True, help="the weights' licence")
@click.option("--replace", is_flag=True, help="replace a model of the same name")
def models_add(path: Path, name, imgsz, license_, replace) -> None:
    """Register a YOLO model: a .pt is exported to ONNX with ultralytics (the `yolo` extra), then added.

    Use it by naming it in cameras.yaml: models: {detector: NAME}."""
    from vision.models.admin import add_model
    spec = add_model(path, name=name, imgsz=imgsz, license=license_, replace=replace,
                     progress=lambda msg: click.echo(msg, err=True))
    click.echo(f"added {spec.name}: {spec.task} model, {len(spec.labels)} classes "
               f"({', '.join(spec.labels[:8])}{', ...' if len(spec.labels) > 8 else ''}) -> {spec.file}")


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--behaviour", "behaviours", multiple=True,
              help="fit only these heads (phone_in_use, badge_worn, eating, asleep, window_state, "
                   "window_occupied, window_head_down; repeat); default: every one the labels allow")
@click.option("--activate", is_flag=True, help="switch the new versions on (default: they stay off until "
                                               "`hallmonitor heads activate` or the dashboard's switch)")
@click.option("--by", "by", default=None, help="who trains, for the record (default: the system user)")
def train(config_path: Path, behaviours, activate: bool, by) -> None:
    """Fit the hall's heads on the labels managers gave in the dashboard; print before/after on held-back labels."""
    import getpass

    from tqdm import tqdm

    from vision.config import load_config
    from vision.store.database import Store
    from vision.training.fit import format_table, train_in_run
    config = load_config(config_path)
    who = by or f"cli:{getpass.getuser()}"
    with Store(config.store_target()) as store, \
            tqdm(total=100, desc="train", unit="%", file=sys.stderr, disable=not sys.stderr.isatty(),
                 bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}") as bar:
        def progress(fraction: float, stage: str) -> None:
            bar.n = round(100 * fraction)
            bar.set_postfix_str(stage, refresh=True)

        run_id, result = train_in_run(config, store, list(behaviours) or None, who, activate=activate,
                                      progress=progress)
    click.echo(f"training run {run_id}: held-back labels are whole days (or whole events), never single frames")
    click.echo(format_table(result))
    if result["rows"] and not activate:
        click.echo("the new versions are off; switch one on with: hallmonitor heads activate "
                   + result["rows"][0]["ref"])
    if not result["rows"]:
        click.echo("nothing fitted: label staff crops and window states on events' pages in the dashboard "
                   "(Teach the heads), or confirm window-state candidates on its Training page")


@click.group()
def heads() -> None:
    """The hall's own heads: versions, which is on, switching and rolling back."""


def _hall_heads(config_path: Path):
    from vision.config import load_config
    from vision.store.database import Store
    from vision.training.versions import HallHeads
    config = load_config(config_path)
    return HallHeads(Store(config.store_target()))


def _prf(m) -> str:
    return "-" if not m else f"{m['precision']:.2f}/{m['recall']:.2f}/{m['f1']:.2f}"


@heads.command("list")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def heads_list(config_path: Path) -> None:
    """Every version of the hall's heads: on/off, held-back P/R/F1 before and after, who trained it."""
    from vision.events import iso
    hh = _hall_heads(config_path)
    versions = hh.versions()
    if not versions:
        click.echo("no hall heads yet: label crops in the dashboard, then run `hallmonitor train`")
    for v in versions:
        before = v.metrics.get("before")
        click.echo(f"{'ON ' if v.active else '   '}{v.ref:<34} before {_prf(before and before['scores']):<15} "
                   f"after {_prf(v.metrics.get('after')):<15} train {v.metrics.get('n_train', '?'):>4} "
                   f"held {v.metrics.get('n_held_back', '?'):>4}  {v.trained_by} {iso(v.trained_at)}")
    hh.store.close()


@heads.command("activate")
@click.argument("ref")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--by", "by", default=None, help="who switches, for the record (default: the system user)")
def heads_activate(ref: str, config_path: Path, by) -> None:
    """Switch a version on: NAME@VERSION as `heads list` shows it (hall-phone_in_use@2); cameras follow."""
    import getpass
    hh = _hall_heads(config_path)
    v = hh.activate(ref, by or f"cli:{getpass.getuser()}")
    click.echo(f"{v.ref} is on")
    hh.store.close()


@heads.command("rollback")
@click.argument("head", required=False)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--by", "by", default=None, help="who rolls back, for the record (default: the system user)")
def heads_rollback(head, config_path: Path, by) -> None:
    """Undo the last switch of HEAD (hall-phone_in_use; default: the head switched last)."""
    import getpass
    hh = _hall_heads(config_path)
    if head and not head.startswith("hall-"):
        head = "hall-" + head
    done = hh.rollback(head, by or f"cli:{getpass.getuser()}")
    to = f"{done['head']}@{done['to_version']} is on" if done["to_version"] else f"{done['head']} is off"
    click.echo(f"rolled back {done['head']}: {to} (was version {done['from_version']})")
    hh.store.close()
