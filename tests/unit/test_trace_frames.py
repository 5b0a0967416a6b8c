"""trace's frame handling without a kernel: which frames are the traced packet's, and pcap files read back."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest
from test_probe import INNER_ICMP, eth, icmp_echo, ipv4, tcp_syn, tunnelled, udp

from lab.observe import pcap
from lab.observe.capture import decode
from lab.observe.trace import classify
from lab.observe.tracesend import Mark, _checksum
from lab.observe.tracesend import icmp_echo as traced_echo

MARK = Mark(b"cce-lab-trace-0123456789ab", 45000)


def _icmp(kind: int, payload: bytes, ident: int = 1) -> bytes:
    return struct.pack("!BBHHH", kind, 0, 0, ident, 1) + payload


def _cls(frame: bytes, protocol: str, ports: set[int] | None = None) -> str | None:
    d = decode(frame)
    assert d is not None
    return classify(d, frame, protocol, MARK, ports or {MARK.ident})


def test_icmp_request_reply_and_error_by_token() -> None:
    req = eth(ipv4("172.16.0.1", "172.16.0.32", 1, _icmp(8, MARK.token + b"....")))
    rep = eth(ipv4("172.16.0.32", "172.16.0.1", 1, _icmp(0, MARK.token + b"....")))
    quoted = ipv4("172.16.0.1", "172.16.1.2", 1, _icmp(8, MARK.token, MARK.ident))
    err = eth(ipv4("192.168.0.252", "172.16.0.1", 1, struct.pack("!BBHI", 3, 1, 0, 0) + quoted))
    other = eth(ipv4("172.16.0.1", "172.16.0.32", 1, icmp_echo()))
    assert [_cls(f, "icmp") for f in (req, rep, err, other)] == ["request", "reply", "error", None]


def test_icmp_inside_vxlan_is_the_same_packet() -> None:
    inner = eth(ipv4("172.16.0.1", "172.16.0.32", 1, _icmp(8, MARK.token)))
    frame = tunnelled(inner, vni=1)
    d = decode(frame)
    assert d and d.vni == 1 and d.outer and (d.outer.src, d.outer.dst) == ("192.168.0.2", "192.168.0.4")
    assert _cls(frame, "icmp") == "request"
    assert "VXLAN vni 1" in d.text() and "echo request" in d.text()
    assert _cls(tunnelled(INNER_ICMP), "icmp") is None


def test_tcp_by_port_including_the_snat_port() -> None:
    syn = eth(ipv4("172.16.0.1", "10.247.0.10", 6, tcp_syn(MARK.ident, 80)))
    natted = eth(ipv4("192.168.0.3", "172.16.0.18", 6, tcp_syn(41122, 8080)))
    assert _cls(syn, "tcp") == "request"
    assert _cls(natted, "tcp") is None
    assert _cls(natted, "tcp", {MARK.ident, 41122}) == "request"
    synack = bytearray(eth(ipv4("10.247.0.10", "172.16.0.1", 6, tcp_syn(80, MARK.ident))))
    synack[14 + 20 + 13] = 0x12
    assert _cls(bytes(synack), "tcp") == "reply"
    rst = bytearray(synack)
    rst[14 + 20 + 13] = 0x14
    assert _cls(bytes(rst), "tcp") == "error"
    assert _cls(syn, "udp") is None


def test_udp_request_is_the_whoami_datagram() -> None:
    ask = eth(ipv4("172.16.0.1", "10.247.0.17", 17, udp(MARK.ident, 53, b"whoami")))
    answer = eth(ipv4("10.247.0.17", "172.16.0.1", 17, udp(53, MARK.ident, b'{"hostname": "web-1"}')))
    assert (_cls(ask, "udp"), _cls(answer, "udp")) == ("request", "reply")


def test_the_traced_echo_has_a_valid_checksum_and_the_size_asked() -> None:
    packet = traced_echo(MARK, 1000)
    assert len(packet) == 8 + 1000 and packet[8:].startswith(MARK.token)
    assert _checksum(packet) == 0


def test_pcap_round_trip(tmp_path) -> None:
    frames = [(1_700_000_000.123456, tunnelled(INNER_ICMP)), (1_700_000_000.5, eth(b"\0" * 46))]
    path = tmp_path / "hop.pcap"
    assert pcap.write(path, frames) == 2
    back = pcap.read(path)
    assert [f for _, f in back] == [f for _, f in frames]
    assert back[0][0] == pytest.approx(frames[0][0], abs=1e-6)
    with pytest.raises(ValueError):
        (tmp_path / "bad.pcap").write_bytes(b"nope")
        pcap.read(tmp_path / "bad.pcap")


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_reads_the_pcap(tmp_path) -> None:
    path = tmp_path / "hop.pcap"
    pcap.write(path, [(1_700_000_000.0, tunnelled(INNER_ICMP))])
    out = subprocess.run(["tcpdump", "-nn", "-r", str(path)], capture_output=True, text=True, check=True).stdout
    assert "192.168.0.2.49152 > 192.168.0.4.4789" in out  # (tcpdump names UDP 4789 in its own way)
