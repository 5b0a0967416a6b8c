"""lab.netexec without root: the real server on 127.0.0.1 high ports, started and stopped as the lab does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.kernel import procs
from lab.netexec import launch, protocol
from lab.netexec import server as netexec


def free_ports(n: int) -> list[int]:
    """`n` distinct ports free for both TCP and UDP on 127.0.0.1 (held until all are found)."""
    held, ports = [], []
    while len(ports) < n:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind(("127.0.0.1", port))
        except OSError:
            udp.close()
            held.append(tcp)
            continue
        held += [tcp, udp]
        ports.append(port)
    for s in held:
        s.close()
    return ports


def write_config(path: Path, targets: list[tuple[str, int]]) -> Path:
    doc = {"targets": [{"name": n, "netns": None, "ip": "127.0.0.1", "port": p} for n, p in targets]}
    path.write_text(json.dumps(doc))
    return path


def http(port: int, raw: bytes, timeout: float = 3.0) -> tuple[int, dict[str, str], bytes, int]:
    """Send `raw` as is; returns status, headers (lower-case), body and the client socket's local port."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        local_port = s.getsockname()[1]
        s.sendall(raw)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict((k.lower(), v.strip()) for k, _, v in (ln.partition(":") for ln in lines[1:]))
    return int(lines[0].split()[1]), headers, body, local_port


def get(port: int, path: str, *extra: str) -> tuple[int, dict[str, str], bytes, int]:
    head = "".join(f"{h}\r\n" for h in (f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *extra))
    return http(port, (head + "\r\n").encode())


def udp(port: int, message: bytes) -> tuple[bytes, int]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.bind(("127.0.0.1", 0))
        s.sendto(message, ("127.0.0.1", port))
        return s.recv(65536), s.getsockname()[1]


class Server:
    def __init__(self, tmp: Path, names: list[str]) -> None:
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        self.config = write_config(tmp / "netexec.json", list(self.ports.items()))
        self.pidfile, self.log = tmp / "netexec.pid", tmp / "netexec.log"
        self.pid = launch.start(self.config, self.pidfile, self.log)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("netexec"), ["web-1", "web-2"])
    try:
        yield srv
    finally:
        procs.stop(srv.pidfile)


def test_hostname_and_root(server: Server) -> None:
    status, headers, body, _ = get(server.ports["web-1"], "/hostname")
    assert (status, body) == (200, b"web-1")
    assert headers["content-type"].startswith("text/plain")
    assert headers["content-length"] == "5"
    assert headers["connection"] == "close"
    assert get(server.ports["web-1"], "/")[:3:2] == (200, b"web-1")


def test_two_targets_answer_with_their_own_names(server: Server) -> None:
    for name, port in server.ports.items():
        assert get(port, "/hostname")[2] == name.encode()
        assert udp(port, b"hostname")[0] == name.encode()


def test_clientip_is_the_client_socket(server: Server) -> None:
    status, _, body, local_port = get(server.ports["web-2"], "/clientip")
    assert status == 200
    assert body.decode() == f"127.0.0.1:{local_port}"


def test_whoami_reports_xff_host_and_path(server: Server) -> None:
    port = server.ports["web-1"]
    forwarded = ("X-Forwarded-For: 203.0.113.7, 10.0.0.1", "X-Forwarded-Proto: https")
    status, headers, body, local_port = get(port, "/whoami?x=1", *forwarded)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(body) == {
        "hostname": "web-1",
        "client": f"127.0.0.1:{local_port}",
        "xff": "203.0.113.7, 10.0.0.1",
        "proto": "https",
        "host": f"127.0.0.1:{port}",
        "path": "/whoami",
    }
    bare = json.loads(get(port, "/whoami")[2])
    assert bare["xff"] is None and bare["proto"] is None


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/app1/whoami", "whoami"),
        ("/app1/clientip", "clientip"),
        ("/a/b/hostname", "hostname"),
        ("/app1", "hostname"),
        ("/app1/", "hostname"),
        ("/app1/nothing", None),
        ("/a/b/", None),
    ],
)
def test_route_is_the_last_segment(server: Server, path: str, route: str | None) -> None:
    status, _, body, local_port = get(server.ports["web-1"], path)
    if route is None:
        assert status == 404
        assert path.encode() in body
    elif route == "whoami":
        assert status == 200
        assert json.loads(body)["path"] == path
        assert json.loads(body)["client"] == f"127.0.0.1:{local_port}"
    elif route == "clientip":
        assert (status, body) == (200, f"127.0.0.1:{local_port}".encode())
    else:
        assert (status, body) == (200, b"web-1")


