"""The host tunnel: the node subnet's one L2 segment carried between the hosts of a lab spread over several.

Each host's end is a VXLAN device made from the host's own namespace (where its
UDP socket then lives, on the host link) directly inside the lab namespace that
bridges this host's part of the node subnet, so no device ever appears in the
host's namespace. It floods to every other host (an all-zero FDB entry each,
as head-end replication) and learns where each MAC is from what arrives. It
goes when that lab namespace goes: `down` needs nothing more.
"""

from __future__ import annotations

import os

from pyroute2 import IPRoute

from lab.apply.vpc import SUBNET_BRIDGE
from lab.errors import LabError
from lab.kernel import netns, rtbatch
from lab.plan.model import PlanSlice
from lab.plan.spread import HOST_TUNNEL_PORT

TUNNEL_INDEX = 899  # in the bridge's namespace, beside subnet0 (900)
FLOOD = "00:00:00:00:00:00"


def build(part: PlanSlice, host_netns: str | None) -> None:
    """`hx0` on this host's subnet bridge, towards every other host (`host_netns`: None is the root namespace)."""
    if not part.remotes:
        return
    target = os.open(netns.path(part.bridge_netns), os.O_RDONLY)
    try:
        with _host(host_netns) as ipr:
            ipr.link(
                "add",
                ifname=part.tunnel_if,
                index=TUNNEL_INDEX,
                kind="vxlan",
                vxlan_id=part.vni,
                vxlan_port=HOST_TUNNEL_PORT,
                vxlan_local=part.local,
                vxlan_learning=1,
                mtu=part.mtu,
                net_ns_fd=target,
            )
    except Exception as exc:  # pyroute2's NetlinkError, or the local address missing here
        raise LabError(
            f"host tunnel {part.tunnel_if} (VNI {part.vni}, UDP {HOST_TUNNEL_PORT}, local {part.local}) "
            f"cannot be made: {exc}"
        ) from exc
    finally:
        os.close(target)
    requests = rtbatch.Requests()
    for remote in part.remotes:
        requests.fdb_append(TUNNEL_INDEX, FLOOD, remote)
    requests.up(TUNNEL_INDEX, master=SUBNET_BRIDGE)
    requests.send(part.bridge_netns)


def _host(host_netns: str | None) -> IPRoute:
    return IPRoute() if host_netns is None else netns.iproute(host_netns)
