"""Services, ELB, NAT gateway, EIPs, Ingress, peer VPC and intranet: every access scenario, per model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import cli

ROOT = Path(__file__).resolve().parents[2]
CASES = [
    pytest.param("tunnel.yaml", "ittun", "ovs-userspace", id="tunnel-ovs-userspace"),
    pytest.param("tunnel.yaml", "itvx", "linux-vxlan", id="tunnel-linux-vxlan"),
    pytest.param("vpc.yaml", "itvpc", None, id="vpc"),
]


def _shipped(topology, file: str, name: str, datapath: str | None) -> str:
    spec = yaml.safe_load((ROOT / "topologies" / file).read_text())
    spec["name"] = name
    if datapath:
        spec["datapath"] = datapath
    return topology(**spec)


@pytest.mark.parametrize(("file", "name", "datapath"), CASES)
def test_every_access_scenario(topology, file, name, datapath):
    path = _shipped(topology, file, name, datapath)
    cli("up", path, check=True)
    try:
        st = json.loads(cli("status", name, "--json", check=True).stdout)
        model = st["model"]
        roles = {h["role"] for h in st["hosts"]}
        assert roles == {
            "vpc-router",
            "ecs",
            "elb",
            "nat-gateway",
            "internet-router",
            "internet-client",
            "internet-server",
            "peer-host",
            "intranet-server",
        }
        services = {s["name"]: s for s in st["services"]}
        assert services["web"]["cluster_ip"].startswith("10.247.")
        assert services["web-np"]["node_port"] == 30080
        assert services["web-elb"]["eip"] and services["web-elb"]["vip"]
        assert len(services["api-dnat"]["dnat"]) == 3 and services["idle"]["endpoints"] == []
        assert {i["host"] for i in st["ingresses"]} == {"web.example.com", "api.example.com"}
        # OVS daemons (userspace datapath) + netexec, nginx and the ELB's health checker
        assert st["processes"] == (9 if datapath == "ovs-userspace" else 3)

        res = cli("check", name, "--json", timeout=180)
        rows = {r["scenario"]: r for r in json.loads(res.stdout)["results"]}
        failed = [r for r in rows.values() if not r["ok"]]
        assert res.returncode == 0 and not failed, failed

        def row(prefix: str) -> dict:
            return next(r for s, r in rows.items() if s.startswith(prefix))

        client = next(h["ip"] for h in st["hosts"] if h["role"] == "internet-client")
        nat_eip = next(h["eip"] for h in st["hosts"] if h["role"] == "nat-gateway")
        node_ips = {n["ip"] for n in st["nodes"]}
        assert row("node -> ClusterIP Service web")["answered_by"].startswith("web-")
        assert row("pod on every node -> ClusterIP Service web")["detail"] == "3 nodes: every request answered by web"
        assert row("Service idle without endpoints")["actual"] == "refused, no hang"
        assert row("ClientIP affinity")["actual"] == "sticky and spread"
        assert row("pod -> pod, other node (TCP)")["source"] == st["pods"][0]["ip"]  # IP-per-pod: no NAT
        assert row("Internet -> DNAT")["detail"].endswith("new connections per node: node-1: 3")
        assert row("source IP seen by the pod, externalTrafficPolicy Local")["source"] == client
        assert row("source IP seen by the pod, externalTrafficPolicy Cluster")["source"] in node_ips | {"169.254.1.1"}
        assert row("pod on node-2 -> Internet (NAT gateway SNAT)")["source"] == nat_eip
        assert row("pod on node-1 -> Internet (its node's EIP)")["source"] == st["eips"][0]["eip"]
        assert row("Internet -> Ingress http://api.example.com/api")["answered_by"].startswith("api-")
        assert row("Internet -> Ingress, unknown host")["actual"] == "404"
        intranet = row("pod -> intranet server")
        assert (intranet["source"] in node_ips) == (model == "tunnel")
        assert row("security group without the container CIDR")["actual"] == (
            "blocked" if model == "vpc" else "reachable"
        )
        assert row("peer VPC -> pod IP")["actual"] == ("reachable" if model == "vpc" else "blocked")
        assert row("ECS -> pod IP (TCP)")["actual"] == ("reachable" if model == "vpc" else "blocked")

        # kube-proxy's layout, as a trainee reads it on the node
        saved = cli("exec", f"{name}/node-1", "--", "iptables-save", "-t", "nat", check=True).stdout
        services_chain = [ln for ln in saved.splitlines() if ln.startswith("-A KUBE-SERVICES")]
        assert "--dst-type LOCAL -j KUBE-NODEPORTS" in services_chain[-1]
        assert "--probability 0.33333333" in saved and "KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000" in saved

        explained = cli("explain", "web", "--lab", name, check=True).stdout
        assert "KUBE-SVC-" in explained and "DNAT --to-destination" in explained
    finally:
        cli("down", name)
