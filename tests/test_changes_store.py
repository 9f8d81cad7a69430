"""The settings change log in the store, on both back-ends: kept newest first, shared by every dashboard
of the hall, and an older release's changes.jsonl read in once without losing or doubling an entry."""

from __future__ import annotations

import json

import pytest

from vision.store import changes
from vision.store.database import Store


@pytest.fixture()
def store(store_target):
    s = Store(store_target)     # both back-ends (tests/pg_fixtures.py)
    yield s
    s.close()


def test_changes_come_back_newest_first_and_two_stores_on_one_database_share_them(store, store_target):
    changes.record(store, 1000.0, "admin", "service hours", "mon-fri", "-a\n+b")
    other = Store(store_target)             # a second node's dashboard on the same database
    try:
        changes.record(other, 1001.5, "ops", "window paused", "w01 · 15 min")
        assert [(c["by"], c["what"]) for c in changes.recent(store)] == [("ops", "window paused"),
                                                                          ("admin", "service hours")]
        assert changes.recent(other, limit=1)[0]["detail"] == "w01 · 15 min"
        assert changes.recent(store)[1]["diff"] == "-a\n+b"
    finally:
        other.close()


def test_an_old_jsonl_log_is_read_in_once_and_renamed_even_with_a_line_cut_by_a_crash(store, tmp_path):
    old = tmp_path / "changes.jsonl"
    lines = [json.dumps({"at": 10.0, "by": "admin", "what": "zones", "detail": "cam-a", "diff": "+x"}),
             json.dumps({"at": 11.0, "by": "admin", "what": "window resumed", "detail": "w02", "diff": ""}),
             '{"at": 12.0, "by": "adm']                         # the crash cut the last line
    old.write_text("\n".join(lines), encoding="utf-8")
    assert changes.import_file(store, old) == 2
    assert not old.exists() and (tmp_path / "changes.jsonl.imported").is_file()
    got = changes.recent(store)
    assert [(c["at"], c["what"], c["detail"]) for c in got] == [(11.0, "window resumed", "w02"),
                                                                (10.0, "zones", "cam-a")]
    # a crash between the commit and the rename: the same file read again adds nothing
    (tmp_path / "changes.jsonl.imported").rename(old)
    assert changes.import_file(store, old) == 2
    assert len(changes.recent(store)) == 2
    assert changes.import_file(store, tmp_path / "missing.jsonl") == 0
