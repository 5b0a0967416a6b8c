"""The ELB Ingress's nginx configuration (lab.render.nginx.config): upstreams, virtual servers, paths, headers."""

from __future__ import annotations

import re
from ipaddress import ip_network
from pathlib import Path

import pytest

from lab.errors import SpecError
from lab.plan import Plan, make_plan
from lab.render import nginx as ingress
from lab.spec import build_spec
from lab.topology import load

TOPOLOGIES = Path(__file__).resolve().parents[2] / "topologies"
WORKDIR = Path("/x")


def _svc(name: str, type_: str = "NodePort", port: int = 80, **extra: object) -> dict:
    return {"name": name, "type": type_, "selector": {"app": "web"}, "port": port, **extra}


SERVICES = [
    _svc("web", nodePort=30080),
    _svc("api", "LoadBalancer", port=8082, nodePort=30082, externalTrafficPolicy="Local"),
    _svc("shop", nodePort=30100),
    _svc("internal", "ClusterIP"),
]
INGRESSES = [
    {"host": "web.example.com", "path": "/", "service": "web", "port": 80},
    {"host": "api.example.com", "path": "/api", "service": "api", "port": 8082},
    {"host": "web.example.com", "path": "/shop", "service": "shop", "port": 80},
    {"host": "api.example.com", "path": "/v2", "service": "web", "port": 80},
]


def _plan(nodes: int = 3, ecs: bool = True, **overrides: object) -> Plan:
    data = {
        "name": "t",
        "model": "vpc",
        "nodes": nodes,
        "ecs": ecs,
        "internet": True,
        "workloads": [{"name": "web", "replicas": 2}],
        "services": SERVICES,
        "ingresses": INGRESSES,
    }
    return make_plan(build_spec({**data, **overrides}))


def _blocks(conf: str, keyword: str) -> dict[str, list[str]]:
    """`  <keyword> NAME {` ... `  }` blocks at the http level: name -> inner lines (stripped)."""
    found: dict[str, list[str]] = {}
    lines = conf.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(rf"  {keyword} (\S+) \{{", line)
        if m:
            end = lines.index("  }", i)
            assert m.group(1) not in found, f"{keyword} {m.group(1)} twice"
            found[m.group(1)] = [x.strip() for x in lines[i + 1 : end]]
    return found


def _servers(conf: str) -> list[list[str]]:
    """Every multi-line `  server {` block at the http level, as stripped inner lines."""
    lines = conf.splitlines()
    return [
        [x.strip() for x in lines[i + 1 : lines.index("  }", i)]] for i, ln in enumerate(lines) if ln == "  server {"
    ]


def _server_name(block: list[str]) -> str:
    (line,) = [x for x in block if x.startswith("server_name ")]
    return line.removeprefix("server_name ").rstrip(";")


def _locations(block: list[str]) -> dict[str, str]:
    """path -> upstream it proxies to."""
    result: dict[str, str] = {}
    for line in block:
        m = re.fullmatch(r"location (\S+) \{ proxy_pass http://(\S+); \}", line)
        if m:
            assert m.group(1) not in result, f"duplicate location {m.group(1)}"
            result[m.group(1)] = m.group(2)
    return result


def _node_ips(n: int) -> list[str]:
    base = ip_network("192.168.0.0/24").network_address
    return [str(base + 2 + i) for i in range(n)]


ELB_IP = "192.168.0.253"  # ECS on .254, the ELB next below


@pytest.mark.parametrize("nodes", [1, 3, 5])
def test_one_upstream_per_ingress_service_with_every_node(nodes: int) -> None:
    conf = ingress.config(_plan(nodes), WORKDIR)
    upstreams = _blocks(conf, "upstream")
    node_ports = {"web": 30080, "api": 30082, "shop": 30100}
    assert set(upstreams) == {f"svc-{name}" for name in node_ports}
    # 2 web replicas spread round-robin: on node-1 and node-2 (both on node-1 when there is one node)
    with_pods = _node_ips(nodes)[: min(2, nodes)]
    for name, port in node_ports.items():
        ips = with_pods if name == "api" else _node_ips(nodes)  # api is Local: only nodes with an endpoint
        assert upstreams[f"svc-{name}"] == [f"server {ip}:{port};" for ip in ips]
    assert "internal" not in conf


def test_upstream_uses_an_allocated_nodeport() -> None:
    services = [_svc("web"), _svc("other", nodePort=30000)]
    ingresses = [{"host": "web.example.com", "service": "web", "port": 80}]
    conf = ingress.config(_plan(2, services=services, ingresses=ingresses), WORKDIR)
    # 30000 is taken by `other`, so `web` gets 30001
    assert _blocks(conf, "upstream") == {"svc-web": [f"server {ip}:30001;" for ip in _node_ips(2)]}


