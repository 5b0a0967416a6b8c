"""A recording fake of the kernel boundary, so the apply layer and the datapaths are tested without root.

It stands in for exactly the functions of `lab.kernel` that touch the system
(namespace create/delete/exists/sysctl/iproute, `procs.run`, checksum offload,
the sizing of ovs-vswitchd's AF_PACKET sockets)
and keeps, per namespace, what would have been made: links (with their veth
peers landing in the other namespace), addresses, routes, rules, neighbours,
FDB entries; and every command with its input. Unit tests then assert the
state a small plan produces.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from lab.datapaths import afpacket
from lab.kernel import links, netns, procs, rtbatch

SCOPE_LINK = links.SCOPE_LINK


@dataclass
class Namespace:
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    addrs: list[tuple[str, str, int]] = field(default_factory=list)  # (ifname, address, prefixlen)
    routes: list[dict[str, Any]] = field(default_factory=list)
    rules: list[dict[str, Any]] = field(default_factory=list)
    neigh: list[dict[str, Any]] = field(default_factory=list)
    fdb: list[dict[str, Any]] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)

    def ifname(self, index: int) -> str:
        return next(name for name, link in self.links.items() if link["index"] == index)

    def routes_via(self, ifname: str) -> list[dict[str, Any]]:
        return [r for r in self.routes if r.get("oif") is not None and self.ifname(r["oif"]) == ifname]


class FakeKernel:
    def __init__(self) -> None:
        self.namespaces: dict[str, Namespace] = {}
        self.commands: list[tuple[str | None, list[str], str | None]] = []
        self.checksum_off: set[tuple[str, str]] = set()
        self.rcvbufs: list[tuple[str, int]] = []  # (vswitchd pidfile, bytes) its AF_PACKET sockets were given
        self._next_index = 100

    def ns(self, name: str) -> Namespace:
        return self.namespaces[name]

    def index(self) -> int:
        self._next_index += 1
        return self._next_index

    def create(self, name: str, sysctls: dict[str, str] | None = None) -> None:
        assert name not in self.namespaces, f"namespace {name} made twice"
        lo = {"index": 1, "kind": "loopback", "state": "down"}
        self.namespaces[name] = Namespace(links={"lo": lo}, sysctls=dict(sysctls or {}))

    def run(self, ns: str | None, argv: list[str], *, input: str | None = None, **_: Any):
        assert ns is None or ns in self.namespaces, f"command in a namespace that does not exist: {ns}"
        self.commands.append((ns, list(argv), input))
        return subprocess.CompletedProcess(argv, 0, stdout="", stderr="")

    def commands_named(self, tool: str) -> list[tuple[str | None, list[str], str | None]]:
        return [c for c in self.commands if c[1][0] == tool]


class FakeIPRoute:
    """The part of pyroute2's IPRoute the lab uses, acting on one fake namespace."""

    def __init__(self, kernel: FakeKernel, ns: str) -> None:
        self.kernel, self.name = kernel, ns
        self.ns = kernel.ns(ns)

    def __enter__(self) -> FakeIPRoute:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def close(self) -> None:
        pass

    def link_lookup(self, ifname: str) -> list[int]:
        link = self.ns.links.get(ifname)
        return [link["index"]] if link else []

    def link(self, cmd: str, **kw: Any) -> None:
        if cmd == "add":
            name = kw.pop("ifname")
            assert name not in self.ns.links, f"{name} exists in {self.name}"
            peer = kw.pop("peer", None)
            self.ns.links[name] = {"index": self.kernel.index(), "state": "down", **kw}
            if peer:
                other = peer["net_ns_fd"].rsplit("/", 1)[1]
                target = self.kernel.ns(other)
                assert peer["ifname"] not in target.links, f"{peer['ifname']} exists in {other}"
                target.links[peer["ifname"]] = {
                    "index": self.kernel.index(),
                    "kind": "veth",
                    "state": "down",
                    "peer": (self.name, name),
                    **{k: v for k, v in peer.items() if k not in ("ifname", "net_ns_fd")},
                }
                self.ns.links[name]["peer"] = (other, peer["ifname"])
        elif cmd == "set":
            link = self.ns.links[self.ns.ifname(kw.pop("index"))]
            link.update(kw)
        else:
            raise AssertionError(f"link {cmd} is not used by the lab")

    def addr(self, cmd: str, index: int, address: str, prefixlen: int) -> None:
        assert cmd == "add"
        self.ns.addrs.append((self.ns.ifname(index), address, prefixlen))

    def flush_addr(self, index: int) -> None:
        name = self.ns.ifname(index)
        self.ns.addrs = [a for a in self.ns.addrs if a[0] != name]

    def route(self, cmd: str, **kw: Any) -> None:
        if cmd == "add":
            self.ns.routes.append(kw)
        elif cmd == "del":
            self.ns.routes = [r for r in self.ns.routes if r.get("dst") != kw.get("dst")]

    def rule(self, cmd: str, **kw: Any) -> None:
        self.ns.rules.append(kw)

    def neigh(self, cmd: str, **kw: Any) -> None:
        self.ns.neigh.append(kw)

    def fdb(self, cmd: str, **kw: Any) -> None:
        self.ns.fdb.append(kw)


