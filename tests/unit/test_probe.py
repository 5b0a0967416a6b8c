"""lab.observe.capture.parse on frames built by hand: VXLAN is seen and its inner destination read."""

from __future__ import annotations

import socket
import struct

import pytest

from lab.observe.capture import parse

MAC_A, MAC_B = bytes.fromhex("0e58c0a80002"), bytes.fromhex("0e58c0a80003")
POD_A, POD_B = bytes.fromhex("0a58ac100001"), bytes.fromhex("0a58ac100020")


def eth(payload: bytes, ethertype: int = 0x0800, dst: bytes = MAC_B, src: bytes = MAC_A) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, options: bytes = b"") -> bytes:
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4
    header = struct.pack(
        "!BBHHHBBH4s4s",
        (4 << 4) | ihl,
        0,
        ihl * 4 + len(payload),
        0x1234,
        0x4000,  # DF
        64,
        proto,
        0,  # checksum: parse does not look at it
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return header + options + payload


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def tcp_syn(sport: int, dport: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 64240, 0, 0)


def icmp_echo(payload: bytes = b"cce-lab-ping" * 4) -> bytes:
    return struct.pack("!BBHHH", 8, 0, 0, 0x42, 1) + payload


def vxlan(vni: int, inner: bytes) -> bytes:
    """VXLAN header (RFC 7348): flags with I set, 24 reserved bits, 24-bit VNI, 8 reserved bits."""
    return struct.pack("!B3xI", 0x08, vni << 8) + inner


def arp_request(sender: str, target: str) -> bytes:
    return struct.pack(
        "!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, POD_A, socket.inet_aton(sender), b"\0" * 6, socket.inet_aton(target)
    )


def tunnelled(inner_frame: bytes, vni: int = 1, options: bytes = b"", sport: int = 49152) -> bytes:
    return eth(ipv4("192.168.0.2", "192.168.0.4", 17, udp(sport, 4789, vxlan(vni, inner_frame)), options))


INNER_ICMP = eth(ipv4("172.16.0.1", "172.16.0.32", 1, icmp_echo()), dst=POD_B, src=POD_A)
INNER_TCP = eth(ipv4("172.16.0.1", "172.16.0.33", 6, tcp_syn(40000, 8080)), dst=POD_B, src=POD_A)


@pytest.mark.parametrize(
    ("frame", "inner_dst", "words"),
    [
        pytest.param(tunnelled(INNER_ICMP), "172.16.0.32", ("VXLAN", "vni 1", "ICMP", "172.16.0.1"), id="icmp"),
        pytest.param(tunnelled(INNER_TCP, vni=42), "172.16.0.33", ("vni 42", "TCP"), id="tcp-vni-42"),
        pytest.param(tunnelled(INNER_ICMP, vni=0xFFFFFF), "172.16.0.32", (f"vni {0xFFFFFF}",), id="max-vni"),
        pytest.param(
            tunnelled(INNER_ICMP, options=b"\x01\x01\x01\x00"), "172.16.0.32", ("VXLAN",), id="outer-ip-options"
        ),
        pytest.param(
            tunnelled(INNER_ICMP, sport=4789), "172.16.0.32", ("4789 > 192.168.0.4:4789",), id="sport-4789-too"
        ),
    ],
)
def test_vxlan_frame_gives_inner_destination(frame: bytes, inner_dst: str, words: tuple[str, ...]) -> None:
    parsed = parse(frame)
    assert parsed is not None
    assert parsed.vxlan is True
    assert parsed.dst == inner_dst
    assert "192.168.0.2" in parsed.summary
    assert "192.168.0.4:4789" in parsed.summary
    for word in words:
        assert word in parsed.summary


def test_vxlan_with_inner_arp_has_no_inner_destination() -> None:
    parsed = parse(tunnelled(eth(arp_request("172.16.0.1", "172.16.0.32"), ethertype=0x0806)))
    assert parsed is not None
    assert parsed.vxlan is True
    assert parsed.dst == ""
    assert "non-IP" in parsed.summary


@pytest.mark.parametrize(
    ("frame", "dst", "word"),
    [
        pytest.param(eth(ipv4("172.16.0.1", "172.16.0.32", 1, icmp_echo())), "172.16.0.32", "ICMP", id="icmp"),
        pytest.param(eth(ipv4("192.168.0.254", "172.16.0.17", 1, icmp_echo(b""))), "172.16.0.17", "ICMP", id="ecs"),
        pytest.param(eth(ipv4("172.16.0.1", "172.16.0.32", 6, tcp_syn(40000, 80))), "172.16.0.32", "TCP", id="tcp"),
        pytest.param(
            eth(ipv4("172.16.0.1", "10.247.0.10", 17, udp(5353, 53, b"\0" * 12))), "10.247.0.10", "UDP", id="udp-dns"
        ),
        pytest.param(
            eth(ipv4("192.168.0.4", "192.168.0.2", 17, udp(4789, 50000, vxlan(1, INNER_ICMP)))),
            "192.168.0.2",
            "UDP",
            id="udp-from-4789-is-not-vxlan",
        ),
        pytest.param(
            eth(ipv4("192.168.0.2", "192.168.0.4", 17, struct.pack("!HHHH", 1, 4789, 8, 0))),
            "192.168.0.4",
            "UDP",
            id="udp-4789-without-vxlan-header",
        ),
        pytest.param(eth(ipv4("172.16.0.1", "172.16.0.32", 47, b"\0" * 8)), "172.16.0.32", "proto 47", id="gre"),
    ],
)
def test_plain_frame_is_not_vxlan(frame: bytes, dst: str, word: str) -> None:
    parsed = parse(frame)
    assert parsed is not None
    assert parsed.vxlan is False
    assert parsed.dst == dst
    assert word in parsed.summary
    assert "VXLAN" not in parsed.summary


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(eth(arp_request("192.168.0.2", "192.168.0.1"), ethertype=0x0806), id="arp"),
        pytest.param(eth(b"\x60" + b"\0" * 39, ethertype=0x86DD), id="ipv6"),
        pytest.param(eth(b"\0\x01\x08\x00" + ipv4("1.1.1.1", "2.2.2.2", 1, icmp_echo()), ethertype=0x8100), id="vlan"),
        pytest.param(eth(ipv4("1.1.1.1", "2.2.2.2", 1, b""))[:33], id="truncated-ipv4"),
        pytest.param(b"", id="empty"),
    ],
)
def test_non_ipv4_frame_gives_none(frame: bytes) -> None:
    assert parse(frame) is None
