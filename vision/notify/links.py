"""Snapshot links a chat app can open without logging in to the dashboard.

A DingTalk markdown picture or a WeCom news ``picurl`` is fetched by the chat app, which has no
dashboard session. Such a link carries its own proof instead: ``/shared/<event id>/snapshot.jpg?
until=<unix s>&sig=<hmac>``, signed with the hall's share key (made once, in the store). It opens that
one snapshot, until it expires, and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlencode

SHARE_DAYS = 7.0


def share_key(store) -> bytes:
    """The hall's share key (the row of ``notify_share_key``, made by the migration)."""
    with store.read() as conn:
        return bytes(conn.execute("SELECT key FROM notify_share_key WHERE id = 1").fetchone()[0])


def _mac(key: bytes, event_id: str, until: int) -> str:
    digest = hmac.new(key, f"snapshot\n{event_id}\n{until}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def snapshot_link(base: str, key: bytes, event_id: str, now: float | None = None, days: float = SHARE_DAYS) -> str:
    until = int((time.time() if now is None else now) + days * 86400)
    return f"{base}/shared/{event_id}/snapshot.jpg?" + urlencode({"until": until, "sig": _mac(key, event_id, until)})


def link_is_valid(key: bytes, event_id: str, until: str | None, sig: str | None, now: float | None = None) -> bool:
    """Whether ``until``/``sig`` (the link's query) open this event's snapshot now."""
    try:
        deadline = int(until or "")
    except ValueError:
        return False
    if deadline < (time.time() if now is None else now) or not sig:
        return False
    return hmac.compare_digest(_mac(key, event_id, deadline), sig)
