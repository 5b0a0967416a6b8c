"""Health checks without root: the plan's health-check node ports, the state and checker documents, the ELB's
chains per healthy set, the /healthz answers, the checker's rise/fall counting, and `move` planned."""

from __future__ import annotations

import json
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from lab.elbcheck.checker import Backend, settle
from lab.errors import SpecError, UsageError
from lab.netexec import healthz
from lab.plan import Plan, make_plan
from lab.plan.moves import move, scale
from lab.render import edge, health, kubeproxy
from lab.spec import build_spec


def _plan(model: str = "tunnel", **svc: object) -> Plan:
    local = {"name": "solo-local", "type": "LoadBalancer", "selector": {"app": "solo"}, "port": 8090}
    data = {
        "name": "t",
        "model": model,
        "nodes": 3,
        "pods_per_node": 1,
        "internet": True,
        "workloads": [{"name": "solo", "replicas": 1}, {"name": "web", "replicas": 3}],
        "services": [
            {**local, "externalTrafficPolicy": "Local", **svc},
            {"name": "web-elb", "type": "LoadBalancer", "selector": {"app": "web"}, "port": 8091},
        ],
    }
    return make_plan(build_spec(data))


def test_a_local_load_balancer_gets_a_health_check_node_port_after_its_node_ports() -> None:
    plan = _plan()
    local, cluster = plan.services
    assert (local.node_port, local.health_check_node_port) == (30000, 30001)
    assert (cluster.node_port, cluster.health_check_node_port) == (30002, None)
    assert _plan(healthCheckNodePort=31000).services[0].health_check_node_port == 31000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"healthCheckNodePort": 80}, "outside the NodePort range"),
        ({"healthCheckNodePort": 30010, "nodePort": 30010}, "already used by solo-local"),
        ({"externalTrafficPolicy": "Cluster", "healthCheckNodePort": 30010}, "externalTrafficPolicy: Local"),
    ],
)
def test_bad_health_check_node_ports_are_refused(extra: dict, message: str) -> None:
    with pytest.raises(SpecError) as info:
        _plan(**extra)
    assert info.value.field == "services[0].healthCheckNodePort" and message in info.value.rule


def test_kube_proxy_accepts_the_health_check_port_on_every_node() -> None:
    plan = _plan()
    rule = (
        '-A KUBE-NODEPORTS -p tcp -m comment --comment "default/solo-local health check node port" -m tcp '
        "--dport 30001 -j ACCEPT"
    )
    for node in plan.nodes:  # with or without a local endpoint (upstream)
        text = kubeproxy.rules(plan.services, node.name, plan.container_cidr, node.ip)
        filter_table = text.split("*nat")[0]
        assert filter_table.count(rule) == 1


def test_state_targets_and_checker_documents() -> None:
    plan = _plan()
    assert health.state(plan) == {"services": {"default/solo-local": {"node-1": 1, "node-2": 0, "node-3": 0}}}
    targets = health.targets(plan, "/run/x/health.json")
    assert [(t["netns"], t["ip"], t["port"]) for t in targets] == [(n.netns, n.ip, 30001) for n in plan.nodes]
    assert targets[0]["health"] == {
        "namespace": "default",
        "service": "solo-local",
        "node": "node-1",
        "state": "/run/x/health.json",
    }
    config = health.checker(plan, "/run/x")
    assert [s["label"] for s in config["services"]] == ["solo-local"]  # Cluster listeners keep every node
    assert (config["interval"], config["rise"], config["fall"]) == (1.0, 2, 2)


def test_the_elb_spreads_over_the_healthy_nodes_and_refuses_without_any() -> None:
    plan = _plan()
    svc = plan.services[0]
    chain, refuse = edge.elb_chain(svc), edge.elb_refuse_chain(svc)
    two = edge.elb_backends(plan, svc, ["192.168.0.2", "192.168.0.3"])
    assert two.splitlines() == [
        "*nat",
        f":{chain} - [0:0]",
        f"-A {chain} -p tcp -m statistic --mode random --probability 0.5000000000 -j DNAT --to-destination "
        "192.168.0.2:30000",
        f"-A {chain} -p tcp -j DNAT --to-destination 192.168.0.3:30000",
        "COMMIT",
        "*filter",
        f":{refuse} - [0:0]",
        "COMMIT",
    ]
    none = edge.elb_backends(plan, svc, [])
    assert f"-A {chain} " not in none
    assert f"-A {refuse} -d 192.168.0.254/32 -p tcp -m tcp --dport 8090 " in none and "-j REJECT" in none
    full = edge.elb(plan)  # at up: the plan's backends, both listeners' chains declared
    assert full.count("-j DNAT --to-destination 192.168.0.2:30000") == 1
    assert "-A INPUT -d 192.168.0.254/32 -p tcp -m tcp --dport 8090 " in full


