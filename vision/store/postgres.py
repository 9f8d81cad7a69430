"""A PostgreSQL connection that reads like a ``sqlite3.Connection`` to the store (psycopg 3 underneath).

The store's modules call ``conn.execute(sql, params)``, iterate the cursor, index rows by position or
column name and catch ``sqlite3.IntegrityError``. :class:`PgConnection` keeps those promises on
PostgreSQL: each statement goes through vision/store/dialect.py's :func:`postgres_sql`, rows come back
as :class:`Row` (by index or name, ``dict(row)``), a Python ``bool`` is sent as 0/1 as SQLite stores
it, ``numeric`` results (``sum`` of integers) come back as int or float, and the driver's errors are
raised as the ``sqlite3`` error of the same kind (:class:`PgIntegrityError` is a
``sqlite3.IntegrityError``), so one ``except`` serves both back-ends.

The URL's password never leaves this module: :func:`mask` is what every message shows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vision.errors import HallmonitorError
from vision.store.dialect import POSTGRESQL, postgres_sql

SCHEMES = ("postgresql", "postgres")
CONNECT_TIMEOUT_S = 10


class StoreUnreachable(HallmonitorError):
    """The PostgreSQL server named by ``store.url`` cannot be reached or refuses the login."""

    status = 503


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.split("://", 1)[0].lower() in SCHEMES and "://" in target


def mask(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``: what logs, errors and answers show."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "postgresql://***"
    if parts.password is None:
        netloc = parts.netloc
    else:
        user, _, host = parts.netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}"
    query = "&".join("password=***" if q.lower().startswith("password=") else q for q in parts.query.split("&")) \
        if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class Row:
    """One result row: ``row[0]``, ``row["name"]``, ``dict(row)``, unpacking; like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: dict[str, int], values: Sequence[Any]):
        self._names = names
        self._values = values

    def __getitem__(self, key: int | str | slice) -> Any:
        if isinstance(key, str):
            index = self._names.get(key)
            if index is None:
                index = self._names.get(key.lower())
                if index is None:
                    raise IndexError(f"no column named {key}")
            return self._values[index]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return tuple(self._values) == tuple(other._values) and self._names == other._names
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like sqlite3.Row compared by value: not a dict key

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return None
    names: dict[str, int] = {}
    for i, column in enumerate(description):
        names.setdefault(column.name, i)
    return lambda values: Row(names, values)


class PgIntegrityError(sqlite3.IntegrityError):
    """PostgreSQL refused a row (unique, check, foreign key, not null): a ``sqlite3.IntegrityError``."""


class PgOperationalError(sqlite3.OperationalError):
    """PostgreSQL could not run the statement (connection lost, lock, serialization)."""


class PgDatabaseError(sqlite3.DatabaseError):
    """Any other error PostgreSQL reported."""


def _translated(exc: Exception) -> Exception:
    import psycopg
    kind = (PgIntegrityError if isinstance(exc, psycopg.IntegrityError)
            else PgOperationalError if isinstance(exc, psycopg.OperationalError) else PgDatabaseError)
    return kind(str(exc).strip())


def _driver():
    try:
        import psycopg
    except ImportError:
        raise StoreUnreachable(
            "store.url names a PostgreSQL database, but its driver is not installed: "
            "pip install 'hallmonitor[postgres]' (psycopg 3)") from None
    return psycopg


class PgConnection:
    """One thread's connection to PostgreSQL, in autocommit mode like the store's SQLite connections
    (``isolation_level=None``): transactions are the ``BEGIN``/``COMMIT`` the store sends."""

    dialect = POSTGRESQL

    def __init__(self, url: str):
        psycopg = _driver()
        from psycopg.adapt import Dumper, Loader
        from psycopg.pq import Format

        class BoolAsInteger(Dumper):   # SQLite keeps True as 1; the columns are integers here too
            oid = psycopg.adapters.types["int8"].oid
            format = Format.TEXT

            def dump(self, obj: Any) -> bytes:
                return b"1" if obj else b"0"

        class NumericAsNumber(Loader):  # sum() of integers is numeric: an int, as SQLite gives
            def load(self, data: Any) -> Any:
                text = bytes(data).decode()
                return int(text) if text.lstrip("-").isdigit() else float(text)

        try:
            raw = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                                  row_factory=_row_factory)
        except psycopg.Error as exc:
            raise StoreUnreachable(_connect_advice(url, exc)) from None
        raw.adapters.register_dumper(bool, BoolAsInteger)
        raw.adapters.register_loader("numeric", NumericAsNumber)
        self.raw = raw
        self._psycopg = psycopg

    def execute(self, sql: str, params: Any = None) -> Any:
        cur = self.raw.cursor()
        try:
            if params is None or (not isinstance(params, dict) and len(params) == 0):
                cur.execute(postgres_sql(sql, False))
            else:
                cur.execute(postgres_sql(sql, True), params)
        except self._psycopg.Error as exc:
            raise _translated(exc) from exc
        return cur

    def executemany(self, sql: str, seq: Iterable[Any]) -> Any:
        cur = self.raw.cursor()
        try:
            cur.executemany(postgres_sql(sql, True), list(seq))
        except self._psycopg.Error as exc:
            raise _translated(exc) from exc
        return cur

    @property
    def broken(self) -> bool:
        """The server went away (restart, failover, a killed backend): the store opens a new connection."""
        return self.raw.broken or self.raw.closed

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus
        return self.raw.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR,
                                                    TransactionStatus.ACTIVE)

    def close(self) -> None:
        self.raw.close()


def _connect_advice(url: str, exc: Exception) -> str:
    """One sentence naming the key, the server and what to do; never the password (libpq's message has none)."""
    text = " ".join(str(exc).split())
    parts = urlsplit(url)
    if parts.password:
        text = text.replace(parts.password, "***")
    where = f"{parts.hostname or 'localhost'}:{parts.port or 5432}"
    if "password authentication failed" in text or "no password supplied" in text:
        todo = "check the user name and password in store.url"
    elif "does not exist" in text and "database" in text:
        todo = f"create the database ({parts.path.lstrip('/') or '?'}) or fix its name in store.url"
    else:
        todo = f"check that PostgreSQL runs on {where} and accepts connections, or fix host and port in store.url"
    return f"store.url {mask(url)}: cannot connect to PostgreSQL ({text}); {todo}"
