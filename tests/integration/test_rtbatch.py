"""lab.kernel.rtbatch on the real kernel: a batch makes what its requests say, and a refusal names its request."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from lab.kernel import netns, rtbatch

NODE, POD = "itrb-node", "itrb-pod"


@pytest.fixture
def spaces() -> Iterator[None]:
    created: list[str] = []
    try:
        for name in (NODE, POD):
            netns.create(name)
            created.append(name)
        yield
    finally:
        for name in created:
            netns.delete(name)


def _ip(ns: str, *args: str) -> list[dict]:
    return json.loads(subprocess.run(["ip", "-j", "-d", "-n", ns, *args], capture_output=True, text=True).stdout)


def _sysctl(ns: str, key: str) -> str:
    out = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", key], capture_output=True, text=True)
    return out.stdout.strip()


def _wire(mtu: int = 1450) -> None:
    """One pod as `up` wires it: the veth from the node, then the pod's own side."""
    node = rtbatch.Requests()
    node.veth("veth-p7", 1007, mtu, POD, "eth0", 2, "0a:58:ac:10:00:07")
    node.proxy_arp(1007)
    node.route("172.16.0.7/32", 1007, link_scope=True)
    assert len(node) == 4  # the veth, proxy ARP (link and neighbour table), the route
    node.send(NODE)
    pod = rtbatch.Requests()
    pod.no_ipv6_addresses(2)
    pod.up(1)
    pod.up(2)
    pod.addr(2, "172.16.0.7", 32)
    pod.route("169.254.1.1/32", 2, link_scope=True)
    pod.route("0.0.0.0/0", 2, gateway="169.254.1.1")
    pod.send(POD)


def test_a_batch_makes_the_pod_its_requests_describe(spaces: None) -> None:
    _wire()
    (near,) = _ip(NODE, "link", "show", "veth-p7")
    assert (near["ifindex"], near["mtu"], near["operstate"], near["link_netnsid"] is not None) == (
        1007,
        1450,
        "UP",
        True,
    )
    assert _sysctl(NODE, "net.ipv4.conf.veth-p7.proxy_arp") == "1"
    assert _sysctl(NODE, "net.ipv4.neigh.veth-p7.proxy_delay") == "0"
    assert [(r["dst"], r["dev"], r["scope"]) for r in _ip(NODE, "route")] == [("172.16.0.7", "veth-p7", "link")]
    (far,) = _ip(POD, "link", "show", "eth0")
    assert (far["ifindex"], far["address"], far["operstate"]) == (2, "0a:58:ac:10:00:07", "UP")
    assert far["linkinfo"]["info_kind"] == "veth" and far["inet6_addr_gen_mode"] == "none"
    addrs = [(a["family"], a["local"]) for link in _ip(POD, "addr", "show", "eth0") for a in link["addr_info"]]
    assert addrs == [("inet", "172.16.0.7")]  # no IPv6 link-local address
    routes = [(r["dst"], r.get("gateway"), r["dev"]) for r in _ip(POD, "route")]
    assert routes == [("default", "169.254.1.1", "eth0"), ("169.254.1.1", None, "eth0")]


def test_a_refused_request_is_named_and_the_rest_still_answered(spaces: None) -> None:
    _wire()
    again = rtbatch.Requests()
    again.addr(2, "172.16.0.8", 32)
    again.addr(2, "172.16.0.7", 32)  # exists: refused
    again.route("10.9.0.0/16", 77, gateway="169.254.1.1")  # no link 77: refused too, later
    with pytest.raises(OSError, match=rf"address 172.16.0.7/32 on link 2 in {POD}: File exists"):
        again.send(POD)
    addrs = [a["local"] for link in _ip(POD, "addr", "show", "eth0") for a in link["addr_info"]]
    assert addrs == ["172.16.0.7", "172.16.0.8"]  # the request before the refusal took effect
    assert len(again) == 0  # sent (and its namespace handles closed) even though refused


def test_a_taken_index_is_refused_before_anything_is_half_made(spaces: None) -> None:
    _wire()
    clash = rtbatch.Requests()
    clash.veth("veth-p8", 1007, 1450, POD, "eth1", 3, None)
    with pytest.raises(OSError, match=r"veth veth-p8 \(index 1007\)"):
        clash.send(NODE)
    assert [link["ifname"] for link in _ip(POD, "link")] == ["lo", "eth0"]


def test_a_batch_larger_than_the_receive_buffer_is_answered_in_full(spaces: None) -> None:
    """Thousands of requests (a 500-node mesh sends 2,000 to a node): the answers must not overflow the socket."""
    _wire()
    many = rtbatch.Requests()
    for k in range(3000):
        many.route(f"10.{k // 256}.{k % 256}.0/24", 2, "169.254.1.1", onlink=True)
    many.send(POD)
    assert len(_ip(POD, "route")) == 2 + 3000
