"""The store: the one object the worker, the dashboard and the CLI open on the hall's database.

The database is a SQLite file (the embedded default) or PostgreSQL (``Store("postgresql://...")``);
vision/store/dialect.py keeps what differs, vision/store/postgres.py the PostgreSQL connection.

``Store`` is put together from the rooms of vision/store/, each with one job:

- connection.py   the database, one connection per thread, WAL, write transactions, durability
- schema.py       every migration, numbered in one place, and the runner
- events.py       the events table, its timeline and the webhook outbox: recording transitions
- reviews.py      each event's review history (处置记录); reviewing one event or many
- feed.py         the live feed of the boards: every outbox message (transitions and reviews) in order
- event_queries.py  reading events: one, a timeline, filtered pages, counts, the live feed, the week
- windows.py      window states and pauses
- rota.py         the rota (排班): shifts, imports, who was on duty, per-person numbers
- checks.py       input checks (messages name the argument) and the paging cursor
- accounts.py     the dashboard's users, tokens, sessions and logins (rows only; the policy is the dashboard's)

Other owners keep their tables beside their queries and take the store as an argument:
vision/webhooks (endpoints, deliveries), vision/training (labels, head versions), vision/notify (the group
robots' cursors and queues).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vision.store import schema
from vision.store.connection import StoreError, make_private
from vision.store.event_queries import EventQueries
from vision.store.events import EventRecords
from vision.store.feed import LiveFeed
from vision.store.reviews import ReviewRecords
from vision.store.rota import RotaRecords
from vision.store.windows import WindowRecords


class Store(EventRecords, ReviewRecords, EventQueries, LiveFeed, WindowRecords, RotaRecords):
    """The hall's event database. Thread-safe (one connection per thread); several processes may share it.

    ``target``: a file path or ``sqlite:///path`` (SQLite), or ``postgresql://user:password@host:port/db``.
    """

    def __init__(self, target: Path | str, *, synchronous: str = "FULL"):
        super().__init__(target, synchronous)
        if self.path is None:
            self._open_postgres()
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            make_private(self.path)
            conn = self._conn()
            schema.refuse_newer(conn, str(self.path))
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: SQLite cannot use WAL mode here (got {mode!r}); "
                                 f"put the database on a local disk")
            schema.migrate(conn, where=str(self.path))
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path}: cannot open the database ({exc}); check that the file is a "
                             f"hallmonitor database and that its folder is writable") from None
        except OSError as exc:
            self.close()
            raise StoreError(f"{self.path}: cannot create the database folder ({exc})") from None
        except BaseException:
            self.close()
            raise

    def _open_postgres(self) -> None:
        try:
            conn = self._conn()
            schema.prepare(conn)
            schema.refuse_newer(conn, self.where)
            schema.migrate(conn, where=self.where)
        except sqlite3.DatabaseError as exc:   # PostgreSQL's errors arrive as sqlite3's (vision/store/postgres.py)
            self.close()
            raise StoreError(f"store.url {self.where}: cannot set up the database ({exc}); the user needs the "
                             f"right to create tables and functions in its schema") from None
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"Store({self.where!r})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
