"""Many rtnetlink requests to one namespace in one write, each acknowledged: how `up` wires thousands of pods.

pyroute2 0.9's IPRoute runs every request through an asyncio loop, about 0.9 ms
each; a pod took 11 of them (lookups included), which was most of `up` at CCE
scale. Here the same requests are encoded with pyroute2's own message classes
(about 0.05 ms each), with the interface indexes chosen by the lab so that no
request waits for another's answer, and one netlink socket opened inside the
namespace sends them at once, as `ip -batch` does. The kernel answers every
request; the first refusal is raised naming its request.
"""

from __future__ import annotations

import os
import socket
import struct
from socket import AF_INET

from pyroute2.netlink import NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_NEWADDR, RTM_NEWLINK, RTM_NEWNEIGH, RTM_NEWROUTE, RTM_NEWRULE, RTM_SETNEIGHTBL
from pyroute2.netlink.rtnl.fibmsg import fibmsg
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.ndmsg import ndmsg
from pyroute2.netlink.rtnl.ndtmsg import ndtmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

from lab.kernel import netns

IFF_UP = 1
NUD_NOARP, NUD_PERMANENT, NTF_SELF, RTNH_F_ONLINK = 0x40, 0x80, 0x02, 4
MAIN_TABLE, FR_ACT_TO_TBL = 254, 1
IFLA_AF_SPEC, IFLA_INET_CONF, IFLA_INET6_ADDR_GEN_MODE = 26, 1, 8
IPV4_DEVCONF_PROXY_ARP, IN6_ADDR_GEN_MODE_NONE = 3, 1
NLA_F_NESTED = 0x8000
CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
CHUNK, WINDOW = 32768, 128  # a write's bytes and requests: the kernel's answers to one write must fit the
# receive buffer, which counts each answer at its buffer's true size (about 1 KiB), not its 36 bytes
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: length, type, flags, sequence, port
_ERROR = struct.Struct("=i")