@pytest.mark.parametrize(
    "raw",
    [
        b"garbage\r\n\r\n",
        b"GET /hostname\r\n\r\n",
        b"GET /hostname HTTP/9.9\r\n\r\n",
        b"GET hostname HTTP/1.1\r\n\r\n",
        b"GET /hostname HTTP/1.1\r\nno colon here\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello on the plain port
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
    ],
    ids=["garbage", "no-version", "bad-version", "no-slash", "bad-header", "tls", "too-long"],
)
def test_malformed_requests_get_400(server: Server, raw: bytes) -> None:
    assert http(server.ports["web-1"], raw)[0] == 400


def test_head_and_other_methods(server: Server) -> None:
    status, headers, body, _ = http(server.ports["web-1"], b"HEAD /hostname HTTP/1.1\r\n\r\n")
    assert (status, headers["content-length"], body) == (200, "5", b"")
    assert http(server.ports["web-1"], b"POST /hostname HTTP/1.1\r\nContent-Length: 0\r\n\r\n")[0] == 405


def test_request_cut_short_gets_400(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.ports["web-1"]), timeout=3) as s:
        s.sendall(b"GET /hostname HTTP/1.1\r\n")
        s.shutdown(socket.SHUT_WR)
        assert s.recv(4096).startswith(b"HTTP/1.1 400 ")


def test_udp_commands(server: Server) -> None:
    port = server.ports["web-2"]
    assert udp(port, b"hostname")[0] == b"web-2"
    reply, local_port = udp(port, b"clientip")
    assert reply.decode() == f"127.0.0.1:{local_port}"
    reply, local_port = udp(port, b"whoami\n")  # `echo whoami | nc -u` sends a newline
    assert json.loads(reply) == {
        "hostname": "web-2",
        "client": f"127.0.0.1:{local_port}",
        "xff": None,
        "proto": None,
        "host": None,
        "path": None,
    }
    assert udp(port, b"nonsense")[0] == b"unknown command"


def test_pidfile_names_the_process_and_its_argv(server: Server) -> None:
    assert server.pidfile.read_text().strip() == str(server.pid)
    argv = Path(f"/proc/{server.pid}/cmdline").read_bytes().decode().split("\0")
    assert f"--pidfile={server.pidfile}" in argv
    assert procs.pid_of(server.pidfile) == server.pid


def test_ready_when_pidfile_appears_and_gone_after_stop(tmp_path: Path) -> None:
    """Many targets: once start() returns, every socket answers at once; stop removes process and pidfile."""
    ports = free_ports(60)
    config = write_config(tmp_path / "c.json", [(f"pod-{i}", p) for i, p in enumerate(ports)])
    pidfile = tmp_path / "n.pid"
    pid = launch.start(config, pidfile, tmp_path / "n.log")
    try:
        for i, port in enumerate(ports):  # no retry: ready means ready
            assert get(port, "/hostname")[2] == f"pod-{i}".encode()
    finally:
        assert procs.stop(pidfile)
    assert not pidfile.exists()
    assert procs.pid_of(pidfile) is None
    assert not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
    assert not list(tmp_path.glob(".n.pid.*")), "temporary pidfile left behind"