class FakeRequests:
    """rtbatch.Requests acting on the fake namespaces when sent, in order, as the kernel would."""

    def __init__(self, kernel: FakeKernel) -> None:
        self.kernel = kernel
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str):
        if name not in (
            "veth",
            "up",
            "no_ipv6_addresses",
            "proxy_arp",
            "addr",
            "route",
            "rule",
            "neighbour",
            "fdb_append",
        ):
            raise AttributeError(name)
        return lambda *args, **kw: self.calls.append((name, args, kw))

    def include(self, other: FakeRequests) -> None:
        self.calls += other.calls

    def send(self, ns: str) -> None:
        space = self.kernel.ns(ns)
        for name, args, kw in self.calls:
            getattr(self, f"_{name}")(space, ns, *args, **kw)
        self.calls = []

    def _veth(self, space: Namespace, ns: str, ifname, index, mtu, peer_ns, peer_if, peer_index, peer_mac) -> None:
        assert ifname not in space.links, f"{ifname} exists in {ns}"
        assert index not in {link["index"] for link in space.links.values()}, f"index {index} taken in {ns}"
        target = self.kernel.ns(peer_ns)
        assert peer_if not in target.links, f"{peer_if} exists in {peer_ns}"
        space.links[ifname] = {"index": index, "kind": "veth", "mtu": mtu, "state": "up", "peer": (peer_ns, peer_if)}
        peer = {"index": peer_index, "kind": "veth", "mtu": mtu, "state": "down", "peer": (ns, ifname)}
        target.links[peer_if] = {**peer, **({"address": peer_mac} if peer_mac else {})}

    def _up(self, space: Namespace, ns: str, index: int, master: int | None = None) -> None:
        space.links[space.ifname(index)].update({"state": "up", **({"master": master} if master else {})})

    def _no_ipv6_addresses(self, space: Namespace, ns: str, index: int) -> None:
        space.links[space.ifname(index)]["addrgenmode"] = "none"

    def _proxy_arp(self, space: Namespace, ns: str, index: int) -> None:
        ifname = space.ifname(index)
        space.sysctls |= {f"net.ipv4.conf.{ifname}.proxy_arp": "1", f"net.ipv4.neigh.{ifname}.proxy_delay": "0"}

    def _addr(self, space: Namespace, ns: str, index: int, ip: str, prefixlen: int) -> None:
        space.addrs.append((space.ifname(index), ip, prefixlen))

    def _route(self, space: Namespace, ns: str, dst: str, oif: int, gateway=None, **kw: Any) -> None:
        if oif is not None:
            space.ifname(oif)  # the link must exist
        route = {"dst": dst, **({"oif": oif} if oif is not None else {}), **({"gateway": gateway} if gateway else {})}
        if kw.get("link_scope"):
            route["scope"] = SCOPE_LINK
        if kw.get("prefsrc"):
            route["prefsrc"] = kw["prefsrc"]
        if kw.get("table", rtbatch.MAIN_TABLE) != rtbatch.MAIN_TABLE:
            route["table"] = kw["table"]
        space.routes.append(route)

    def _rule(self, space: Namespace, ns: str, table: int, priority: int, fwmark=None, source=None) -> None:
        match = {"fwmark": fwmark, "fwmask": fwmark} if fwmark is not None else {}
        if source:
            net, _, plen = source.partition("/")
            match = {"src": net, "src_len": int(plen)}
        space.rules.append({**match, "table": table, "priority": priority})

    def _neighbour(self, space: Namespace, ns: str, index: int, ip: str, mac: str) -> None:
        space.neigh.append({"ifindex": index, "dst": ip, "lladdr": mac})

    def _fdb_append(self, space: Namespace, ns: str, index: int, mac: str, dst: str) -> None:
        space.fdb.append({"ifindex": index, "lladdr": mac, "dst": dst})


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[FakeKernel]:
    """The kernel boundary replaced by a recording fake; lab state goes to a temporary directory."""
    fake = FakeKernel()

    @contextmanager
    def inside(name: str) -> Iterator[None]:
        assert name in fake.namespaces
        yield

    def sysctl(name: str, settings: dict[str, str]) -> None:
        fake.ns(name).sysctls.update(settings)

    def delete(name: str) -> None:
        fake.namespaces.pop(name, None)

    monkeypatch.setattr(netns, "create", fake.create)
    monkeypatch.setattr(netns, "delete", delete)
    monkeypatch.setattr(netns, "exists", lambda name: name in fake.namespaces)
    monkeypatch.setattr(netns, "sysctl", sysctl)
    monkeypatch.setattr(netns, "inside", inside)
    monkeypatch.setattr(netns, "iproute", lambda name: FakeIPRoute(fake, name))
    monkeypatch.setattr(rtbatch, "Requests", lambda: FakeRequests(fake))
    monkeypatch.setattr(procs, "run", fake.run)
    monkeypatch.setattr(links, "tx_checksum_off", lambda ns, names: fake.checksum_off.update((ns, n) for n in names))
    monkeypatch.setattr(afpacket, "size", lambda pidfile, size: fake.rcvbufs.append((str(pidfile), size)) or [])
    monkeypatch.setattr("lab.kernel.journal.STATE_ROOT", tmp_path / "state")
    yield fake