class Requests:
    """Requests for one namespace, encoded as they are added and sent by `send`, in order."""

    def __init__(self) -> None:
        self._encoded: list[tuple[bytes, str]] = []
        self._fds: list[int] = []

    def __len__(self) -> int:
        return len(self._encoded)

    def _add(self, msg, kind: int, flags: int, what: str) -> None:
        msg["header"]["type"] = kind
        msg["header"]["flags"] = flags
        msg["header"]["sequence_number"] = len(self._encoded) + 1
        msg.encode()
        self._encoded.append((bytes(msg.data), what))

    def veth(
        self, ifname: str, index: int, mtu: int, peer_ns: str, peer_if: str, peer_index: int, peer_mac: str | None
    ) -> None:
        """A veth at the given indexes, this end up; the peer made directly in namespace `peer_ns`, down.

        The peer cannot be brought up in the same request (the kernel refuses to open a veth
        before its pair is joined): `up` it in `peer_ns`'s own requests.
        """
        fd = os.open(netns.path(peer_ns), os.O_RDONLY)
        self._fds.append(fd)  # the kernel reads it when the request arrives: open until `send` is done
        peer_attrs = [("IFLA_IFNAME", peer_if), ("IFLA_MTU", mtu), ("IFLA_NET_NS_FD", fd)]
        if peer_mac:
            peer_attrs.append(("IFLA_ADDRESS", peer_mac))
        peer = {"index": peer_index, "attrs": peer_attrs}
        info = {"attrs": [("IFLA_INFO_KIND", "veth"), ("IFLA_INFO_DATA", {"attrs": [("VETH_INFO_PEER", peer)]})]}
        msg = ifinfmsg()
        msg["index"], msg["flags"], msg["change"] = index, IFF_UP, IFF_UP
        msg["attrs"] = [("IFLA_IFNAME", ifname), ("IFLA_MTU", mtu), ("IFLA_LINKINFO", info)]
        self._add(msg, RTM_NEWLINK, CREATE, f"veth {ifname} (index {index}) to {peer_if} in {peer_ns}")

    def up(self, index: int, master: int | None = None) -> None:
        """Bring interface `index` up (and enslave it to `master`)."""
        msg = ifinfmsg()
        msg["index"], msg["flags"], msg["change"] = index, IFF_UP, IFF_UP
        msg["attrs"] = [("IFLA_MASTER", master)] if master else []
        self._add(msg, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, f"set link {index} up")

    def no_ipv6_addresses(self, index: int) -> None:
        """IPv6 gives `index` no address, not even link-local: no DAD or router solicitations in captures.

        The per-link form of `disable_ipv6`: a sysctl costs a /proc/sys lookup whose time grows
        with the number of namespaces (the kernel's sysctl dentries of every namespace share one
        hash chain), which is what made `up` grow faster than its lab.
        """
        mode = _nla(IFLA_INET6_ADDR_GEN_MODE, struct.pack("=B", IN6_ADDR_GEN_MODE_NONE))
        self._set_link(index, _nest(IFLA_AF_SPEC, _nest(socket.AF_INET6, mode)), f"IPv6 addresses off on link {index}")

    def proxy_arp(self, index: int) -> None:
        """Proxy ARP on `index`, answering at once (`proxy_arp` = 1, `proxy_delay` = 0), without /proc/sys."""
        conf = _nest(IFLA_INET_CONF, _nla(IPV4_DEVCONF_PROXY_ARP, struct.pack("=I", 1)))
        self._set_link(index, _nest(IFLA_AF_SPEC, _nest(AF_INET, conf)), f"proxy_arp on link {index}")
        msg = ndtmsg()
        msg["family"] = AF_INET
        msg["attrs"] = [
            ("NDTA_NAME", "arp_cache"),
            ("NDTA_PARMS", {"attrs": [("NDTPA_IFINDEX", index), ("NDTPA_PROXY_DELAY", 0)]}),
        ]
        self._add(msg, RTM_SETNEIGHTBL, NLM_F_REQUEST | NLM_F_ACK, f"proxy_delay 0 on link {index}")

    def _set_link(self, index: int, attrs: bytes, what: str) -> None:
        """An RTM_NEWLINK on an existing link carrying `attrs` as they are (pyroute2 has no encoder for them)."""
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, index, 0, 0) + attrs
        seq = len(self._encoded) + 1
        header = _HEADER.pack(_HEADER.size + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, 0)
        self._encoded.append((header + body, what))

    def addr(self, index: int, ip: str, prefixlen: int) -> None:
        msg = ifaddrmsg()
        msg["family"], msg["prefixlen"], msg["index"] = AF_INET, prefixlen, index
        msg["attrs"] = [("IFA_LOCAL", ip), ("IFA_ADDRESS", ip)]
        self._add(msg, RTM_NEWADDR, CREATE, f"address {ip}/{prefixlen} on link {index}")

    def route(
        self,
        dst: str,
        oif: int | None,
        gateway: str | None = None,
        *,
        link_scope: bool = False,
        onlink: bool = False,
        prefsrc: str | None = None,
        table: int = MAIN_TABLE,
    ) -> None:
        """A unicast route out of `oif` (None: the kernel picks it), via `gateway` or (link scope) straight to `dst`."""
        net, _, plen = dst.partition("/")
        msg = rtmsg()
        msg["family"], msg["dst_len"], msg["table"] = AF_INET, int(plen or 32), min(table, MAIN_TABLE)
        msg["proto"], msg["scope"], msg["type"] = 4, 253 if link_scope else 0, 1  # static, link|universe, unicast
        msg["flags"] = RTNH_F_ONLINK if onlink else 0
        attrs = [("RTA_TABLE", table), *([("RTA_OIF", oif)] if oif is not None else [])]
        if msg["dst_len"]:
            attrs.append(("RTA_DST", net))
        if gateway:
            attrs.append(("RTA_GATEWAY", gateway))
        if prefsrc:
            attrs.append(("RTA_PREFSRC", prefsrc))
        msg["attrs"] = attrs
        where = f" table {table}" if table != MAIN_TABLE else ""
        self._add(
            msg, RTM_NEWROUTE, CREATE, f"route {dst}" + (f" via {gateway}" if gateway else "") + f" dev {oif}{where}"
        )

    def rule(self, table: int, priority: int, *, fwmark: int | None = None, source: str | None = None) -> None:
        """A policy rule: packets with `fwmark` (matched under the same mask) or from `source` look up `table`."""
        msg = fibmsg()
        msg["family"], msg["table"], msg["action"] = AF_INET, min(table, MAIN_TABLE), FR_ACT_TO_TBL
        attrs = [("FRA_TABLE", table), ("FRA_PRIORITY", priority)]
        if fwmark is not None:
            attrs += [("FRA_FWMARK", fwmark), ("FRA_FWMASK", fwmark)]
        if source:
            net, _, plen = source.partition("/")
            msg["src_len"] = int(plen or 32)
            attrs.append(("FRA_SRC", net))
        msg["attrs"] = attrs
        what = f"fwmark {fwmark:#x}" if fwmark is not None else f"from {source}"
        self._add(msg, RTM_NEWRULE, CREATE, f"rule {what} lookup {table} (priority {priority})")

    def neighbour(self, index: int, ip: str, mac: str) -> None:
        """A permanent ARP entry: `ip` is at `mac` on link `index`."""
        msg = ndmsg()
        msg["family"], msg["ifindex"], msg["state"] = AF_INET, index, NUD_PERMANENT
        msg["attrs"] = [("NDA_DST", ip), ("NDA_LLADDR", mac)]
        self._add(msg, RTM_NEWNEIGH, CREATE, f"neighbour {ip} at {mac} on link {index}")

    def fdb_append(self, index: int, mac: str, dst: str) -> None:
        """A VXLAN forwarding entry on link `index`: frames for `mac` go to the VTEP at `dst`."""
        msg = ndmsg()
        msg["family"], msg["ifindex"] = socket.AF_BRIDGE, index
        msg["state"], msg["flags"] = NUD_PERMANENT | NUD_NOARP, NTF_SELF
        msg["attrs"] = [("NDA_LLADDR", mac), ("NDA_DST", dst)]
        self._add(msg, RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND, f"fdb {mac} dst {dst}")

    def include(self, other: Requests) -> None:
        """`other`'s requests after these: encoded once, sent to many namespaces (every node's entries for a peer)."""
        assert not other._fds, "requests holding namespace handles are sent once"
        for data, what in other._encoded:
            stamped = bytearray(data)
            struct.pack_into("=I", stamped, 8, len(self._encoded) + 1)  # nlmsghdr's sequence number
            self._encoded.append((bytes(stamped), what))

    def send(self, ns: str) -> None:
        """Send every request from inside `ns`; raise OSError for the first one the kernel refused."""
        try:
            if self._encoded:
                with netns.inside(ns):
                    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
                with sock:
                    sock.bind((0, 0))
                    refused = _exchange(sock, [data for data, _ in self._encoded])
                if refused:
                    seq, code = refused
                    raise OSError(code, f"{self._encoded[seq - 1][1]} in {ns}: {os.strerror(code)}")
        finally:
            for fd in self._fds:
                os.close(fd)
            self._encoded, self._fds = [], []


