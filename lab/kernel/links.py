"""Interfaces inside a lab namespace: veth pairs, addresses, routes, checksum offload.

The one place that turns "this interface gets this address and these routes"
into netlink calls, for the VPC, the pods, the hosts around the cluster and
the benchmark's baseline pair alike.
"""

from __future__ import annotations

import fcntl
import socket
import struct
from collections.abc import Sequence

from pyroute2 import IPRoute
from pyroute2.ethtool import Ethtool

from lab.kernel import netns

SCOPE_LINK = 253  # rtnetlink route scope "link"
SIOCGIFMTU = 0x8921


def link_index(ipr: IPRoute, ifname: str) -> int:
    """Index of `ifname` in the namespace `ipr` is bound to."""
    found = ipr.link_lookup(ifname=ifname)
    if not found:
        raise OSError(f"interface {ifname} not found")
    return found[0]


def veth(ipr: IPRoute, ifname: str, peer_ns: str, peer_if: str, mtu: int, peer_mac: str | None = None) -> int:
    """A veth whose far end lands in namespace `peer_ns` as `peer_if`; returns the near end's index, up."""
    peer = {"ifname": peer_if, "net_ns_fd": netns.path(peer_ns), "mtu": mtu}
    if peer_mac:
        peer["address"] = peer_mac
    ipr.link("add", ifname=ifname, kind="veth", mtu=mtu, peer=peer)
    idx = link_index(ipr, ifname)
    ipr.link("set", index=idx, state="up")
    return idx


def configure(
    ns: str,
    ifname: str,
    ip: str,
    prefixlen: int,
    *,
    mtu: int | None = None,
    routes: Sequence[tuple[str, str]] = (),
    onlink_gateway: str | None = None,
) -> None:
    """Bring lo and `ifname` up in `ns`, address it, and add (destination, gateway) routes.

    `onlink_gateway`: a gateway outside the address's own subnet (a pod's /32
    and its 169.254.1.1), reachable because a link-scope route names it first.
    """
    with netns.iproute(ns) as ipr:
        ipr.link("set", index=1, state="up")
        idx = link_index(ipr, ifname)
        ipr.link("set", index=idx, state="up", **({"mtu": mtu} if mtu else {}))
        ipr.addr("add", index=idx, address=ip, prefixlen=prefixlen)
        if onlink_gateway:
            ipr.route("add", dst=f"{onlink_gateway}/32", oif=idx, scope=SCOPE_LINK)
        for dst, gateway in routes:
            ipr.route("add", dst=dst, gateway=gateway, oif=idx)


def tx_checksum_off(ns: str, ifnames: Sequence[str]) -> None:
    """`ethtool -K IF tx off` for each of `ifnames` inside `ns` (pyroute2's ethtool: ioctls, no process)."""
    with netns.inside(ns):
        tool = Ethtool()  # its sockets stay bound to `ns`
    try:
        for ifname in ifnames:
            features = tool.get_features(ifname)
            for name, feature in features.features.items():
                if name.startswith("tx-checksum") and feature.available:
                    feature.enable = False
            tool.set_features(ifname, features)
    finally:
        tool.close()


def mtu(ns: str, ifname: str) -> int:
    """The MTU of `ifname` inside `ns`, by one ioctl on a socket made there: a check reads thousands of pods'
    links, and a netlink session per pod costs ~25 ms in pyroute2 against microseconds here."""
    with netns.inside(ns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        ifreq = fcntl.ioctl(sock, SIOCGIFMTU, struct.pack("16si12x", ifname.encode(), 0))
    return int(struct.unpack("16si12x", ifreq)[1])
