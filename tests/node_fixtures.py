"""The database the node tests share: a SQLite file in the test's folder.

``hall_database`` is a factory: each call opens the same database anew, as another process would.
When the PostgreSQL back-end lands, a ``HALLMONITOR_TEST_DATABASE`` URL (or its fixture) goes here:
the node tests only open stores through this factory and write ``storage.database`` from
:func:`database_setting`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from vision.store.database import Store


def database_setting(folder: Path) -> str:
    """What cameras.yaml's ``storage.database`` says for a hall in ``folder``."""
    return str(folder / "hall.db")


@pytest.fixture()
def hall_database(store_target) -> Iterator[Callable[[], Store]]:
    """Opens the hall's database, once per node: a SQLite file or a PostgreSQL database, the test run on
    both (store_target, tests/pg_fixtures.py)."""
    opened: list[Store] = []

    def open_store() -> Store:
        store = Store(store_target)
        opened.append(store)
        return store

    yield open_store
    for store in opened:
        store.close()