def test_default_server_returns_404() -> None:
    conf = ingress.config(_plan(), WORKDIR)
    defaults = [ln for ln in conf.splitlines() if "default_server" in ln]
    assert len(defaults) == 1
    (line,) = defaults
    assert f"listen {ELB_IP}:80 default_server;" in line
    assert re.search(r"return 404\b", line)


@pytest.mark.parametrize("ecs", [True, False])
def test_listens_on_the_elb_address_port_80(ecs: bool) -> None:
    plan = _plan(ecs=ecs)
    elb_ip = "192.168.0.253" if ecs else "192.168.0.254"
    conf = ingress.config(plan, WORKDIR)
    listens = re.findall(r"listen (\S+?)[; ]", conf)
    assert listens and set(listens) == {f"{elb_ip}:80"}


def test_one_server_per_host_with_a_location_per_path() -> None:
    conf = ingress.config(_plan(), WORKDIR)
    servers = _servers(conf)
    by_host = {_server_name(b): b for b in servers}
    assert len(servers) == len(by_host) == 2
    assert list(by_host) == ["web.example.com", "api.example.com"]
    assert _locations(by_host["web.example.com"]) == {"/": "svc-web", "/shop": "svc-shop"}
    assert _locations(by_host["api.example.com"]) == {"/api": "svc-api", "/v2": "svc-web"}
    for block in servers:
        assert f"listen {ELB_IP}:80;" in block
    # every proxy_pass names a defined upstream
    upstreams = set(_blocks(conf, "upstream"))
    assert {u for b in servers for u in _locations(b).values()} == upstreams


def test_forwarding_headers() -> None:
    conf = ingress.config(_plan(), WORKDIR)
    lines = [ln.strip() for ln in conf.splitlines()]
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in lines
    assert "proxy_set_header Host $host;" in lines


@pytest.mark.parametrize("workdir", ["/x", "/run/cce-lab/demo"])
def test_runtime_paths_under_the_workdir(workdir: str) -> None:
    conf = ingress.config(_plan(), Path(workdir))
    lines = [ln.strip() for ln in conf.splitlines()]
    assert f"pid {workdir}/nginx.pid;" in lines
    assert any(ln.startswith(f"error_log {workdir}/") for ln in lines)
    temps = [ln for ln in lines if re.match(r"\w+_temp_path ", ln)]
    kinds = {ln.split()[0] for ln in temps}
    assert {"client_body_temp_path", "proxy_temp_path"} <= kinds
    for ln in temps:
        assert ln.split()[1].startswith(f"{workdir}/"), ln
    # nothing is written outside the workdir
    for ln in lines:
        for path in re.findall(r"(?<![\w$:])(/[\w./-]+\.(?:pid|log))", ln):
            assert path.startswith(f"{workdir}/"), ln


def test_braces_balance() -> None:
    conf = ingress.config(_plan(), WORKDIR)
    depth = 0
    for ch in conf:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert conf.splitlines()[-1] == "}"


def test_shipped_topology_ingress() -> None:
    plan = make_plan(load(TOPOLOGIES / "tunnel.yaml"))
    conf = ingress.config(plan, WORKDIR)
    assert _blocks(conf, "upstream") == {
        "svc-web-np": [f"server {ip}:30080;" for ip in _node_ips(3)],
        "svc-api-local": [f"server {ip}:30082;" for ip in _node_ips(2)],  # Local: api-1, api-2 on node-1, node-2
    }
    routing = {_server_name(b): _locations(b) for b in _servers(conf) if _locations(b)}
    assert routing == {"web.example.com": {"/": "svc-web-np"}, "api.example.com": {"/api": "svc-api-local"}}
    assert ingress.tls_hosts(plan) == ["web.example.com"]  # the shipped labs serve web over HTTPS


def test_duplicate_host_and_path_is_refused_or_merged() -> None:
    ingresses = [
        {"host": "x.example.com", "path": "/", "service": "web", "port": 80},
        {"host": "x.example.com", "path": "/", "service": "shop", "port": 80},
    ]
    try:
        plan = _plan(ingresses=ingresses)
    except SpecError as err:
        assert err.field == "ingresses[1].path" or err.field.startswith("ingresses[1]")
        return
    for block in _servers(ingress.config(plan, WORKDIR)):
        paths = [x.split()[1] for x in block if x.startswith("location ")]
        assert len(paths) == len(set(paths)), f"duplicate location in {block}"
