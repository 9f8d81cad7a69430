"""The SSRF guard: receiver URLs on loopback, link-local (cloud metadata), private, unspecified, multicast
and other non-public addresses are refused unless the endpoint says ``allow_private``. It runs when an
endpoint is configured, again before every attempt, and on the socket itself once it is connected,
so a DNS answer that changes between the check and the connect is caught too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from vision import __version__
from vision.errors import InputError

USER_AGENT = f"hallmonitor-webhooks/{__version__}"

class UnsafeURL(InputError):
    """A receiver URL the SSRF guard refuses."""


class Unresolvable(InputError):
    """A receiver URL whose host name does not resolve (now; it may later)."""



_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a receiver must not be at this address (None: a public address)."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        return "the link-local address of the cloud metadata service"
    for label, flag in (("a loopback", ip.is_loopback), ("a link-local", ip.is_link_local),
                        ("the unspecified", ip.is_unspecified), ("a multicast", ip.is_multicast),
                        ("a private", ip.is_private), ("a reserved", ip.is_reserved)):
        if flag:
            return f"{label} address"
    if not ip.is_global:
        return "a non-public address"
    return None


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_url(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> list[str]:
    """Refuse a receiver URL that is not http(s) or whose host is (or resolves to) a non-public address.

    Returns the addresses the host resolved to. ``allow_private`` allows every address (tests,
    receivers inside the hall's own network).
    """
    if not isinstance(url, str) or not url.strip():
        raise InputError("url: give the receiver's URL, e.g. https://queue.example.gov.cn/hooks/hallmonitor")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise InputError(f"url {url!r}: use an http:// or https:// URL")
    host = parts.hostname
    if not host:
        raise InputError(f"url {url!r}: has no host name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise InputError(f"url {url!r}: the port is not a number from 1 to 65535") from None
    literal = True
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        literal = False
        try:
            addresses = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise Unresolvable(f"url {url!r}: the host {host} does not resolve ({exc}); check the name") from None
        if not addresses:
            raise Unresolvable(f"url {url!r}: the host {host} resolves to no address") from None
    if allow_private:
        return addresses
    for address in addresses:
        problem = address_problem(ipaddress.ip_address(address.split("%", 1)[0]))
        if problem:
            where = host if literal else f"{host} resolves to {address}, which"
            raise UnsafeURL(f"url {url!r}: {where} is {problem}; webhooks go to public addresses only. For a "
                            f"receiver inside the hall's own network, set allow_private: true on this endpoint")
    return addresses


class _PeerCheck:
    """Mixin for urllib3 connections: refuse the socket if the address it connected to is not public."""

    def _new_conn(self):
        sock = super()._new_conn()
        peer = sock.getpeername()[0]
        problem = address_problem(ipaddress.ip_address(peer.split("%", 1)[0]))
        if problem:
            sock.close()
            host = getattr(self, "host", "?")
            raise UnsafeURL(f"{host} connected to {peer}, {problem} (its DNS answer changed since it was "
                            f"checked); refused")
        return sock


class _GuardedHTTPConnection(_PeerCheck, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_PeerCheck, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def http_session(allow_private: bool) -> requests.Session:
    """A session for sending webhooks: no proxies from the environment, the peer check unless allowed."""
    session = requests.Session()
    session.trust_env = False
    session.headers["User-Agent"] = USER_AGENT
    if not allow_private:
        adapter = _GuardedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    return session
