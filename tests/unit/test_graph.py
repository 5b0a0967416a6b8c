"""`cce-lab graph` from a plan: the DOT and Mermaid text (golden), what they draw, readability at scale, bad input."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.plan import Plan, make_plan
from lab.plan.cluster import VXLAN_PORT, VXLAN_VNI
from lab.render import graph, graphinfo, picture
from lab.topology import load

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("tunnel", "vpc")


def _plan(name: str, **params: str) -> Plan:
    path = ROOT / ("topologies/scale.py" if params else f"topologies/{name}.yaml")
    return make_plan(load(path, params))  # as `cce-lab graph FILE` does: `datapath: auto` stays auto


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "lab.cli", "graph", *args]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


@pytest.mark.parametrize("name", SHIPPED)
def test_golden_dot_and_mermaid(name: str, golden) -> None:
    plan = _plan(name)
    golden(f"render/{name}/graph.dot", graph.dot(plan))
    golden(f"render/{name}/graph.mmd", graph.mermaid(plan))
    golden(f"render/{name}/graph-services.dot", graph.dot(plan, services=True))


@pytest.mark.parametrize("name", SHIPPED)
def test_dot_lays_out_with_graphviz(name: str) -> None:
    """The DOT is valid for the real dot program, and every element keeps its id into the SVG."""
    assert shutil.which("dot"), "Graphviz's dot is missing: 'make setup' installs it"
    plan = _plan(name)
    svg = subprocess.run(["dot", "-Tsvg"], input=graph.dot(plan, True), capture_output=True, text=True, check=True)
    pic = picture.picture(plan, True)
    ids = set(re.findall(r'<g id="([^"]*)"', html.unescape(svg.stdout)))  # dot writes "-" as &#45;
    assert {e.id for e in pic.elements} | {link.id for link in pic.links} | {c.id for c in pic.clusters} <= ids
    assert "Warning" not in svg.stderr and "Error" not in svg.stderr, svg.stderr


def test_tunnel_model_draws_the_vxlan_mesh() -> None:
    plan = _plan("tunnel")
    pic = picture.picture(plan)
    mesh = [link for link in pic.links if link.kind == "vxlan"]
    n = len(plan.nodes)
    assert len(mesh) == n * (n - 1) // 2
    assert {link.label for link in mesh} == {f"VXLAN VNI {VXLAN_VNI}, UDP {VXLAN_PORT}"}
    assert not [link for link in pic.links if link.kind == "route" and link.head.startswith("node-")]
    text = graph.dot(plan)
    assert '"node-node-1" -> "node-node-3" [label="VXLAN VNI 1, UDP 4789"' in text
    assert all(p.ip in text for p in plan.pods) and all(c in text for n in plan.nodes for c in n.pod_cidrs)


def test_vpc_model_draws_the_route_table() -> None:
    plan = _plan("vpc")
    pic = picture.picture(plan)
    routes = {link.label: link.head for link in pic.links if link.kind == "route"}
    for n in plan.nodes:
        assert routes[f"{n.pod_cidrs[0]} via {n.ip}"] == picture.node_id(n.name)
    assert routes["0.0.0.0/0 via 192.168.0.252"] == picture.host_id("nat-gateway")
    assert not [link for link in pic.links if link.kind == "vxlan"]


def test_everything_around_the_cluster_is_drawn() -> None:
    plan = _plan("tunnel")
    ids = {e.id for e in picture.picture(plan).elements}
    assert {picture.host_id(h.name) for h in plan.hosts} <= ids
    assert {picture.eip_id(e) for e in ("203.0.113.101", "203.0.113.20", "203.0.113.10")} <= ids
    clusters = {c.label for c in picture.picture(plan).clusters}
    wanted = {"Internet", "peer VPC 10.10.0.0/16", "intranet subnet 192.168.1.0/24", "node subnet 192.168.0.0/24"}
    assert wanted <= clusters


def test_services_are_a_layer() -> None:
    plan = _plan("tunnel")
    assert "svc-" not in graph.dot(plan)
    pic = picture.picture(plan, services=True)
    web = plan.service("web")
    assert web
    ends = {link.head for link in pic.links if link.kind == "endpoint" and link.tail == picture.svc_id("web")}
    assert ends == {picture.pod_id(e.pod) for e in web.endpoints}
    fronts = [(link.tail, link.head, link.label) for link in pic.links if link.kind == "frontend"]
    assert ("host-elb", "svc-api-local", "VIP 192.168.0.253:8082 -> NodePort 30082") in fronts
    assert ("host-elb", "svc-api-local", "Ingress api.example.com/api") in fronts
    assert ("host-nat-gateway", "svc-api-dnat", "203.0.113.10:9000-9002 -> NodePort 30090") in fronts
    assert len({link.id for link in pic.links}) == len(pic.links)


def test_a_big_plan_collapses_pods_and_the_mesh_and_says_so() -> None:
    plan = _plan("scale", nodes="50", pods="20", model="tunnel")
    pic = picture.picture(plan, services=True)
    kinds = [e.kind for e in pic.elements]
    assert "pod" not in kinds and kinds.count("pods") == 50
    hub = [(link.tail, link.head) for link in pic.links if link.kind == "vxlan"]
    assert hub == [(picture.node_id(n.name), picture.MESH) for n in plan.nodes]
    notes = " ".join(pic.notes)
    assert "1000 pods drawn as one counted box per node" in notes and "1225 tunnels" in notes
    assert "20 pods (collapsed)" in graph.dot(plan)
    assert len(graph.dot(plan)) < 60_000  # a few lines per node, not per pod or tunnel


def test_a_small_plan_is_not_collapsed() -> None:
    plan = _plan("scale", nodes="4", pods="3")
    assert not picture.collapsed(plan)
    assert picture.collapsed(_plan("scale", nodes="2", pods=str(picture.MAX_PODS_PER_NODE + 1)))


def test_mermaid_is_a_well_formed_flowchart() -> None:
    text = graph.mermaid(_plan("tunnel"), services=True)
    lines = text.splitlines()
    assert lines[0] == "---" and lines[1].startswith('title: "tunnel: tunnel model') and lines[3] == "flowchart LR"
    declared = set(re.findall(r"^\s*([A-Za-z0-9_]+)(?:\{\{|\[|\(|>)", text, re.M))
    assert lines.count('  subgraph cluster_vpc["VPC 192.168.0.0/16"]') == 1
    opened = sum(1 for x in lines if x.strip().startswith("subgraph "))
    assert opened == sum(1 for x in lines if x.strip() == "end")
    for tail, head in re.findall(r"^\s+([A-Za-z0-9_]+) [-=.>]+(?:\|\"[^\"]*\"\|)? ([A-Za-z0-9_]+)$", text, re.M):
        assert tail in declared and head in declared, (tail, head)
    assert 'node_node_1 -.-|"VXLAN VNI 1, UDP 4789"| node_node_2' in text
    assert '"' not in "".join(re.findall(r'"([^"]*)"', text)).replace("#quot;", "")


def test_element_info_gives_addresses_interfaces_routes() -> None:
    plan = _plan("vpc")
    info = graphinfo.info(plan)
    node1 = dict(map(tuple, info["node-node-1"]["rows"]))
    assert node1["eth0 (underlay)"].startswith("192.168.0.2/24") and node1["pod blocks"] == "172.16.0.0/25"
    assert node1["VPC router port"] == "node-1 on subnet0"
    assert "kube-proxy: web" in node1 and "NodePort 192.168.0.2:30080" in node1["kube-proxy: web-np"]
    pod = dict(map(tuple, info["pod-pod-1-1"]["rows"]))
    assert pod["route"].startswith("default via 169.254.1.1 dev eth0") and "veth-p1" in pod["node side"]
    router = [v for k, v in info["host-vpc-router"]["rows"] if k == "route"]
    assert "172.16.0.128/25 via 192.168.0.3 (node-2 pod block)" in router
    tunnel = graphinfo.info(_plan("tunnel"))
    vx = dict(map(tuple, tunnel["vxlan-node-1--node-2"]["rows"]))
    assert vx["VNI"] == "1" and vx["UDP port"] == "4789"
    assert vx["outer addresses"].startswith("192.168.0.2 <-> 192.168.0.3")
    ids = {e.id for e in picture.picture(plan, True).elements}
    assert ids <= set(info) | {"bridge-subnet0"}


def test_cli_formats(tmp_path: Path) -> None:
    dot_out = _cli("topologies/tunnel.yaml")
    assert dot_out.returncode == 0 and dot_out.stdout.startswith("digraph cce_lab {")
    mmd = _cli("topologies/tunnel.yaml", "--format", "mermaid")
    assert mmd.returncode == 0 and "flowchart LR" in mmd.stdout
    for suffix, magic in ((".svg", b"<?xml"), (".png", b"\x89PNG"), (".html", b"<!DOCTYPE html>")):
        out = tmp_path / f"g{suffix}"
        res = _cli("topologies/vpc.yaml", "--services", "-o", str(out))
        assert res.returncode == 0, res.stderr
        assert out.read_bytes().startswith(magic)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "--format 'pdf': use one of svg, png, dot, mermaid, html"),
        (["-o", "/nonexistent-dir/g.svg"], "-o /nonexistent-dir/g.svg: the folder /nonexistent-dir does not exist"),
        (["-o", "/tmp"], "-o /tmp: is a directory, give a file name"),
        (["--check", "/nonexistent.json"], "--check: check results are drawn on the html page only"),
        (["--format", "html", "--check", "/nonexistent.json"], "--check /nonexistent.json: cannot be read"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    res = _cli("topologies/tunnel.yaml", *args)
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and message in res.stderr and "Traceback" not in res.stderr


def test_unwritable_output_and_bad_check_file(tmp_path: Path) -> None:
    bad = tmp_path / "check.json"
    bad.write_text("{not json")
    res = _cli("topologies/tunnel.yaml", "--format", "html", "--check", str(bad))
    assert res.returncode == 2 and "not JSON" in res.stderr and res.stderr.count("\n") == 1
    other = tmp_path / "other.json"
    other.write_text('{"schema_version": 1, "name": "elsewhere", "model": "vpc", "datapath": "routed", "results": []}')
    res = _cli("topologies/tunnel.yaml", "--format", "html", "--check", str(other))
    assert res.returncode == 2 and "results of lab 'elsewhere', not 'tunnel'" in res.stderr
    if sys.platform.startswith("linux") and Path("/proc/self").exists() and not _root():
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        res = _cli("topologies/tunnel.yaml", "-o", str(ro / "g.svg"))
        assert res.returncode == 2 and "cannot be written" in res.stderr


def _root() -> bool:
    import os

    return os.geteuid() == 0


def test_png_without_dot_is_a_clear_error(tmp_path: Path) -> None:
    """A PATH without Graphviz: svg/png say what is missing; dot and mermaid still work."""
    import os

    env = {**os.environ, "PATH": str(tmp_path)}
    res = _cli("topologies/tunnel.yaml", "-o", str(tmp_path / "g.png"), env=env)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "--format png: needs Graphviz's dot program, which is not installed" in res.stderr
    assert _cli("topologies/tunnel.yaml", "--format", "mermaid", env=env).returncode == 0


def test_readme_shows_the_shipped_tunnel_topology_as_mermaid_renders_it() -> None:
    """README's picture is the real output (the golden file), not a drawing that drifts from it."""
    root = Path(__file__).resolve().parents[2]
    mermaid = (root / "tests/golden/render/tunnel/graph.mmd").read_text().rstrip("\n")
    assert f"```mermaid\n{mermaid}\n```" in (root / "README.md").read_text()
