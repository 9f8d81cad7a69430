"""Serve the site with uvicorn (an ASGI server), in a thread beside the workers or alone.

The boards' event streams live on uvicorn's event loop (dashboard/streams.py), so open boards do not
take threads; the Flask app answers every other path in a pool of ``threads`` worker threads.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import threading

import uvicorn

from vision.errors import InputError

from .streams import HallASGI

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, app, host: str, port: int, threads: int = 8):
        self.site = HallASGI(app, threads=threads)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:        # binds here, so a caller can bind before it starts anything else
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.sock.listen(2048)
        except OSError as exc:
            self.sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"dashboard: port {port} on {host} is already in use (another hallmonitor, or "
                                 f"another server?). Stop it, or pick a free port with --port or "
                                 f"`dashboard: {{port: ...}}` in cameras.yaml") from None
            raise InputError(f"dashboard: cannot listen on {host}:{port} ({exc.strerror or exc}); check "
                             f"dashboard.host and dashboard.port in cameras.yaml") from None
        self.server = uvicorn.Server(uvicorn.Config(
            self.site, lifespan="off", log_config=None, log_level="warning",   # its warnings go to our log
            access_log=False, timeout_keep_alive=30, timeout_graceful_shutdown=2, server_header=False,
            proxy_headers=False))   # the client is the peer, as before: X-Forwarded-For cannot dodge the login throttle
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=self._serve, name="web", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}/"

    def _serve(self) -> None:
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))
        finally:
            self.loop.close()

    def start(self) -> WebServer:
        self.thread.start()
        log.info("dashboard on %s", self.url)
        return self

    def stop(self) -> None:
        if self.loop is not None and self.thread.is_alive():
            try:
                self.loop.call_soon_threadsafe(self.site.hub.close)     # end the open streams now
            except RuntimeError:     # the loop has just closed
                pass
        self.server.should_exit = True
        if self.thread.ident is not None:
            self.thread.join(5)
        self.sock.close()
