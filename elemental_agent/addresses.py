"""The host's addresses as it reports them (the ElementalHost's `status.addresses`, which
Cluster API reads from the ElementalMachine): its host name and its IP addresses.

Read from the kernel's own tables through the host root (so `--root` hosts report what their
root holds): IPv4 from /proc/net/fib_trie (the `/32 host LOCAL` entries), IPv6 from
/proc/net/if_inet6. Loopback and link-local addresses are left out: nothing outside the host
can reach them. Every address is `InternalIP`: a host cannot tell whether one is reachable
from outside its network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging

from elemental_agent.errors import AgentError
from elemental_agent.hostroot import HostRoot

log = logging.getLogger(__name__)

FIB_TRIE = "/proc/net/fib_trie"
IF_INET6 = "/proc/net/if_inet6"
# The contract's bound (HostAddresses maxItems): a host with more reports the first ones.
MAX_ADDRESSES = 32

Address = dict[str, str]


def host_addresses(root: HostRoot, hostname: str) -> list[Address]:
    """`Hostname` first, then the IP addresses in the kernel's order, each once."""
    found: list[Address] = [{"type": "Hostname", "address": hostname}] if hostname else []
    ips = _ipv4(_read(root, FIB_TRIE)) + _ipv6(_read(root, IF_INET6))
    for ip in dict.fromkeys(ips):
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast):
            found.append({"type": "InternalIP", "address": str(ip)})
    return found[:MAX_ADDRESSES]


def _read(root: HostRoot, path: str) -> str:
    try:
        return root.read_file(path).decode(errors="replace") if root.exists(path) else ""
    except AgentError as error:
        log.debug("Reading %s: %s", path, error)
        return ""


def _ipv4(fib_trie: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The local addresses: a `|-- <ip>` leaf followed by `/32 host LOCAL`."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    leaf = ""
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|-- "):
            leaf = text[4:]
        elif text.split() == ["/32", "host", "LOCAL"] and leaf:
            with contextlib.suppress(ValueError):
                found.append(ipaddress.IPv4Address(leaf))
    return found


def _ipv6(if_inet6: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """One address per line: 32 hex digits, then index, prefix length, scope, flags, name."""
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for line in if_inet6.splitlines():
        fields = line.split()
        if len(fields) >= 6 and len(fields[0]) == 32:
            with contextlib.suppress(ValueError):
                found.append(ipaddress.IPv6Address(int(fields[0], 16)))
    return found
