"""Evidence files (clips, snapshots, boxes, thumbnails) as HTTP answers that only their viewer keeps.

Werkzeug marks a file sent with ``max_age`` as ``Cache-Control: public``, which lets shared caches
(a hall's proxy) keep a clip of a staff member for anyone who asks. Evidence is ``private``.
"""

from __future__ import annotations

from flask import send_file


def send_evidence(path, **kwargs):
    resp = send_file(path, **kwargs)
    resp.cache_control.public = False
    resp.cache_control.private = True
    return resp
