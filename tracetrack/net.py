"""Who is asking: the client's address behind the proxies we trust."""

import ipaddress
from functools import lru_cache

from django.conf import settings


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=16)
def networks(spec: tuple[str, ...]) -> tuple:
    """CIDRs (or single addresses) as networks; a setting's tuple is parsed once."""
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in spec if item.strip())


def in_networks(address: str | None, spec: "tuple[str, ...] | list[str]") -> bool:
    parsed = _address(address or "")
    return parsed is not None and any(parsed in network for network in networks(tuple(spec)))


def client_ip(request) -> str | None:
    """REMOTE_ADDR, or, with PROXY_COUNT proxies in front of the app, the address the
    outermost of them saw: the PROXY_COUNT-th entry from the right of X-Forwarded-For
    (entries further left are the client's own claims and are not believed)."""
    remote = request.META.get("REMOTE_ADDR") or None
    count = settings.PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    address = _address(forwarded[-count])
    return str(address) if address is not None else remote


def from_trusted_proxy(request) -> bool:
    """Is the direct peer one of TRUSTED_PROXIES (whose X-Request-ID we keep)?"""
    return in_networks(request.META.get("REMOTE_ADDR"), settings.TRUSTED_PROXIES)
