"""Standard Webhooks v1 signatures: secrets (``whsec_``), signing a message, verifying one on the receiver side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets as _secrets
import time
from collections.abc import Iterable

from vision.errors import HallmonitorError, InputError

log = logging.getLogger(__name__)

TOLERANCE_S = 300
SECRET_PREFIX = "whsec_"


class SignatureError(HallmonitorError):
    """A webhook request whose signature or timestamp does not verify."""

    status = 401



def new_secret(nbytes: int = 32) -> str:
    """A new signing secret: ``whsec_`` + base64 of ``nbytes`` random bytes (24..64)."""
    if not 24 <= nbytes <= 64:
        raise InputError(f"a secret has 24 to 64 random bytes, not {nbytes}")
    return SECRET_PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_...`` secret (the base64 after the prefix, decoded)."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise InputError("a webhook secret starts with whsec_ (make one with `hallmonitor webhooks secret`)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise InputError("the webhook secret after whsec_ is not valid base64") from None
    if len(key) < 16:
        raise InputError("the webhook secret is too short: use `hallmonitor webhooks secret` for a new one")
    return key


def _as_bytes(body: str | bytes) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def sign(secret: str, msg_id: str, timestamp: int | str, body: str | bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``."""
    signed = f"{msg_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int | str, body: str | bytes) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated (several while rotating)."""
    values = [sign(s, msg_id, timestamp, body) for s in secrets]
    if not values:
        raise InputError("an endpoint needs at least one secret to sign with")
    return " ".join(values)


def verify(secrets: str | Iterable[str], msg_id: str, timestamp: str | int, signatures: str, body: str | bytes,
           *, tolerance_s: float = TOLERANCE_S, now: float | None = None) -> None:
    """Check a received webhook; raises :class:`SignatureError` saying why it does not verify.

    ``signatures`` is the ``webhook-signature`` header. Any ``v1`` entry made with any of ``secrets``
    passes; comparisons are constant time. A timestamp further than ``tolerance_s`` from now fails.
    """
    if isinstance(secrets, str):
        secrets = [secrets]
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        raise SignatureError(f"webhook-timestamp {timestamp!r} is not Unix seconds") from None
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance_s:
        raise SignatureError(f"webhook-timestamp {ts} is {now - ts:+.0f} s from now, more than {tolerance_s:g} s: "
                             f"a replayed or delayed request (or a wrong clock)")
    expected = [sign(s, msg_id, ts, body).split(",", 1)[1].encode() for s in secrets]
    found = False
    for entry in str(signatures or "").split():
        version, _, value = entry.partition(",")
        if version != "v1":
            continue
        for candidate in expected:
            found |= hmac.compare_digest(candidate, value.encode())
    if not found:
        raise SignatureError("no v1 signature in webhook-signature matches the secret")
