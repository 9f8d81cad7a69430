"""The `hallmonitor` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vision import __version__
from vision.errors import HallmonitorError


class Command(click.Group):
    """Turns every HallmonitorError into a one-line message and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except HallmonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=Command)
@click.version_option(__version__, prog_name="hallmonitor")
def main() -> None:
    """hallmonitor: watch the staff windows of a service hall with cameras and models."""


def _counter(value: str | None):
    if not value:
        return None
    try:
        nums = [float(v) for v in value.split(",")]
    except ValueError:
        nums = []
    if len(nums) != 4:
        raise click.BadParameter("give the counter as four pixel numbers x1,y1,x2,y2, e.g. 0,400,640,480")
    return tuple(nums)


@main.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="cameras.yaml with the window zones")
@click.option("--camera", "camera_id", help="camera id in the config (default: the first)")
@click.option("--counter", help="without --config: the counter box in pixels, x1,y1,x2,y2")
@click.option("--json", "as_json", is_flag=True, help="print JSON (one line per image for a folder)")
@click.option("--annotate", "annotate_path", type=click.Path(path_type=Path),
              help="write the picture with zones, boxes, skeletons and verdicts (a folder for a folder)")
@click.option("--start", help="video only: wall-clock time of the first frame, ISO 8601 "
              "(default: today's first service opening)")
def analyze(source: Path, config_path, camera_id, counter, as_json, annotate_path, start) -> None:
    """Analyse a photo, a folder of photos, or a video file.

    A video runs the camera's rules at its analysis rate and prints events as JSON lines."""
    from vision.analysis.photo import IMAGE_SUFFIXES, analyze_image, list_images
    from vision.config import load_config
    from vision.errors import InputError
    from vision.media.annotate import annotate
    from vision.perception.load import load_analyzer

    counter_px = _counter(counter)
    config = load_config(config_path) if config_path else None
    if config is not None and camera_id is not None:
        config.camera(camera_id)
    if config is not None and not config.cameras:
        raise InputError(f"{config_path}: has no cameras; add one with its windows")
    if source.is_file() and source.suffix.lower() not in IMAGE_SUFFIXES and _is_video(source):
        from vision.analysis.video import analyze_video
        if config is None:
            raise InputError("a video needs --config and --camera: the rules are set per window in cameras.yaml")
        start_ts = None
        if start:
            try:
                from datetime import datetime
                start_ts = datetime.fromisoformat(start).astimezone().timestamp()
            except ValueError:
                raise click.BadParameter("give --start as ISO 8601, e.g. 2026-11-23T09:00+08:00") from None
        analyze_video(source, config, camera_id or config.cameras[0].id, start_ts)
        return
    analyzer = load_analyzer(config.models if config else None, config.base_dir if config else None)
    if source.is_dir():
        images = list_images(source)
        if not images:
            raise InputError(f"{source}: no images (jpg, png, bmp, webp, tif) in this folder")
        if annotate_path:
            annotate_path.mkdir(parents=True, exist_ok=True)
        failed = 0
        show = sys.stderr.isatty()
        from tqdm import tqdm
        for path in tqdm(images, desc="analyse", unit="img", disable=not show, file=sys.stderr):
            try:
                result = analyze_image(path, analyzer, config, camera_id, counter_px)
            except InputError as exc:
                failed += 1
                click.echo(json.dumps({"image": {"path": str(path)}, "error": str(exc)}, ensure_ascii=False))
                continue
            click.echo(json.dumps(result.to_json(), ensure_ascii=False))
            if annotate_path:
                _write_annotated(annotate_path / f"{path.stem}.annotated.png", result, annotate)
        if failed:
            click.echo(f"{failed} of {len(images)} images could not be read (see their error lines)", err=True)
            sys.exit(1)
        return
    result = analyze_image(source, analyzer, config, camera_id, counter_px)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_summary(result)
    if annotate_path:
        _write_annotated(annotate_path, result, annotate)
        if not as_json:
            click.echo(f"annotated picture: {annotate_path}")


@main.command("eval")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--labels", "labels_path", required=True, type=click.Path(path_type=Path),
              help="JSON list of {file, labels: {staff_present, phone_on_desk, phone_in_hand, phone_at_ear, "
                   "badge_visible, eating_or_drinking, head_down_sleeping}, desk_region?, source?}; "
                   "errors name a record by its index from 0")
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              help="cameras.yaml with the window zones (then desk_region is not used)")
@click.option("--camera", "camera_id", help="camera id in the config (default: the first)")
@click.option("--sheet", "sheet_path", type=click.Path(path_type=Path),
              help="contact sheet of every miss and false alarm (default: LABELS.sheet.html beside the labels)")
