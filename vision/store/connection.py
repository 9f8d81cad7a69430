"""The database and its connections: one per thread; every write one transaction holding the write lock.

The database is a SQLite file (the embedded default) or a PostgreSQL database named by a
``postgresql://`` URL (vision/store/postgres.py); vision/store/dialect.py says how the two differ.
What follows is about the SQLite file; on PostgreSQL a write is ``BEGIN`` plus one advisory lock, so
writers queue the same way, and durability is the server's (``synchronous_commit``, its fsync).

One file, shared by the worker process (writes) and the dashboard process (reads), each thread on
its own connection. Every write is one ``BEGIN IMMEDIATE`` transaction, so a writer takes the write
lock up front and waits (``busy_timeout``) instead of failing half-way on a lock upgrade.

Durability: ``synchronous=FULL`` by default. In WAL mode a committed transaction is already in the
operating system's file cache when ``COMMIT`` returns, so ``kill -9`` of the process loses nothing even
with ``NORMAL``; ``FULL`` also fsyncs the WAL on every commit, so an event that was reported (and
whose webhook went out) survives a power cut or kernel crash too. The price is one fsync per commit
(about 1-2 ms on a local disk); events are rare, so we pay it. ``Store(path, synchronous="NORMAL")``
exists for bulk loads (the benchmark).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vision.errors import HallmonitorError, InputError
from vision.store.checks import one_of
from vision.store.dialect import POSTGRESQL, SQLITE, Dialect
from vision.store.postgres import PgConnection, is_postgres_url, mask

SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")
BUSY_TIMEOUT_MS = 10_000


class StoreError(HallmonitorError):
    """The database file cannot be used (not a database, unreadable, from a newer hallmonitor)."""


class _Connection:
    """Holds one thread's connection and closes it when the thread (and so its thread-local) goes."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: sqlite3.Connection | PgConnection):
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - closing at interpreter exit must not raise
            pass


def make_private(path: Path) -> None:
    """The database holds password hashes and webhook secrets: owner-only (0600). SQLite creates the
    -wal and -shm files with the main file's permissions, so creating that one 0600 covers them."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            pass


def sqlite_path(target: Path | str) -> Path:
    """The file of a SQLite target: a path, or a ``sqlite:///path`` URL (``sqlite:////abs/path``)."""
    text = str(target)
    if text.startswith("sqlite://"):
        text = text[len("sqlite://"):]
        text = text[1:] if text.startswith("/") else text
    if text in ("", ":memory:") or text.startswith("file:"):
        raise InputError(f"database path {text!r}: give a file path (each thread opens its own connection)")
    return Path(text)


class Connections:
    """Per-thread connections to one database, and the transactions on them (the base of ``Store``).

    ``target``: a SQLite file (a path or ``sqlite:///path``) or a ``postgresql://`` URL. ``where`` names
    it in messages (a URL with its password masked).
    """

    dialect: Dialect
    path: Path | None          # the SQLite file; None on PostgreSQL

    def __init__(self, target: Path | str, synchronous: str):
        if is_postgres_url(target):
            self.dialect, self.path = POSTGRESQL, None
            self._url = str(target)
            self.where = mask(self._url)
        else:
            self.dialect, self.path = SQLITE, sqlite_path(target)
            self._url = ""
            self.where = str(self.path)
        self.synchronous = one_of("synchronous", str(synchronous).upper(), SYNCHRONOUS_MODES)
        self._local = threading.local()
        self._holders: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    def _connect(self) -> sqlite3.Connection:
        if self.path is None:
            return PgConnection(self._url)  # type: ignore[return-value]  # reads like a sqlite3.Connection
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA cache_size = -16000")  # KiB: 16 MB, so the dashboard indexes stay in memory
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"{self.where}: the store is closed")
        holder = getattr(self._local, "holder", None)
        if holder is not None and getattr(holder.conn, "broken", False):   # PostgreSQL only: the server went away
            with self._lock:
                self._holders.discard(holder)
            holder = None
        if holder is None:
            holder = _Connection(self._connect())
            self._local.holder = holder
            with self._lock:
                self._holders.add(holder)
        return holder.conn  # type: ignore[return-value]  # a PgConnection reads like a sqlite3.Connection

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        self.dialect.start_write(conn)
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A snapshot for reads that take more than one statement."""
        conn = self._conn()
        conn.execute(self.dialect.begin_read)
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def write(self):
        """A write transaction (holding the write lock until COMMIT) on this thread's connection, for modules
        that keep their own tables in this database (accounts, webhook endpoints)."""
        return self._write()

    def read(self):
        """A read snapshot on this thread's connection."""
        return self._read()

    def query(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """One statement on this thread's connection, for modules that keep their own tables here (its cursor:
        ``fetchone``, ``fetchall`` or iterate). More than one statement that must agree: ``read()`` or ``write()``."""
        return self._conn().execute(sql, tuple(params))

    def close(self) -> None:
        """Close every thread's connection; the store cannot be used afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            holders = list(self._holders)
            self._holders.clear()
        mine = getattr(self._local, "holder", None)
        if mine is not None and self.dialect is SQLITE:
            try:  # SQLite's advice for long-lived connections: refresh the planner's statistics on close
                mine.conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass
        for holder in holders:
            holder.conn.close()
