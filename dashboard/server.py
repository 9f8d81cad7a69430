"""Serve the app with waitress (a production WSGI server), in a thread beside the workers or alone."""

from __future__ import annotations

import errno
import logging
import threading

from waitress.server import create_server

from vision.errors import InputError

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, app, host: str, port: int, threads: int = 8):
        # SSE streams hold a thread each: keep enough for a few open dashboards
        try:        # binds here, so a caller can bind before it starts anything else
            self.server = create_server(app, host=host, port=port, threads=threads, channel_timeout=120,
                                        ident="hallmonitor")
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"dashboard: port {port} on {host} is already in use (another hallmonitor, or "
                                 f"another server?). Stop it, or pick a free port with --port or "
                                 f"`dashboard: {{port: ...}}` in cameras.yaml") from None
            raise InputError(f"dashboard: cannot listen on {host}:{port} ({exc.strerror or exc}); check "
                             f"dashboard.host and dashboard.port in cameras.yaml") from None
        self.thread = threading.Thread(target=self._serve, name="web", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.getsockname()[:2]
        return f"http://{host}:{port}/"

    def _serve(self) -> None:
        try:
            self.server.run()
        except OSError:  # closed on stop
            pass

    def start(self) -> "WebServer":
        self.thread.start()
        log.info("dashboard on %s", self.url)
        return self

    def stop(self) -> None:
        self.server.close()
        self.thread.join(5)