@click.option("--json", "as_json", is_flag=True, help="print the metrics as JSON")
@click.option("--limit", type=click.IntRange(min=1), help="score only the first N records")
def eval_command(folder: Path, labels_path: Path, config_path, camera_id, sheet_path, as_json, limit) -> None:
    """Score the verdicts on labelled photos: P/R/F1 and balanced accuracy per verdict, per source, cost per
    stage, and an HTML contact sheet of the misses."""
    from vision.config import load_config
    from vision.errors import InputError
    from vision.evaluation.labels import load_records, missing_images
    from vision.evaluation.run import run_eval
    from vision.evaluation.scores import format_table
    from vision.perception.load import load_analyzer

    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder of images")
    records = load_records(labels_path)
    if limit:
        records = records[:limit]
    missing = missing_images(records, folder)
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise InputError(f"{labels_path}: {len(missing)} labelled image(s) not found in {folder}: {shown}")
    config = load_config(config_path) if config_path else None
    if config is not None:
        if not config.cameras:
            raise InputError(f"{config_path}: has no cameras; add one with its windows")
        if camera_id is not None:
            config.camera(camera_id)
        if any(r.desk_region for r in records):
            click.echo("eval: --config given, so the records' desk_region is not used (the windows' counters are)",
                       err=True)
    sheet = sheet_path or labels_path.with_name(labels_path.stem + ".sheet.html")
    analyzer = load_analyzer(config.models if config else None, config.base_dir if config else None)
    run = run_eval(folder, records, analyzer, sheet, config, camera_id)
    report = run.report
    if run.unreadable:
        report["unreadable"] = run.unreadable
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
    else:
        click.echo(format_table(report))
        click.echo(f"\ncontact sheet: {sheet} ({len(report['misses'])} wrong verdicts)")
    if run.unreadable:
        for line in run.unreadable:
            click.echo(f"error: {line}", err=True)
        click.echo(f"{len(run.unreadable)} of {len(records)} images could not be read and were not scored", err=True)
        sys.exit(1)


@main.group()
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


@main.command()
@click.option("--images", "image_dir", type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="folder of photos to run (default: the fetched real photos and the bundled example)")
@click.option("--repeats", default=5, show_default=True, help="passes over the photos")
@click.option("--threads", default=1, show_default=True, help="onnxruntime threads (1 = the cost on one core)")
@click.option("--no-crop-pass", is_flag=True, help="skip the second detector pass on person crops")
@click.option("--cameras", "cameras", type=int, multiple=True,
              help="run the live pipeline against this many real RTSP streams (repeat for several runs)")
@click.option("--windows-per-camera", default=2, show_default=True)
@click.option("--seconds", default=30.0, show_default=True, help="measured seconds per run (after a warm-up)")
@click.option("--fps", default=1.0, show_default=True, help="analyses per second per camera")
@click.option("--sweep", is_flag=True, help="raise the camera count until the goal no longer holds")
@click.option("--mode", "modes", type=click.Choice(["baseline", "optimized", "lean", "optimized-int8", "lean-int8"]), multiple=True,
              help="with --cameras: the pipeline settings to measure (default: optimized; repeat for both)")
@click.option("--head", "heads", multiple=True,
              help="photos: run this behaviour head too (a head name in the manifest; repeat for several)")
def bench(image_dir, repeats, threads, no_crop_pass, cameras, windows_per_camera, seconds, fps, sweep, modes,
          heads) -> None:
    """Per-stage latency on photos; or, with --cameras, the live pipeline on N real RTSP streams."""
    if cameras:
        import logging

        from hallmonitor.stream_bench import stream_bench
        from vision.logs import setup_logging
        setup_logging(level=logging.WARNING)
        click.echo(stream_bench(list(cameras), windows_per_camera, seconds, fps, list(modes) or ["optimized"],
                                not no_crop_pass, sweep))
        return
    from hallmonitor.bench import default_images, format_stage_table, stage_bench
    from vision.analysis.photo import list_images
    from vision.errors import InputError

    images = list_images(image_dir) if image_dir else default_images()
    if not images:
        raise InputError("no photos to run: give --images DIR, or run scripts/fetch-media.sh")
    click.echo(f"bench: {len(images)} photos x {repeats} passes, {threads} thread(s)", err=True)
    with click.progressbar(length=repeats, label="bench", file=sys.stderr) as bar:
        result = stage_bench(images, repeats, threads, not no_crop_pass,
                             progress=lambda done, total: bar.update(1), heads=list(heads) if heads else None)
    click.echo(format_stage_table(result))


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--log-json", is_flag=True, help="structured logs: one JSON object per line")
def run(config_path: Path, log_json: bool) -> None:
    """Run every camera of the hall: capture, models, rules, events with snapshots and clips."""
    from vision.config import load_config
    from vision.logs import setup_logging
    setup_logging(log_json)
    config = load_config(config_path)
    run_until_signal(config, config_path=config_path.resolve())


