"""`hallmonitor run`, `demo` and `dashboard`: the engine with the dashboard as its front end."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), default="cameras.yaml", show_default=True)
@click.option("--log-json", is_flag=True, help="structured logs: one JSON object per line")
@click.option("--node", "node", metavar="NAME", default=None,
              help="this box's name among the nodes sharing the database (default: the host name); each "
                   "camera is watched by one node, and the others take it over within 30 s if that node dies")
def run(config_path: Path, log_json: bool, node: str | None) -> None:
    """Run the hall's cameras (this node's share): capture, models, rules, events with snapshots and clips."""
    from vision.config import load_config
    from vision.logs import setup_logging
    from vision.runtime.node import check_name, default_name
    node = check_name(node) if node is not None else default_name()
    setup_logging(log_json)
    config = load_config(config_path)
    run_until_signal(config, config_path=config_path.resolve(), node=node)


@click.command()
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
            click.echo(f"  events:         {sup.store.path}   (sqlite3 {sup.store.path} 'select type, phase, "
                       "window_id from events')")
            click.echo(f"  snapshots/clips {config.path(config.storage.media_dir)}")
            click.echo("  events print below as they happen; Ctrl-C stops")
            click.echo("")

        def show(ev):
            click.echo(f"  [{ev.phase:>7}] {ev.type:<16} window={ev.window_id or '-':<4} camera={ev.camera_id} "
                       f"severity={ev.severity}" + (f" duration={ev.duration_s:.0f}s" if ev.phase == "ended" else "")
                       + (f" clip={ev.clip}" if ev.phase == "started" and ev.clip else ""))
        from vision.runtime.node import default_name
        run_until_signal(config, on_started=started, publish=show, seconds=seconds, config_path=config_path,
                         node=default_name())
    finally:
        server.stop()


@click.command()
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


def run_until_signal(config, on_started=None, publish=None, seconds: float | None = None,
                     config_path: Path | None = None, node: str | None = None) -> None:
    """The engine (vision.runtime.run) with the dashboard as its front end."""
    from dashboard import create_app
    from dashboard.server import WebServer
    from vision.runtime.run import run as run_hall

    def serve(sup):
        return WebServer(create_app(config, store=sup.store, supervisor=sup, config_path=config_path),
                         config.dashboard.host, config.dashboard.port)

    run_hall(config, serve=serve, on_started=on_started, publish=publish, seconds=seconds, node=node,
             say=lambda line: click.echo(line, err=True), config_path=config_path)
