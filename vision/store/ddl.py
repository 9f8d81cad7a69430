"""What a table's owner needs to declare its tables: the migration type and one helper.

Each owner keeps the ``CREATE`` statements of its tables next to the queries that use them
(vision/store/events.py, windows.py, accounts.py, vision/webhooks/tables.py, vision/training/teaching.py
and versions.py, vision/mqtt/cursor.py); vision/store/schema.py numbers them. This module imports
nothing of theirs, so they can all import it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]


def ddl(conn: sqlite3.Connection, *statements: str) -> None:
    """Run schema statements inside the migration's transaction."""
    # one execute per statement: executescript() would COMMIT the migration's transaction
    for sql in statements:
        conn.execute(sql)
