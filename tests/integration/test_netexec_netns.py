"""lab.netexec in real namespaces: sockets live in the target's namespace and see the true source address."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.kernel import links, netns, procs
from lab.netexec import launch

NS_A, NS_B = "itnx-a", "itnx-b"
IP_A, IP_B = "10.250.0.1", "10.250.0.2"


@pytest.fixture
def pair() -> Iterator[None]:
    """Two namespaces joined by a veth pair (eth0 in each), loopback up; always deleted again."""
    created: list[str] = []
    try:
        for name in (NS_A, NS_B):
            netns.create(name)
            created.append(name)
        with netns.iproute(NS_A) as ipr:
            links.veth(ipr, "eth0", NS_B, "eth0", 1500)
        for name, ip in ((NS_A, IP_A), (NS_B, IP_B)):
            links.configure(name, "eth0", ip, 24)
        yield
    finally:
        for name in created:
            netns.delete(name)


@contextlib.contextmanager
def server(tmp: Path, targets: list[dict]) -> Iterator[Path]:
    """netexec serving `targets`; always stopped, even if start() itself failed half-way."""
    config, pidfile = tmp / "netexec.json", tmp / "netexec.pid"
    config.write_text(json.dumps({"targets": targets}))
    try:
        launch.start(config, pidfile, tmp / "netexec.log")
        yield pidfile
    finally:
        procs.stop(pidfile)


def client(ns: str, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A socket that lives in namespace `ns` (made there, used from here)."""
    with netns.inside(ns):
        s = socket.socket(socket.AF_INET, kind)
    s.settimeout(3)
    return s


def http_get(ns: str, ip: str, port: int, path: str) -> tuple[bytes, str]:
    """GET from inside `ns`; returns the body and the client's own IP:PORT."""
    with client(ns) as s:
        s.connect((ip, port))
        me = "{}:{}".format(*s.getsockname())
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {ip}\r\nX-Forwarded-For: 198.51.100.9\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    return body, me


def udp_ask(ns: str, ip: str, port: int, command: bytes) -> tuple[bytes, int]:
    """One datagram from inside `ns`; returns the reply and the client's own port (its IP is unbound)."""
    with client(ns, socket.SOCK_DGRAM) as s:
        s.sendto(command, (ip, port))
        return s.recv(65536), s.getsockname()[1]


def test_pod_answers_from_its_namespace_and_sees_the_peer(pair: None, tmp_path: Path) -> None:
    with server(tmp_path, [{"name": "web-a", "netns": NS_A, "ip": IP_A, "port": 8080}]):
        assert http_get(NS_B, IP_A, 8080, "/hostname")[0] == b"web-a"
        body, me = http_get(NS_B, IP_A, 8080, "/clientip")
        assert me.startswith(f"{IP_B}:")
        assert body.decode() == me
        body, me = http_get(NS_B, IP_A, 8080, "/app1/whoami")
        assert json.loads(body) == {
            "hostname": "web-a",
            "client": me,
            "xff": "198.51.100.9",
            "proto": None,
            "host": IP_A,
            "path": "/app1/whoami",
        }
        assert udp_ask(NS_B, IP_A, 8080, b"hostname")[0] == b"web-a"
        reply, my_port = udp_ask(NS_B, IP_A, 8080, b"clientip")
        assert reply.decode() == f"{IP_B}:{my_port}"


def test_same_address_in_two_namespaces_are_two_pods(pair: None, tmp_path: Path) -> None:
    """127.0.0.1:9000 in A and in B are different sockets: each namespace reaches its own."""
    targets = [
        {"name": "lo-a", "netns": NS_A, "ip": "127.0.0.1", "port": 9000},
        {"name": "lo-b", "netns": NS_B, "ip": "127.0.0.1", "port": 9000},
        {"name": "web-b", "netns": NS_B, "ip": IP_B, "port": 8080},
    ]
    with server(tmp_path, targets):
        assert http_get(NS_A, "127.0.0.1", 9000, "/")[0] == b"lo-a"
        assert http_get(NS_B, "127.0.0.1", 9000, "/")[0] == b"lo-b"
        assert udp_ask(NS_A, "127.0.0.1", 9000, b"hostname")[0] == b"lo-a"
        assert udp_ask(NS_B, "127.0.0.1", 9000, b"hostname")[0] == b"lo-b"
        body, me = http_get(NS_A, IP_B, 8080, "/whoami")
        assert json.loads(body)["hostname"] == "web-b"
        assert json.loads(body)["client"] == me
        assert me.startswith(f"{IP_A}:")


def test_address_missing_in_namespace_names_target_and_leaves_nothing(pair: None, tmp_path: Path) -> None:
    targets = [
        {"name": "web-a", "netns": NS_A, "ip": IP_A, "port": 8080},
        {"name": "nowhere", "netns": NS_B, "ip": "10.250.0.99", "port": 8080},
    ]
    pidfile = tmp_path / "netexec.pid"
    refused = r"nowhere.*10\.250\.0\.99:8080 in itnx-b.*Cannot assign requested address"
    with pytest.raises(LabError, match=refused), server(tmp_path, targets):
        pass
    assert procs.pid_of(pidfile) is None
    assert not pidfile.exists()
    with client(NS_B) as s, pytest.raises(ConnectionRefusedError):
        s.connect((IP_A, 8080))  # web-a's socket, bound before the failure, went with the process


def test_many_namespaces_one_process(tmp_path: Path) -> None:
    """Forty pods, each 127.0.0.1:8080 in its own namespace, served by one single-threaded process."""
    names = [f"itnx-m{i:02d}" for i in range(40)]
    created: list[str] = []
    try:
        for name in names:
            netns.create(name)
            created.append(name)
            with netns.iproute(name) as ipr:
                ipr.link("set", index=1, state="up")
        targets = [{"name": f"pod-{n}", "netns": n, "ip": "127.0.0.1", "port": 8080} for n in names]
        with server(tmp_path, targets) as pidfile:
            pid = procs.pid_of(pidfile)
            assert pid is not None
            assert len(list(Path(f"/proc/{pid}/task").iterdir())) == 1
            for name in names:
                assert http_get(name, "127.0.0.1", 8080, "/hostname")[0] == f"pod-{name}".encode()
    finally:
        for name in created:
            netns.delete(name)
