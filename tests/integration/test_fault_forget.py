"""A fault that NATs connections wrongly while they still leave leaves them tracked, unreplied; its undo must
forget them, or a later connection from the same source port keeps the stale decision and is lost.

Each test sends one connection from a fixed source port while the fault is in force, undoes the fault, and
connects again from that very port: without the undo's `conntrack -D` the second connection matches the old
entry and times out (measured: the lost spreading requests of CI runs were exactly these).
"""

from __future__ import annotations

import socket

import pytest
from conftest import cli, shipped_lab

from lab.kernel import netns, procs
from lab.observe import counters
from lab.observe.status import load_plan

PORT = 47123  # the client's source port, inside the ephemeral range (ports the kernel hands out too)


def _connect(ns: str, ip: str, port: int, timeout: float) -> str:
    """Connect from source port PORT and ask /whoami; the answer's first line, or why there was none."""
    with netns.inside(ns):
        sock = socket.socket()
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", PORT))
        sock.settimeout(timeout)
        try:
            sock.connect((ip, port))
            sock.sendall(b"GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(200).decode(errors="replace").split("\r\n", 1)[0]
        except OSError as exc:
            return exc.strerror or "timed out"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with shipped_lab(tmp_path_factory, "fgtun", "tunnel") as name:
        yield name


def _tracked(ns: str, *filters: str) -> int:
    res = procs.run(ns, ["conntrack", "-L", "-p", "tcp", *filters], check=False)
    return len([ln for ln in res.stdout.splitlines() if ln.startswith("tcp")])


def _break_and_heal(lab: str, fault: str, client_ns: str, ip: str, port: int, where: str, filters: list[str]):
    cli("fault", "inject", fault, "--lab", lab, check=True)
    try:
        broken = _connect(client_ns, ip, port, timeout=1)
        stale = _tracked(where, *filters)
    finally:
        cli("fault", "undo", fault, "--lab", lab, check=True)
    assert not broken.startswith("HTTP/1.1 200"), f"{fault} in force, yet {ip}:{port} answered: {broken}"
    assert stale >= 1, f"{fault}: the lost connection left no tracked entry in {where} matching {filters}"
    assert _tracked(where, *filters) == 0, f"{fault} undone, yet {where} still tracks {filters}"
    healed = _connect(client_ns, ip, port, timeout=3)
    assert healed == "HTTP/1.1 200 OK", f"{fault} undone: {ip}:{port} from the same source port: {healed}"


def test_kubeproxy_flushed_undo_forgets_the_unnated_connections(lab):
    plan = load_plan(lab)
    client, web = plan.first_plain_pod(), plan.service("web")
    assert client and web
    node = plan.node(client.node)
    filters = ["--orig-dst", web.cluster_ip, "--reply-src", web.cluster_ip]
    _break_and_heal(lab, "kubeproxy-flushed", client.netns, web.cluster_ip, web.port, node.netns, filters)
    assert counters.untranslated_connections(node.netns, web.cluster_ip) == 0  # what check's spreading row reads


def test_check_names_the_connections_nothing_dnated(lab):
    """Broken, `untranslated_connections` (which the spreading row quotes) counts the lost connection."""
    plan = load_plan(lab)
    client, web = plan.first_plain_pod(), plan.service("web")
    assert client and web
    node = plan.node(client.node)
    cli("fault", "inject", "kubeproxy-flushed", "--lab", lab, check=True)
    try:
        _connect(client.netns, web.cluster_ip, web.port, timeout=1)
        during = counters.untranslated_connections(node.netns, web.cluster_ip)
    finally:
        cli("fault", "undo", "kubeproxy-flushed", "--lab", lab, check=True)
    assert during == 1, f"one lost connection from port {PORT}, yet {during} untranslated ones tracked"


def test_elb_local_wrong_node_undo_forgets_what_the_elb_sent_there(lab):
    plan = load_plan(lab)
    svc = next(s for s in plan.services if s.type == "LoadBalancer" and s.external_traffic_policy == "Local")
    empty = next(n for n in plan.nodes if n.name not in svc.nodes_with_endpoints())
    client, elb = plan.host("internet-client"), plan.host("elb")
    assert client and elb and svc.eip and svc.node_port
    filters = ["--reply-src", empty.ip, "--reply-port-src", str(svc.node_port)]
    _break_and_heal(lab, "elb-local-wrong-node", client.netns, svc.eip, svc.port, elb.netns, filters)