def test_sigterm_exits_0_and_removes_pidfile(tmp_path: Path) -> None:
    (port,) = free_ports(1)
    config = write_config(tmp_path / "c.json", [("solo", port)])
    pidfile = tmp_path / "s.pid"
    argv = [sys.executable, "-m", "lab.netexec", "--config", str(config), f"--pidfile={pidfile}"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not pidfile.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert get(port, "/")[2] == b"solo"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert not pidfile.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bind_conflict_names_target_and_leaves_nothing(tmp_path: Path) -> None:
    """The last target's port is taken: earlier ones were bound, yet no pidfile and no process remain."""
    ports = free_ports(3)
    config = write_config(tmp_path / "c.json", [("ok-1", ports[0]), ("ok-2", ports[1]), ("clash", ports[2])])
    pidfile = tmp_path / "c.pid"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", ports[2]))
        squatter.listen(1)
        with pytest.raises(LabError) as err:
            launch.start(config, pidfile, tmp_path / "c.log")
    assert "clash" in str(err.value)
    assert "Address already in use" in str(err.value)
    assert not pidfile.exists()
    assert procs.pid_of(pidfile) is None
    for port in ports[:2]:  # the sockets bound before the failure went with the process
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_udp_only_conflict_is_detected(tmp_path: Path) -> None:
    """UDP is bound without SO_REUSEADDR, so an existing UDP socket on the port is a clear failure."""
    (port,) = free_ports(1)
    config = write_config(tmp_path / "c.json", [("dns-ish", port)])
    pidfile = tmp_path / "u.pid"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port))
        with pytest.raises(LabError, match=r"dns-ish.*UDP bind"):
            launch.start(config, pidfile, tmp_path / "u.log")
    assert procs.pid_of(pidfile) is None


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ("not json", "cannot read config"),
        ({"targets": []}, "no targets"),
        ({"targets": [{"name": "x", "netns": None, "ip": "300.1.1.1", "port": 80}]}, "'ip'"),
        ({"targets": [{"name": "x", "netns": None, "ip": "127.0.0.1", "port": 0}]}, "'port'"),
        ({"targets": [{"name": "", "netns": None, "ip": "127.0.0.1", "port": 80}]}, "'name'"),
        ({"targets": [{"name": "x", "netns": "../etc", "ip": "127.0.0.1", "port": 80}]}, "'netns'"),
        ({"targets": [{"name": n, "netns": None, "ip": "127.0.0.1", "port": 80} for n in "ab"]}, "listed twice"),
    ],
)
def test_bad_config_is_refused_by_start(tmp_path: Path, doc: object, words: str) -> None:
    config = tmp_path / "c.json"
    config.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    with pytest.raises(LabError, match="code 2") as err:
        launch.start(config, tmp_path / "b.pid", tmp_path / "b.log")
    assert words in str(err.value)


def test_error_quotes_only_this_start_from_the_log(tmp_path: Path) -> None:
    log = tmp_path / "shared.log"
    log.write_text("netexec: error: an old failure of an earlier run\n")
    config = write_config(tmp_path / "c.json", [("x", 0)])  # port 0: refused by the config check
    with pytest.raises(LabError, match="'port'") as err:
        launch.start(config, tmp_path / "e.pid", log)
    assert "old failure" not in str(err.value)
    assert "old failure" in log.read_text()  # appended to, never truncated


def test_missing_namespace_names_target(tmp_path: Path) -> None:
    config = tmp_path / "c.json"
    target = {"name": "ghost", "netns": "itnx-does-not-exist", "ip": "127.0.0.1", "port": free_ports(1)[0]}
    config.write_text(json.dumps({"targets": [target]}))
    with pytest.raises(LabError, match=r"ghost.*itnx-does-not-exist"):
        launch.start(config, tmp_path / "m.pid", tmp_path / "m.log")


def test_start_refuses_a_second_instance_and_ignores_a_stale_pidfile(tmp_path: Path, server: Server) -> None:
    with pytest.raises(LabError, match="already running"):
        launch.start(server.config, server.pidfile, tmp_path / "again.log")
    (port,) = free_ports(1)
    config = write_config(tmp_path / "c.json", [("fresh", port)])
    pidfile = tmp_path / "stale.pid"
    pidfile.write_text(f"{server.pid}\n")  # a live PID, but not started with this --pidfile
    pid = launch.start(config, pidfile, tmp_path / "stale.log")
    try:
        assert pid != server.pid
        assert pidfile.read_text().strip() == str(pid)
        assert get(port, "/")[2] == b"fresh"
    finally:
        procs.stop(pidfile)


