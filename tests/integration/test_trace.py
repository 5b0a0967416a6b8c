"""`cce-lab trace` on real labs: the hops a packet crossed, read from captures and the kernel, in both models.

Every assertion is on addresses from the lab's own plan, so a trace that
reports the wrong hop, VNI, NAT or drop fails.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import cli, shipped_lab

from lab.plan.cluster import VXLAN_VNI

LABS = {"tunnel": "trtun", "vpc": "trvpc"}


@pytest.fixture(scope="module", params=sorted(LABS))
def running(request, tmp_path_factory):
    from lab.observe.status import load_plan

    with shipped_lab(tmp_path_factory, LABS[request.param], request.param) as name:
        yield load_plan(name)


def _trace(plan, *args: str) -> tuple[int, dict]:
    res = cli("trace", *args, "--lab", plan.name, "--json", timeout=60)
    assert res.returncode in (0, 1), res.stderr
    return res.returncode, json.loads(res.stdout)


def _request(doc: dict) -> list[dict]:
    return [h for h in doc["hops"] if h["leg"] == "request"]


def test_pod_to_pod_across_nodes(running, tmp_path) -> None:
    plan = running
    first, last = plan.nodes[0], plan.nodes[-1]
    a, b = plan.pods_on(first.name)[0], plan.pods_on(last.name)[0]
    rc, doc = _trace(plan, a.name, b.name, "--pcap", str(tmp_path / "pcap"))
    assert rc == 0 and doc["ok"], doc["detail"]
    hops = _request(doc)
    assert (hops[0]["netns"], hops[0]["ifname"], hops[0]["direction"]) == (a.netns, "eth0", "out")
    assert (hops[-1]["netns"], hops[-1]["ifname"], hops[-1]["direction"]) == (b.netns, "eth0", "in")
    assert all(h["src"] == a.ip and h["dst"] == b.ip for h in hops)  # pod to pod: no NAT anywhere
    times = [h["t_us"] for h in doc["hops"]]
    assert times == sorted(times)
    if plan.model == "tunnel":
        wire = [h for h in hops if h["netns"] == first.netns and h["ifname"] == "eth0"]
        assert wire and wire[0]["vni"] == VXLAN_VNI
        assert (wire[0]["outer_src"], wire[0]["outer_dst"]) == (first.ip, last.ip)
        assert not any(h["netns"] == plan.router.netns and h["ifname"] == "subnet0" for h in hops)  # bridged
    else:
        assert all(h["vni"] is None for h in hops)
        route = next(r for r in plan.vpc_routes if r.via == last.ip)
        lines = [e for h in hops if h["netns"] == plan.router.netns for e in h["evidence"]]
        assert f"VPC route table: {route.dst} -> {last.ip}" in "\n".join(lines)
        assert any("MISSING" not in ln and route.dst in ln for ln in lines)
    # --pcap: one readable file per interface that saw it, and a README listing every hop
    files = sorted((tmp_path / "pcap").glob("*.pcap"))  # also flooded copies a NIC ignored: kept, not hops
    rows = [
        ln for ln in (tmp_path / "pcap" / "README.md").read_text().splitlines() if ln[:2] == "| " and ln[2].isdigit()
    ]
    assert len(rows) == len(doc["hops"])
    named = {row.rstrip(" |").rsplit(" | ", 1)[1] for row in rows}
    assert named <= {f.name for f in files}
    for f in files:
        out = subprocess.run(["tcpdump", "-nn", "-r", str(f)], capture_output=True, text=True, check=True).stdout
        assert (a.ip in out and b.ip in out) or (plan.model == "tunnel" and first.ip in out), (f.name, out)


def test_pod_to_clusterip_shows_the_dnat_to_the_endpoint(running) -> None:
    plan = running
    svc = plan.service("web")
    pod = plan.first_plain_pod()
    rc, doc = _trace(plan, pod.name, "web")
    assert rc == 0, doc["detail"]
    ep = next(e for e in svc.endpoints if e.pod == doc["answered_by"])
    node = plan.node(pod.node)
    rules = [e for h in doc["hops"] if h["netns"] == node.netns for e in h["evidence"]]
    sep = [r for r in rules if "KUBE-SEP-" in r and f"DNAT --to-destination {ep.ip}:{ep.port}" in r]
    assert sep, rules
    assert any(h["dst"] == svc.cluster_ip for h in _request(doc))
    assert any(h["netns"] == plan.pods[[p.name for p in plan.pods].index(ep.pod)].netns for h in _request(doc))
    assert any(h["dst"] == ep.ip and h["dport"] == ep.port for h in _request(doc))


def test_internet_to_elb_eip_to_nodeport_to_pod(running) -> None:
    plan = running
    svc = plan.service("web-elb")
    elb = plan.host("elb")
    rc, doc = _trace(plan, "client", f"{svc.eip}:{svc.port}")
    assert rc == 0, doc["detail"]
    hops = _request(doc)
    client = plan.host("internet-client")
    assert hops[0]["netns"] == client.netns and hops[0]["dst"] == svc.eip
    assert any(h["netns"] == plan.router.netns and h["ifname"] == "uplink" and h["dst"] == svc.eip for h in hops)
    at_elb = [h for h in hops if h["netns"] == elb.netns]
    assert [h["dst"] for h in at_elb if h["direction"] == "in"] == [elb.ip]  # the EIP DNATed to the VIP
    out = [h for h in at_elb if h["direction"] == "out"]
    backends = {n.ip for n in svc.backends(plan.nodes)}
    assert out and out[0]["dst"] in backends and out[0]["dport"] == svc.node_port
    ep = next(e for e in svc.endpoints if e.pod == doc["answered_by"])
    assert hops[-1]["dst"] == ep.ip and hops[-1]["dport"] == ep.port
    assert any("KUBE-NODEPORTS" in e for h in hops for e in h["evidence"])


def test_pod_to_internet_via_the_nat_gateway_snat(running) -> None:
    plan = running
    node = next(n for n in plan.nodes if n.name not in plan.node_eips)
    pod = plan.pods_on(node.name)[0]
    natgw, server = plan.host("nat-gateway"), plan.host("internet-server")
    rc, doc = _trace(plan, pod.name, "server", "--proto", "tcp")
    assert rc == 0, doc["detail"]
    assert doc["source_seen"].rsplit(":", 1)[0] == natgw.eip
    hops = _request(doc)
    leaving = [h for h in hops if h["netns"] == natgw.netns and h["ifname"] == "uplink"]
    assert leaving and leaving[0]["src"] == natgw.eip and leaving[0]["dst"] == server.ip
    entering = [h for h in hops if h["netns"] == natgw.netns and h["ifname"] == "eth0"]
    assert entering and entering[0]["src"] in (node.ip, pod.ip)  # masqueraded by the node (tunnel) or kept (vpc)
    assert hops[-1]["netns"] == server.netns


def test_a_broken_lab_names_the_hop_where_the_packet_died(running) -> None:
    plan = running
    if plan.model != "vpc":
        pytest.skip("missing-vpc-route is a VPC-model fault")
    last = plan.nodes[-1]
    route = next(r for r in plan.vpc_routes if r.via == last.ip)
    src, dst = plan.pods_on(plan.nodes[0].name)[0], plan.pods_on(last.name)[0]
    cli("fault", "inject", "missing-vpc-route", "--lab", plan.name, check=True)
    try:
        rc, doc = _trace(plan, src.name, dst.name)
        human = cli("trace", src.name, dst.name, "--lab", plan.name)
    finally:
        cli("fault", "undo", "missing-vpc-route", "--lab", plan.name, check=True)
    assert rc == 1 and not doc["ok"]
    drop = doc["dropped"]
    assert drop is not None
    assert drop["netns"] == plan.host("nat-gateway").netns  # the default route's target, where it had no way on
    assert f"{route.dst} -> {last.ip}" in drop["reason"] and "MISSING" in drop["reason"]
    assert not any(h["netns"] == dst.netns for h in doc["hops"])
    assert human.returncode == 1 and "dropped at nat-gateway" in human.stdout
    rc, healed = _trace(plan, src.name, dst.name)
    assert rc == 0 and healed["dropped"] is None


def test_bad_arguments_exit_2_with_one_line(running) -> None:
    plan = running
    for args in (["nope", "pod-1-1"], ["pod-1-1", "x" * 3000], ["pod-1-1", "web", "--proto", "icmp", "--port", "80"]):
        res = cli("trace", *args, "--lab", plan.name)
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and len(res.stderr) < 400
        assert "Traceback" not in res.stderr
