"""The cases upstream kube-proxy treats apart (iptables proxier, and the IPVS proxier's table, sets and
rules), and how a batch is re-synced.

Each case is built from a topology (so the spec and the plan take part), rendered, and
read back rule by rule. The whole text of each node is held by tests/golden/iptables-save/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import SpecError
from lab.plan import Plan, make_plan
from lab.render import iptsave, ipvs, kubeproxy, nodenet
from lab.spec import build_spec
from lab.topology import load

WEB = {"name": "web", "replicas": 3}
SOLO = {"name": "solo", "replicas": 1}


STORE = {"name": "store", "replicas": 2, "namespace": "shop"}


def _plan(*services: dict, workloads: tuple[dict, ...] = (WEB, SOLO, STORE), nodes: int = 3) -> Plan:
    data = {"name": "u", "model": "tunnel", "nodes": nodes, "pods_per_node": 1, "workloads": list(workloads)}
    return make_plan(build_spec({**data, "services": list(services)}), ovs_kernel_available=False)


def _rules(plan: Plan, node: int = 0) -> list[str]:
    n = plan.nodes[node]
    return kubeproxy.rules(plan.services, n.name, plan.container_cidr, n.ip).splitlines()


def test_endpoints_are_ordered_by_their_ip_port_text() -> None:
    plan = _plan({"name": "web", "selector": {"app": "web"}, "port": 80}, nodes=3)
    texts = [f"{e.ip}:{e.port}" for e in plan.services[0].endpoints]
    assert texts == sorted(texts)
    assert [e.ip for e in plan.services[0].endpoints] != sorted(
        (e.ip for e in plan.services[0].endpoints), key=lambda ip: tuple(map(int, ip.split(".")))
    ), "this topology must have an endpoint order where text and number differ (172.16.0.18 < 172.16.0.3)"
    jumps = [r for r in _rules(plan) if r.startswith(f"-A {kubeproxy.svc_chain(plan.services[0])} -m comment")]
    assert [r.split("-> ")[1].split('"')[0] for r in jumps] == texts


def test_named_ports_in_a_namespace_name_the_chains_and_comments() -> None:
    plan = _plan(
        {
            "name": "shop",
            "namespace": "shop",
            "selector": {"app": "store"},
            "ports": [{"name": "http", "port": 80}, {"name": "metrics", "port": 9100, "targetPort": 9100}],
        }
    )
    http, metrics = plan.services
    assert (http.port_id, metrics.port_id) == ("shop/shop:http", "shop/shop:metrics")
    assert http.cluster_ip == metrics.cluster_ip and (http.target_port, metrics.target_port) == (8080, 9100)
    assert kubeproxy.svc_chain(http) == "KUBE-SVC-" + kubeproxy.chain_suffix("shop/shop:http", "tcp")
    assert kubeproxy.svc_chain(http) != kubeproxy.svc_chain(metrics)
    text = "\n".join(_rules(plan))
    assert '--comment "shop/shop:metrics cluster IP" -m tcp --dport 9100 ' in text


def test_affinity_timeout_comes_from_session_affinity_config() -> None:
    cfg = {"clientIP": {"timeoutSeconds": 600}}
    plan = _plan({"name": "s", "selector": {"app": "web"}, "port": 80, "sessionAffinity": "ClientIP",
                  "sessionAffinityConfig": cfg})  # fmt: skip
    checks = [r for r in _rules(plan) if "--rcheck" in r]
    assert len(checks) == 3 and all("--rcheck --seconds 600 --reap " in r for r in checks)


@pytest.mark.parametrize(("node", "local"), [(0, True), (1, False)])
def test_internal_traffic_policy_local(node: int, local: bool) -> None:
    plan = _plan({"name": "near", "selector": {"app": "solo"}, "port": 80, "internalTrafficPolicy": "Local"})
    svc = plan.services[0]
    assert svc.endpoints[0].node == "node-1"
    rules = _rules(plan, node)
    to_ip = [r for r in rules if f"-d {svc.cluster_ip}/32" in r and r.startswith("-A KUBE-SERVICES")]
    (rule,) = to_ip
    if local:
        assert rule.endswith(f"-j {kubeproxy.svl_chain(svc)}")
    else:
        assert '"default/near has no local endpoints"' in rule and rule.endswith("-j DROP")
    assert not any(kubeproxy.svc_chain(svc) in r for r in rules), "a Local-only ClusterIP needs no KUBE-SVC chain"


def test_a_load_balancer_without_endpoints_rejects_its_lb_ip_too() -> None:
    plan = _plan(
        {"name": "lb", "type": "LoadBalancer", "selector": {"app": "idle"}, "port": 8080},
        workloads=(WEB, {"name": "idle", "replicas": 0}),
    )
    svc = plan.services[0]
    ext = [r for r in _rules(plan) if r.startswith("-A KUBE-EXTERNAL-SERVICES")]
    assert any(f"-d {svc.vip}/32 " in r and "has no endpoints" in r and "-j REJECT" in r for r in ext)
    assert any(f"--dport {svc.node_port} " in r and "-j REJECT" in r for r in ext)


def test_local_load_balancer_drops_its_lb_ip_on_a_node_without_a_local_endpoint() -> None:
    svc = {"name": "lb", "type": "LoadBalancer", "selector": {"app": "solo"}, "port": 8081}
    plan = _plan({**svc, "externalTrafficPolicy": "Local"})
    vip = plan.services[0].vip
    drops = [r for r in _rules(plan, 1) if r.startswith("-A KUBE-EXTERNAL-SERVICES") and r.endswith("-j DROP")]
    assert any(f"-d {vip}/32 " in r and "has no local endpoints" in r for r in drops)
    assert not any(r.startswith("-A KUBE-EXTERNAL-SERVICES") for r in _rules(plan, 0))


def test_source_ranges_make_a_firewall_chain() -> None:
    ranges = ["198.51.100.0/24", "10.99.0.0/16"]
    plan = _plan({"name": "lb", "type": "LoadBalancer", "selector": {"app": "web"}, "port": 8082,
                  "loadBalancerSourceRanges": ranges})  # fmt: skip
    svc = plan.services[0]
    fw = kubeproxy.fw_chain(svc)
    rules = _rules(plan)
    assert [r for r in rules if r.startswith(f"-A {fw} ")] == [
        *(f'-A {fw} -s {c} -m comment --comment "default/lb loadbalancer IP" -j {kubeproxy.ext_chain(svc)}'
          for c in ranges),
        f'-A {fw} -m comment --comment "other traffic to default/lb will be dropped by KUBE-PROXY-FIREWALL"',
    ]  # fmt: skip
    (drop,) = [r for r in rules if r.startswith("-A KUBE-PROXY-FIREWALL")]
    assert f"-d {svc.vip}/32 " in drop and f"not accepted by {fw}" in drop and drop.endswith("-j DROP")
    # a range holding the node's own address also lets the node's requests looped back from the VIP in
    plan = _plan({"name": "lb", "type": "LoadBalancer", "selector": {"app": "web"}, "port": 8082,
                  "loadBalancerSourceRanges": ["192.168.0.0/24"]})  # fmt: skip
    assert any(r.startswith(f"-A {fw} -s {svc.vip}/32 ") for r in _rules(plan))


@pytest.mark.parametrize(
    ("service", "field"),
    [
        ({"ports": [{"port": 80}, {"port": 81}]}, "services[0].ports[0].name"),
        ({"ports": [{"name": "a", "port": 80}], "port": 80}, "services[0].port"),
        ({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]}, "services[0].ports[1].name"),
        ({"port": 80, "loadBalancerSourceRanges": ["10.0.0.0/8"]}, "services[0].loadBalancerSourceRanges"),
        (
            {"port": 80, "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}},
            "services[0].sessionAffinityConfig",
        ),
        ({"port": 80, "namespace": "Shop"}, "services[0].namespace"),
        ({"ports": [{"name": "a", "port": 80, "bogus": 1}]}, "services[0].ports[0].bogus"),
    ],
)
def test_bad_service_fields_are_named(service: dict, field: str) -> None:
    with pytest.raises(SpecError) as err:
        _plan({"name": "s", "selector": {"app": "web"}, **service})
    assert err.value.field == field


def test_save_form_stores_the_probability_as_the_kernel_does() -> None:
    text = "*nat\n:X - [0:0]\n-A X -m statistic --mode random --probability 0.3333333333 -j Y\nCOMMIT\n"
    assert "--probability 0.33333333349 " in iptsave.save_form(text)


def test_resync_leaves_out_the_jumps_a_node_holds_and_deletes_chains_gone() -> None:
    plan = _plan({"name": "web", "selector": {"app": "web"}, "port": 80})
    node = plan.nodes[0]
    batch = nodenet.ruleset(plan, node)
    again = iptsave.resync(batch, iptsave.save_form(batch))
    assert not [line for line in again.splitlines() if line.split(" ")[:2] in (["-A", "INPUT"], ["-A", "PREROUTING"])]
    assert "-X " not in again
    svc = plan.services[0]
    old = batch.replace(":KUBE-SERVICES - [0:0]", ":KUBE-SERVICES - [0:0]\n:KUBE-SEP-AAAAAAAAAAAAAAAA - [0:0]", 1)
    stale = iptsave.resync(batch, iptsave.save_form(old))
    assert "-X KUBE-SEP-AAAAAAAAAAAAAAAA" in stale
    assert not any(f"-X {kubeproxy.svc_chain(svc)}" in line for line in stale.splitlines())


# ------------------------------------------------------------------ IPVS mode


def _ipvs_plan(**overrides: object) -> Plan:
    spec = load(Path(__file__).resolve().parents[2] / "topologies" / "tunnel.yaml")
    return make_plan(spec.model_copy(update={"kube_proxy_mode": "ipvs", **overrides}), ovs_kernel_available=False)


def test_ipvs_is_refused_on_a_host_without_it() -> None:
    spec = build_spec({"name": "u", "model": "vpc", "kube_proxy_mode": "ipvs"})
    with pytest.raises(SpecError) as err:
        make_plan(spec, ipvs_missing="Module ip_vs not found in directory /lib/modules/x")
    assert err.value.field == "kube_proxy_mode" and "ip_vs" in str(err.value)
    assert make_plan(spec, ipvs_missing="").kube_proxy_mode == "ipvs"  # a host with IPVS
    assert make_plan(spec).kube_proxy_mode == "ipvs"  # nobody looked: the plan can still be shown


def test_ipvs_virtual_servers_follow_the_services() -> None:
    plan = _ipvs_plan()
    node = plan.nodes[1]
    servers = {(v.protocol, v.key): v for v in ipvs.virtual_servers(plan, node.name)}
    for svc in plan.services:
        p = svc.protocol.lower()
        cluster = servers[(p, f"{svc.cluster_ip}:{svc.port}")]
        assert sorted(cluster.reals) == sorted((e.ip, e.port) for e in svc.endpoints)
        assert cluster.persistence == (svc.affinity_seconds if svc.session_affinity == "ClientIP" else 0)
        if svc.node_port:
            nodeport = servers[(p, f"{node.ip}:{svc.node_port}")]
            local = svc.external_traffic_policy == "Local"
            assert sorted(nodeport.reals) == sorted(
                (e.ip, e.port) for e in svc.endpoints if not local or e.node == node.name
            )
    idle = next(s for s in plan.services if not s.endpoints)
    assert servers[("tcp", f"{idle.cluster_ip}:{idle.port}")].reals == ()  # IPVS refuses it: no real server
    assert set(ipvs.dummy_addresses(plan)) == {s.cluster_ip for s in plan.services} | {
        ip for s in plan.services for ip in kubeproxy.lb_ips(s)
    }


def test_ipvs_sets_and_the_iptables_layer_match() -> None:
    plan = _ipvs_plan()
    node = plan.nodes[0]
    sets = ipvs.ipset_restore(plan, node.name)
    text = nodenet.ruleset(plan, node)
    assert "KUBE-SVC-" not in text and "statistic" not in text
    used = {line.split()[1] for line in sets.splitlines() if line.startswith("add ")}
    matched = {w for line in text.splitlines() for w in line.split() if w in ipvs.SETS}
    assert matched <= set(ipvs.SETS)
    assert {"KUBE-CLUSTER-IP", "KUBE-LOOP-BACK", "KUBE-NODE-PORT-TCP", "KUBE-LOAD-BALANCER"} <= used <= matched
    for svc in plan.services:
        assert f"add KUBE-CLUSTER-IP {svc.cluster_ip},{svc.protocol.lower()}:{svc.port}" in sets
    # each set is created, flushed and refilled: a re-sync leaves exactly the plan's entries
    for name in ipvs.SETS:
        assert sets.index(f"create {name} ") < sets.index(f"flush {name}\n")


def test_ipvs_golden(golden) -> None:
    for model, path in (("tunnel", "topologies/tunnel.yaml"), ("vpc", "topologies/vpc.yaml")):
        spec = load(Path(__file__).resolve().parents[2] / path).model_copy(update={"kube_proxy_mode": "ipvs"})
        plan = make_plan(spec, ovs_kernel_available=False)
        node = plan.nodes[0]
        golden(f"render/ipvs-{model}/node-1.ipvsadm", ipvs.ipvsadm_save(ipvs.virtual_servers(plan, node.name)))
        golden(f"render/ipvs-{model}/node-1.ipset", ipvs.ipset_restore(plan, node.name))
        golden(f"render/ipvs-{model}/node-1.iptables", iptsave.save_form(nodenet.ruleset(plan, node)))