def _nla(kind: int, payload: bytes) -> bytes:
    """One netlink attribute: length, type, the payload padded to 4 bytes."""
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)


def _nest(kind: int, *attrs: bytes) -> bytes:
    """A nested attribute holding `attrs`."""
    return _nla(kind | NLA_F_NESTED, b"".join(attrs))


def _exchange(sock: socket.socket, messages: list[bytes]) -> tuple[int, int] | None:
    """Send the messages in writes of at most CHUNK bytes and WINDOW requests, reading each write's answers
    before the next; (sequence, errno) of the first refusal, if any."""
    refused = None
    start = 0
    while start < len(messages):
        end, size = start, 0
        while end < len(messages) and end - start < WINDOW and (end == start or size + len(messages[end]) <= CHUNK):
            size += len(messages[end])
            end += 1
        sock.send(b"".join(messages[start:end]))
        refused = refused or _acknowledgements(sock, end - start)
        start = end
    return refused


def _acknowledgements(sock: socket.socket, count: int) -> tuple[int, int] | None:
    """Read the kernel's answer to each of `count` requests; (sequence, errno) of the first refusal, if any."""
    answered, refused = 0, None
    while answered < count:
        data = sock.recv(65536)
        offset = 0
        while offset + _HEADER.size <= len(data):
            length, kind, _flags, seq, _port = _HEADER.unpack_from(data, offset)
            if kind == NLMSG_ERROR:
                answered += 1
                (code,) = _ERROR.unpack_from(data, offset + _HEADER.size)
                if code and refused is None:
                    refused = (seq, -code)
            offset += max(length, _HEADER.size)
    return refused