def _check(tmp_path: Path, counts: dict | None) -> healthz.HealthCheck:
    state = tmp_path / "health.json"
    if counts is not None:
        state.write_text(json.dumps({"services": {"default/solo-local": counts}}))
    return healthz.parse({"namespace": "default", "service": "solo-local", "node": "node-1", "state": str(state)}, "t")


def _answer(raw: bytes) -> tuple[str, dict]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def test_healthz_answers_as_upstream_and_follows_the_state_file(tmp_path: Path) -> None:
    check = _check(tmp_path, {"node-1": 2})
    status, body = _answer(healthz.reply(check, b"GET /healthz HTTP/1.1\r\nHost: x"))
    assert status == "HTTP/1.1 200 OK"
    assert body == {"service": {"namespace": "default", "name": "solo-local"}, "localEndpoints": 2,
                    "serviceProxyHealthy": True}  # fmt: skip
    _check(tmp_path, {"node-1": 0, "node-2": 1})  # rewritten: the next request sees it
    status, body = _answer(healthz.reply(check, b"GET /healthz HTTP/1.1"))
    assert status == "HTTP/1.1 503 Service Unavailable" and body["localEndpoints"] == 0
    gone = _check(tmp_path / "nowhere", None)
    assert healthz.reply(gone, b"GET / HTTP/1.1").startswith(b"HTTP/1.1 500 ")
    assert healthz.reply(check, b"nonsense").startswith(b"HTTP/1.1 400 ")
    with pytest.raises(ValueError, match="needs namespace"):
        healthz.parse({"namespace": "default"}, "t")


def test_a_backend_changes_state_after_rise_or_fall_results_in_a_row() -> None:
    b = Backend("node-1", "192.168.0.2", healthy=True)
    assert [settle(b, r, 2, 2) for r in ("503", "200", "503", "timeout")] == [False, False, False, True]
    assert not b.healthy
    assert [settle(b, r, 2, 2) for r in ("200", "200")] == [False, True] and b.healthy


def test_move_plans_a_new_pod_on_the_target_node_and_moves_the_endpoints() -> None:
    plan = _plan()
    after, old, pod = move(plan, "solo-1", "node-2")
    assert (old.name, old.node) == ("solo-1", "node-1")
    node2 = plan.node("node-2")
    assert (pod.name, pod.node, pod.netns, pod.workload) == ("solo-2", "node-2", "t-solo-2", "solo")
    assert pod.ip not in {p.ip for p in plan.pods} and pod.host_if not in {p.host_if for p in plan.pods_on("node-2")}
    assert any(ip_address(pod.ip) in ip_network(b) for b in node2.pod_cidrs)
    assert [(e.pod, e.node) for e in after.services[0].endpoints] == [("solo-2", "node-2")]
    assert health.state(after)["services"]["default/solo-local"] == {"node-1": 0, "node-2": 1, "node-3": 0}
    assert "solo-1" not in {p.name for p in after.pods}
    vpc_pod = move(_plan("vpc"), "solo-1", "node-3")[2]
    assert ip_address(vpc_pod.ip) in ip_network(_plan("vpc").node("node-3").pod_cidrs[0])


@pytest.mark.parametrize(
    ("pod", "node", "message"),
    [
        ("solo-9", "node-2", "no pod named 'solo-9'"),
        ("pod-1-1", "node-2", "belongs to no workload"),
        ("solo-1", "node-7", "no node named 'node-7'"),
        ("solo-1", "node-1", "already runs on node-1"),
    ],
)
def test_move_refuses_bad_input(pod: str, node: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        move(_plan(), pod, node)
    assert info.value.exit_code == 2


def test_scale_places_new_pods_on_the_emptiest_nodes_and_removes_the_newest() -> None:
    plan = _plan()
    up, removed, added = scale(plan, "solo", 3)
    assert removed == [] and [(p.name, p.node) for p in added] == [("solo-2", "node-2"), ("solo-3", "node-3")]
    assert sorted(e.pod for e in up.services[0].endpoints) == ["solo-1", "solo-2", "solo-3"]
    down, removed, added = scale(up, "solo", 1)
    assert [p.name for p in removed] == ["solo-3", "solo-2"] and added == []
    zero = scale(down, "solo", 0)[0]
    assert zero.services[0].endpoints == [] and health.state(zero)["services"]["default/solo-local"] == {
        "node-1": 0,
        "node-2": 0,
        "node-3": 0,
    }
    again = scale(zero, "solo", 1)[0]  # from zero: the Service's selector is kept in the plan
    assert [e.pod for e in again.services[0].endpoints] == ["solo-1"]
    for workload, n, message in (("nothing", 1, "no workload named"), ("solo", -1, "outside 0-100")):
        with pytest.raises(UsageError, match=message):
            scale(plan, workload, n)
