"""Which hosts a fetch may reach: the SSRF rules of the fetch stage.

The URL a fetch is asked for is trusted as given (the config's feed URLs; the
operator chose them). Every other host the fetch reaches, through a redirect or
as a link found in a feed (``via``), must be a public address, unless it is the
trusted host itself or both are loopback (a test server or the offline demo).
``fetch.allow_private`` turns the check off.

Literal addresses are read in every spelling a resolver accepts (``167772161``,
``0xa.0.0.1``, ``[::ffff:10.0.0.1]``, 6to4); names are resolved and every address
checked, except through a proxy, which resolves names itself (a local lookup would
leak them). DNS rebinding between this check and the connect is not covered:
firewall egress to private ranges where that matters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.request import getproxies

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _bare(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def literal_ip(host: str) -> IPAddress | None:
    """The address ``host`` names literally, in any spelling; None for a name."""
    host = _bare(host)
    try:
        return ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        pass
    if not host[:1].isdigit() or not all(c.isalnum() or c == "." for c in host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))  # 167772161, 0xa.1, 012.0.0.1
    except OSError:
        return None


def private_reason(host: str) -> str:
    """Why ``host`` is not a public address ("" when it is, or is a name other than
    localhost). Reasons for loopback start with "loopback"."""
    name = _bare(host)
    if name == "localhost" or name.endswith(".localhost"):
        return f"loopback address {host}"
    ip = literal_ip(name)
    if ip is None:
        return ""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ip.ipv4_mapped or ip.sixtofour or ip
    if ip.is_loopback:
        return f"loopback address {ip}"
    if not ip.is_global or ip.is_reserved or ip.is_multicast or ip.is_unspecified:
        return f"private address {ip}"
    return ""


def same_host(a: str, b: str) -> bool:
    a, b = _bare(a), _bare(b)
    return a == b or (literal_ip(a) or a) == (literal_ip(b) or b)


def proxied(proxy: str) -> bool:
    """True when a proxy (configured, or from the environment) resolves names."""
    return bool(proxy) or any(k in ("http", "https", "all") for k in getproxies())


async def blocked_reason(url: httpx.URL, anchor: str, *, proxy: str = "") -> str:
    """Why a fetch trusted for host ``anchor`` may not reach ``url``; "" when it may."""
    host = url.host
    if same_host(host, anchor):
        return ""
    why = private_reason(host)
    if not why and literal_ip(host) is None and not proxied(proxy):
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, url.port or 443, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError):
            return ""  # the request itself reports the DNS failure
        found = next((w for *_, addr in infos if (w := private_reason(str(addr[0])))), "")
        why = f"{host} resolves to a {found}" if found else ""
    if why.startswith("loopback") and private_reason(anchor).startswith("loopback"):
        return ""
    return why
