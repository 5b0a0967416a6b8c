"""NetworkPolicy semantics as upstream defines them, resolved by the plan, and the flows they render to."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import SpecError
from lab.plan import make_plan
from lab.plan.netpol import admits, rules_for
from lab.render import faults, netpol, ovs
from lab.spec import build_spec

BASE = {
    "name": "np",
    "model": "tunnel",
    "nodes": 2,
    "pods_per_node": 1,
    "namespaces": [{"name": "dev", "labels": {"env": "dev"}}, {"name": "ops", "labels": {"env": "ops"}}],
    "workloads": [
        {"name": "db", "replicas": 1, "labels": {"tier": "db"}},
        {"name": "api", "replicas": 1, "labels": {"role": "api"}},
        {"name": "tool", "replicas": 1, "namespace": "dev", "labels": {"role": "api"}},
        {"name": "mon", "replicas": 1, "namespace": "ops"},
    ],
}


def _plan(*policies: dict, **changes):
    return make_plan(build_spec(BASE | changes | {"network_policies": list(policies)}), ovs_kernel_available=False)


def _db(ingress: list | None = None, **extra) -> dict:
    pol = {"name": "db", "podSelector": {"matchLabels": {"tier": "db"}}} | extra
    return pol | ({"ingress": ingress} if ingress is not None else {})


def test_unselected_pods_take_everything() -> None:
    plan = _plan(_db([]))
    assert rules_for(plan, "api-1") is None
    assert admits(plan, "db-1", "api-1") and admits(plan, "pod-1-1", "mon-1")


def test_a_policy_without_rules_denies_all_ingress() -> None:
    plan = _plan(_db([]))
    assert rules_for(plan, "db-1") == []
    assert not any(admits(plan, p.name, "db-1") for p in plan.pods)


def test_pod_selector_is_the_policy_namespace_only() -> None:
    plan = _plan(_db([{"from": [{"podSelector": {"matchLabels": {"role": "api"}}}]}]))
    assert admits(plan, "api-1", "db-1")
    assert not admits(plan, "tool-1", "db-1")  # role=api too, but in dev


def test_namespace_selector_and_both_in_one_entry() -> None:
    ns_only = _plan(_db([{"from": [{"namespaceSelector": {"matchLabels": {"env": "dev"}}}]}]))
    assert admits(ns_only, "tool-1", "db-1") and not admits(ns_only, "mon-1", "db-1")
    assert not admits(ns_only, "api-1", "db-1")
    both = _plan(_db([{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "api"}}}]}]))
    assert admits(both, "api-1", "db-1") and admits(both, "tool-1", "db-1") and not admits(both, "mon-1", "db-1")
    by_name = _plan(_db([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ops"}}}]}]))
    assert admits(by_name, "mon-1", "db-1") and not admits(by_name, "tool-1", "db-1")


def test_from_omitted_admits_every_source_and_ports_restrict() -> None:
    plan = _plan(_db([{"ports": [{"protocol": "TCP", "port": 8080}]}]))
    assert admits(plan, "mon-1", "db-1", "TCP", 8080)
    assert not admits(plan, "mon-1", "db-1", "TCP", 9090)
    assert not admits(plan, "mon-1", "db-1", "UDP", 8080)
    every_udp = _plan(_db([{"ports": [{"protocol": "UDP"}]}]))
    assert admits(every_udp, "mon-1", "db-1", "UDP", 53) and not admits(every_udp, "mon-1", "db-1")


def test_policies_selecting_a_pod_add_up() -> None:
    api = {"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}
    dev = {"from": [{"namespaceSelector": {"matchLabels": {"env": "dev"}}}]}
    plan = _plan(_db([api]), _db([dev], name="db2"), {"name": "all", "podSelector": {}, "ingress": []})
    assert admits(plan, "api-1", "db-1") and admits(plan, "tool-1", "db-1") and not admits(plan, "mon-1", "db-1")
    # the empty podSelector selects every pod of default (the plain pods too), none of dev
    assert rules_for(plan, "pod-1-1") == [] and rules_for(plan, "tool-1") is None


def test_flows_only_where_a_pod_is_selected() -> None:
    plain = make_plan(build_spec(BASE), ovs_kernel_available=False)
    plan = _plan(_db([{"from": [{"podSelector": {"matchLabels": {"role": "api"}}}]}]))
    for node in plan.nodes:
        assert ovs.flows(plain, node) == [f for f in ovs.flows(plan, node) if f not in netpol.flows(plan, node)]
    db = next(p for p in plan.pods if p.name == "db-1")
    api = next(p for p in plan.pods if p.name == "api-1")
    flows = netpol.flows(plan, plan.node(db.node))
    assert netpol.redirect_flow(db) in flows and netpol.drop_flow(db) in flows
    assert [f for f in flows if f"nw_src={api.ip},nw_dst={db.ip}," in f]
    assert not netpol.flows(plan, plan.node(api.node)) or api.node == db.node


def test_faults_offered_only_with_policies() -> None:
    plain = make_plan(build_spec(BASE), ovs_kernel_available=False)
    plan = _plan(_db([{"from": [{"podSelector": {"matchLabels": {"role": "api"}}}]}]))
    assert "netpol-allow-all" not in faults.applicable(plain)
    assert {"netpol-allow-all", "netpol-deny-all"} <= set(faults.applicable(plan))
    with pytest.raises(ValueError, match="no NetworkPolicy"):
        faults.fault(plain, "netpol-deny-all", Path("/x"))


def test_selector_matching_nothing_admits_nothing() -> None:
    plan = _plan(_db([{"from": [{"podSelector": {"matchLabels": {"role": "nobody"}}}]}]))
    assert rules_for(plan, "db-1")[0].sources == []
    assert not admits(plan, "api-1", "db-1")


def test_vpc_refuses_and_tunnel_linux_vxlan_refuses() -> None:
    with pytest.raises(SpecError, match="DataPlane V2"):
        _plan(_db([]), model="vpc")
    with pytest.raises(SpecError, match="linux-vxlan has no OVS"):
        _plan(_db([]), datapath="linux-vxlan")


def test_check_rows_of_the_shipped_netpol_topology() -> None:
    """Per policy and selected pod: an admitted source, then one no rule admits on the pod's node and one across."""
    from lab.observe import netpol as rows_of
    from lab.topology import load

    plan = make_plan(load(Path(__file__).resolve().parents[2] / "topologies/netpol.yaml"), ovs_kernel_available=False)
    rows = [(s, src.name, pod.name) for pol in plan.network_policies for s, src, pod in rows_of.rows(plan, pol)]
    assert [s for s, _, _ in rows] == [
        "NetworkPolicy default/db-from-api: allowed api-1 -> db-1",
        "NetworkPolicy default/db-from-api: not allowed pod-1-1 -> db-1 (same node)",
        "NetworkPolicy default/db-from-api: not allowed pod-2-1 -> db-1 (other node)",
        "NetworkPolicy default/db-from-api: allowed api-1 -> db-2",
        "NetworkPolicy default/db-from-api: not allowed pod-2-1 -> db-2 (same node)",
        "NetworkPolicy default/db-from-api: not allowed pod-1-1 -> db-2 (other node)",
        "NetworkPolicy default/api-from-dev: allowed tool-1 -> api-1",
        "NetworkPolicy default/api-from-dev: not allowed pod-1-1 -> api-1 (same node)",
        "NetworkPolicy default/api-from-dev: not allowed pod-2-1 -> api-1 (other node)",
    ]
    assert all(admits(plan, src, pod) == (": allowed " in s) for s, src, pod in rows)