def test_start_times_out_and_kills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that never gets ready is killed and reported, leaving no process."""
    (port,) = free_ports(1)
    config = write_config(tmp_path / "c.json", [("slow", port)])
    pidfile = tmp_path / "t.pid"
    real_popen = subprocess.Popen

    def stopped_popen(argv: list[str], **kw: object) -> subprocess.Popen:
        # SIGSTOP the child as soon as it is born: it never writes its pidfile
        return real_popen(["sh", "-c", 'kill -STOP $$; exec "$@"', "sh", *argv], **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(launch.subprocess, "Popen", stopped_popen)
    with pytest.raises(LabError, match=r"not ready after 0\.3 s"):
        launch.start(config, pidfile, tmp_path / "t.log", timeout=0.3)
    assert not pidfile.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


# --- in-process: the protocol and the parser, without a subprocess -----------------------------------


def test_read_timeout_sends_408_or_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that stalls is cut off after READ_TIMEOUT (shortened here): 408 if it sent something."""
    monkeypatch.setattr(netexec, "READ_TIMEOUT", 0.2)

    async def scenario() -> tuple[bytes, bytes]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: netexec.HttpConnection("slow"), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            r1, w1 = await asyncio.open_connection("127.0.0.1", port)
            w1.write(b"GET /hostname HTTP/1.1\r\n")
            r2, w2 = await asyncio.open_connection("127.0.0.1", port)
            got = await asyncio.wait_for(asyncio.gather(r1.read(), r2.read()), 3)
            for w in (w1, w2):
                w.close()
            return got[0], got[1]
        finally:
            server.close()

    partial, silent = asyncio.run(scenario())
    assert partial.startswith(b"HTTP/1.1 408 ")
    assert silent == b""


def test_request_split_across_packets() -> None:
    async def scenario() -> bytes:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: netexec.HttpConnection("split"), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            for piece in (b"GET /who", b"ami HTTP/1.1\r\nX-Forwarded-For: 1.2.3.4\r", b"\n\r\n"):
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.02)
            data = await asyncio.wait_for(reader.read(), 3)
            writer.close()
            return data
        finally:
            server.close()

    body = asyncio.run(scenario()).partition(b"\r\n\r\n")[2]
    assert json.loads(body)["xff"] == "1.2.3.4"


def test_parse_head_details() -> None:
    req = protocol.parse_head(b"GET http://example.test/app1/whoami?q=1 HTTP/1.0\r\nX-A: 1\r\nx-a: 2\r\nHost: h")
    assert req is not None
    assert (req.method, req.path, req.headers) == ("GET", "/app1/whoami", {"x-a": "1, 2", "host": "h"})
    assert protocol.parse_head(b"GET / HTTP/1.1\n\tfolded: no") is None
    assert protocol.route_of("/app1/whoami/") == "whoami"
    assert protocol.route_of("//") == "hostname"


def test_raise_fd_limit_refuses_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netexec.resource, "getrlimit", lambda _r: (1024, 1024))
    with pytest.raises(OSError, match="2256 file descriptors needed"):
        netexec._raise_fd_limit(2256)


def test_module_has_no_thread_per_connection(server: Server) -> None:
    """Forty open connections at once: still one thread, and every one is answered."""
    conns = [socket.create_connection(("127.0.0.1", server.ports["web-1"]), timeout=3) for _ in range(40)]
    try:
        assert len(os.listdir(f"/proc/{server.pid}/task")) == 1
        for s in conns:
            s.sendall(b"GET /hostname HTTP/1.1\r\n\r\n")
        for s in conns:
            assert s.recv(4096).endswith(b"web-1")
    finally:
        for s in conns:
            with contextlib.suppress(OSError):
                s.close()
