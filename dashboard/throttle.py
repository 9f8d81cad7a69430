"""Login throttling: too many failed logins lock an account, and an address, for a while.

Per account: 5 failures in 15 minutes lock that account (even for the right password) until the
oldest failure is 15 minutes old; per address: 20 failures in 15 minutes, whatever the usernames
(someone trying many accounts). Counted with the ``limits`` library (the core of Flask-Limiter),
moving windows in memory: a restart forgets them, which a lockout of minutes can afford. Every
failure is logged with the username and the address, so a lockout can be traced.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger("hallmonitor.auth")

PER_ACCOUNT = parse("5 per 15 minutes")
PER_ADDRESS = parse("20 per 15 minutes")


@dataclass(frozen=True)
class Lockout:
    who: str             # "account" or "address"
    retry_after_s: int


class LoginThrottle:
    def __init__(self, per_account=PER_ACCOUNT, per_address=PER_ADDRESS):
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.per_account, self.per_address = per_account, per_address

    def locked(self, username: str, address: str) -> Lockout | None:
        """Whether a login attempt must be refused before the password is even checked."""
        for who, limit, key in (("account", self.per_account, _account_key(username)),
                                ("address", self.per_address, address or "?")):
            if not self.limiter.test(limit, "login", who, key):
                reset = self.limiter.get_window_stats(limit, "login", who, key).reset_time
                return Lockout(who, max(1, math.ceil(reset - time.time())))
        return None

    def failed(self, username: str, address: str) -> None:
        log.warning("login failed for user %r from %s", username[:64], address)
        self.limiter.hit(self.per_account, "login", "account", _account_key(username))
        self.limiter.hit(self.per_address, "login", "address", address or "?")


def _account_key(username: str) -> str:
    return username.strip().lower()[:64]
