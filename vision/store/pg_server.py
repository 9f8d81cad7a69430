"""A throw-away PostgreSQL server in a temporary folder, for the tests and the store benchmark.

It runs Debian's own binaries (``/usr/lib/postgresql/<version>/bin``: ``apt-get install postgresql``)
on a free loopback port, with its socket in the same folder, trusting local logins and listening on
127.0.0.1 only. PostgreSQL refuses to run as root: as root, the server runs as the ``postgres`` user
that Debian's package creates (or ``nobody``), via ``runuser``, and the folder is handed to that user.

    with ScratchServer() as server:
        url = server.create_database("hall")     # postgresql://hallmonitor@127.0.0.1:PORT/hall
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "hallmonitor"   # the database superuser the scratch cluster is made with


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> str | None:
    """The user to run the server as when we are root (it refuses root), else None (ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user to run PostgreSQL as")


class ScratchServer:
    """One PostgreSQL cluster in a temp folder; ``stop()`` (or leaving the ``with``) removes it all."""

    def __init__(self, bin_dir: Path | None = None, *, durable: bool = False):
        """``durable`` False (tests): no fsync, as nothing in a scratch cluster must survive a power cut.
        True (the benchmark): the server's defaults, each commit flushed to disk."""
        self.durable = durable
        found = bin_dir or postgres_bin()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
        self.bin = found
        self.port = _free_port()
        self.user = _run_as()
        # as root, under /tmp: the server's user must be able to reach the folder (root's TMPDIR may not be)
        self.dir = Path(tempfile.mkdtemp(prefix="hallmonitor-pg-", dir="/tmp" if self.user else None))
        self.data = self.dir / "data"
        self._started = False

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *args] if self.user else list(args)

    def start(self) -> ScratchServer:
        if self.user:
            os.chmod(self.dir, 0o700)
            shutil.chown(self.dir, self.user, pwd.getpwnam(self.user).pw_gid)
        subprocess.run(self._cmd(str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                                 "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
                       check=True, capture_output=True, cwd=self.dir)
        # the cluster's own user logs in without a password; members of password_login must give theirs
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all +password_login 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n")
        if self.user:
            shutil.chown(self.data / "pg_hba.conf", self.user, pwd.getpwnam(self.user).pw_gid)
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.dir}"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                                 "-o", options, "-w", "-t", "60", "start"),
                       check=True, capture_output=True, cwd=self.dir)
        self._started = True
        self.sql("CREATE ROLE password_login NOLOGIN")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the cluster's superuser."""
        import psycopg
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement.encode())

    def create_database(self, name: str) -> str:
        """A new empty database; returns its URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self._started:
            subprocess.run(self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"),
                           capture_output=True, cwd=self.dir)
            self._started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ScratchServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(url: str, timeout_s: float = 10.0) -> None:
    """Block until the server answers (after a restart)."""
    import psycopg
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