@main.command()
@click.option("--folder", type=click.Path(path_type=Path), default="var/demo", show_default=True,
              help="where the demo keeps its streams, config, database and clips")
@click.option("--port", default=8554, show_default=True, help="RTSP port of the demo cameras (0: any free port)")
@click.option("--web-port", default=8080, show_default=True, help="dashboard port (0: any free port)")
@click.option("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
def demo(folder: Path, port: int, web_port: int, seconds: float | None) -> None:
    """Real RTSP cameras serving real footage, the real models and rules: events within a minute."""
    from hallmonitor.demo import prepare
    from vision.config import load_config
    from vision.logs import setup_logging
    setup_logging()
    from hallmonitor.demo import ensure_demo_admin
    server, config_path = prepare(folder.resolve(), port, web_port)
    try:
        config = load_config(config_path)
        password = ensure_demo_admin(config)
        login_file = config.path(config.storage.database).parent / "demo-login.txt"

        def started(sup):
            click.echo("")
            click.echo(f"  dashboard:      {sup.web_url}   login: demo / "
                       f"{password or '(see ' + str(login_file) + ')'}")
            click.echo("  demo cameras:   " + ", ".join(server.urls.values()))
            click.echo(f"  config:         {config_path}")
            click.echo(f"  events:         {sup.store.path}   (sqlite3 {sup.store.path} 'select type, phase, window_id from events')")
            click.echo(f"  snapshots/clips {config.path(config.storage.media_dir)}")
            click.echo("  events print below as they happen; Ctrl-C stops")
            click.echo("")

        def show(ev):
            click.echo(f"  [{ev.phase:>7}] {ev.type:<16} window={ev.window_id or '-':<4} camera={ev.camera_id} "
                       f"severity={ev.severity}" + (f" duration={ev.duration_s:.0f}s" if ev.phase == "ended" else "")
                       + (f" clip={ev.clip}" if ev.phase == "started" and ev.clip else ""))
        run_until_signal(config, on_started=started, publish=show, seconds=seconds, config_path=config_path)
    finally:
        server.stop()


@main.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--host", help="address to listen on (default: dashboard.host in the config)")
@click.option("--port", type=int, help="port (default: dashboard.port in the config)")
def dashboard(config_path: Path, host, port) -> None:
    """Serve the dashboard and API alone (the workers run elsewhere, e.g. `hallmonitor run`)."""
    import signal
    import threading

    from dashboard import create_app
    from dashboard.server import WebServer
    from vision.config import load_config
    from vision.logs import setup_logging
    setup_logging()
    config = load_config(config_path)
    app = create_app(config, config_path=config_path.resolve())
    web = WebServer(app, host or config.dashboard.host, config.dashboard.port if port is None else port).start()
    click.echo(f"dashboard: {web.url}  (first admin: hallmonitor users add NAME --role admin)", err=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    web.stop()


@main.group()
def users() -> None:
    """Dashboard accounts."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "manager", "viewer"]), default="viewer", show_default=True)
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input instead of a prompt")
def users_add(username: str, role: str, config_path: Path, password_stdin: bool) -> None:
    """Create a user (the first admin is made this way)."""
    from dashboard.accounts import Accounts
    from vision.config import load_config
    from vision.store.database import Store
    config = load_config(config_path)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with Store(config.path(config.storage.database)) as store:
        user = Accounts(store).add_user(username, password, role)
    click.echo(f"user {user['username']} ({user['role']}) created in {config.path(config.storage.database)}")


@main.group()
def tokens() -> None:
    """API tokens for integrators (Authorization: Bearer hm_...)."""


def _accounts(config_path: Path):
    from dashboard.accounts import Accounts
    from vision.config import load_config
    from vision.store.database import Store
    config = load_config(config_path)
    store = Store(config.path(config.storage.database))
    return store, Accounts(store)


@tokens.command("add")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write"]), default="read", show_default=True,
              help="read: events, media, health; write: also reviews and window pause/resume")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def tokens_add(name: str, scope: str, config_path: Path) -> None:
    """Make a token; it is printed once and never stored (only its hash is)."""
    import getpass
    store, accounts = _accounts(config_path)
    with store:
        token, secret = accounts.create_token(name, scope, created_by=f"cli:{getpass.getuser()}")
    click.echo(f"token {token['id']} ({token['scope']}) for {token['name']!r}; keep it now, it is not shown again:",
               err=True)
    click.echo(secret)


@tokens.command("list")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def tokens_list(config_path: Path) -> None:
    """Every token: id, scope, name, who made it, when last used, revoked or not."""
    from datetime import datetime
    store, accounts = _accounts(config_path)
    with store:
        rows = accounts.tokens()
    when = lambda ts: "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")  # noqa: E731
    click.echo(f"{'id':<17} {'scope':<5} {'created':<16} {'last used':<16} {'revoked':<16} name (by)")
    for t in rows:
        click.echo(f"{t['id']:<17} {t['scope']:<5} {when(t['created_at']):<16} {when(t['last_used_at']):<16} "
                   f"{when(t['revoked_at']):<16} {t['name']} ({t['created_by'] or '-'})")


@tokens.command("revoke")
@click.argument("token_id")
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
def tokens_revoke(token_id: str, config_path: Path) -> None:
    """Revoke a token at once (its next request answers 401)."""
    store, accounts = _accounts(config_path)
    with store:
        token = accounts.revoke_token(token_id)
    click.echo(f"token {token['id']} ({token['name']!r}) revoked")


@main.group()
def webhooks() -> None:
    """Webhooks for integrators (Standard Webhooks: signed, retried)."""


@webhooks.command("secret")
def webhooks_secret() -> None:
    """Print a new signing secret (whsec_...) for a webhook endpoint in cameras.yaml."""
    from vision.webhooks.signing import new_secret
    click.echo(new_secret())


@main.command()
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
    with Store(config.path(config.storage.database)) as store, \
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


@main.group()
def heads() -> None:
    """The hall's own heads: versions, which is on, switching and rolling back."""


def _hall_heads(config_path: Path):
    from vision.config import load_config
    from vision.store.database import Store
    from vision.training.versions import HallHeads
    config = load_config(config_path)
    return HallHeads(Store(config.path(config.storage.database)))


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


def run_until_signal(config, on_started=None, publish=None, seconds: float | None = None,
                     config_path: Path | None = None) -> None:
    """The engine (vision.runtime.run) with the dashboard as its front end."""
    from dashboard import create_app
    from dashboard.server import WebServer
    from vision.runtime.run import run as run_hall

    def serve(sup):
        return WebServer(create_app(config, store=sup.store, supervisor=sup, config_path=config_path),
                         config.dashboard.host, config.dashboard.port)

    run_hall(config, serve=serve, on_started=on_started, publish=publish, seconds=seconds,
             say=lambda line: click.echo(line, err=True))


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in {".mp4", ".avi", ".mkv", ".mov", ".h264", ".264", ".ts", ".webm"}


def _write_annotated(path: Path, result, annotate) -> None:
    import cv2

    from vision.errors import InputError
    picture = annotate(result.image, result.windows, result.observations)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), picture):
        raise InputError(f"{path}: cannot write the picture here (check the folder and the suffix .png/.jpg)")


def _print_summary(result) -> None:
    data = result.to_json()
    img = data["image"]
    click.echo(f"{img['path']}: {img['width']}x{img['height']}, {len(data['persons'])} persons, "
               f"{len(data['objects'])} objects, {data['timing_ms'].get('total', 0):.0f} ms")
    for p in data["persons"]:
        flags = [k for k in ("staff", "phone_in_hand", "phone_at_ear", "eating", "head_down") if p[k]]
        eyes = "no face" if p.get("face") is None else (p["eyes"] or "unknown")
        click.echo(f"  person {p['score']:.2f} at {p['box']} badge={p['badge']} eyes={eyes} {' '.join(flags)}")
    for o in data["objects"]:
        click.echo(f"  {o['label']} {o['score']:.2f} at {o['box']}{' on counter' if o['on_counter'] else ''}")
    for w in data["windows"]:
        click.echo(f"  window {w['id']}: staff_present={w['staff_present']} phone_on_counter={w['phone_on_counter']} "
                   f"phone_in_use={w['phone_in_use']} badge_missing={w['badge_missing']} eating={w['eating']} "
                   f"head_down={w['head_down']}")


if __name__ == "__main__":
    main()
