"""Both CCE models end to end, on every datapath this machine can run."""

from __future__ import annotations

import json
from ipaddress import ip_address, ip_network

import pytest
from conftest import cli

from lab.datapaths.ovs import kernel_available
from lab.kernel import netns

DATAPATHS = [
    pytest.param("vpc", "auto", id="vpc-routed"),
    pytest.param("tunnel", "ovs-userspace", id="tunnel-ovs-userspace"),
    pytest.param("tunnel", "linux-vxlan", id="tunnel-linux-vxlan"),
    pytest.param(
        "tunnel",
        "ovs-kernel",
        id="tunnel-ovs-kernel",
        marks=pytest.mark.skipif(not kernel_available(), reason="no openvswitch kernel module on this machine"),
    ),
]


@pytest.mark.parametrize(("model", "datapath"), DATAPATHS)
def test_model_end_to_end(lab, model, datapath):
    name = f"it{model[0]}{datapath.split('-')[-1][:4]}"
    lab(name=name, model=model, datapath=datapath, nodes=3, pods_per_node=2, ecs=True)

    st = json.loads(cli("status", name, "--json", check=True).stdout)
    assert st["state"] == "up"
    assert st["model"] == model
    assert st["datapath"] == ("routed" if model == "vpc" else datapath)
    assert st["mtu"] == (1450 if model == "tunnel" else 1500)
    assert len(st["nodes"]) == 3 and len(st["pods"]) == 6
    assert {h["role"] for h in st["hosts"]} == {"vpc-router", "ecs"}
    for pod in st["pods"]:
        node = next(n for n in st["nodes"] if n["name"] == pod["node"])
        assert any(ip_address(pod["ip"]) in ip_network(c) for c in node["pod_cidrs"])
        assert netns.exists(pod["netns"])
    # the pod really has that address: read it from the kernel, through `cce-lab exec`
    first = st["pods"][0]
    shown = cli("exec", f"{name}/{first['name']}", "--", "ip", "-4", "-o", "addr", "show", "eth0", check=True)
    assert f"{first['ip']}/32" in shown.stdout
    if datapath == "ovs-userspace":
        assert all(n["underlay_if"] == "br-phy" for n in st["nodes"])
        assert st["processes"] == 7  # ovsdb-server + ovs-vswitchd per node, and netexec serving the pods

    res = cli("check", name, "--json")
    report = json.loads(res.stdout)
    results = {r["scenario"]: r for r in report["results"]}
    failed = [r for r in report["results"] if not r["ok"]]
    assert res.returncode == 0 and not failed, failed
    ecs = "blocked" if model == "tunnel" else "reachable"
    for proto in ("ICMP", "TCP"):
        assert results[f"pod -> pod, same node ({proto})"]["actual"] == "reachable"
        assert results[f"pod -> pod, other node ({proto})"]["actual"] == "reachable"
        assert results[f"node -> pod, other node ({proto})"]["actual"] == "reachable"
        assert results[f"node -> node ({proto})"]["actual"] == "reachable"
        assert results[f"ECS -> pod IP ({proto})"]["actual"] == ecs
        assert results[f"ECS -> node IP ({proto})"]["actual"] == "reachable"
    mtu = next(r for s, r in results.items() if s.startswith("pod MTU"))
    assert mtu["actual"] == str(st["mtu"])
    encap = next(r for s, r in results.items() if s.startswith("encapsulation"))
    assert encap["actual"] == ("VXLAN (UDP 4789)" if model == "tunnel" else "bare pod IPs")
    assert "4789" in encap["detail"] if model == "tunnel" else "4789" not in encap["detail"]

    down = cli("down", name, check=True)
    assert "removed 11 namespaces" in down.stderr
    assert not any(netns.exists(p["netns"]) for p in st["pods"])


def test_check_reports_a_broken_route(lab):
    """Break the VPC route of node-2 (as a trainee would): check must say so and exit 1."""
    lab(name="itbreak", model="vpc", nodes=2, pods_per_node=2, ecs=True)
    st = json.loads(cli("status", "itbreak", "--json", check=True).stdout)
    block = st["nodes"][1]["pod_cidrs"][0]
    cli("exec", "itbreak/vpc-router", "--", "ip", "route", "del", block, check=True)
    res = cli("check", "itbreak", "--json")
    assert res.returncode == 1
    results = {r["scenario"]: r for r in json.loads(res.stdout)["results"]}
    assert results["pod -> pod, other node (ICMP)"]["actual"] == "blocked"
    assert results["ECS -> pod IP (TCP)"]["actual"] == "blocked"
    assert results["pod -> pod, same node (ICMP)"]["ok"]
    cli("exec", "itbreak/vpc-router", "--", "ip", "route", "add", block, "via", st["nodes"][1]["ip"], check=True)
    assert cli("check", "itbreak").returncode == 0
