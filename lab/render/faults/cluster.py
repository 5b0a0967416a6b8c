"""Faults inside the cluster: pods, endpoints and kube-proxy's rules on a node. Pure."""

from __future__ import annotations

from pathlib import Path

from lab.plan.model import Plan, ServicePlan
from lab.render import kubeproxy, nodenet
from lab.render.faults.fault import (
    SERVICE_ROWS,
    Fault,
    forget_connections,
    ipt,
    link_down,
    middle,
    plain_pods,
    service,
)


def dead_endpoint(plan: Plan, rundir: Path) -> Fault:
    pod = next(p for p in plan.pods if p.name == service(plan, "web").endpoints[1].pod)
    return Fault(
        "dead-endpoint",
        f"{pod.name}, an endpoint of web, loses its link (eth0 down): a third of web's requests go nowhere",
        *link_down(pod),
        (f"{pod.node}: the node and its", "load spreading over web"),
        (*SERVICE_ROWS, "peer VPC -> pod IP"),
    )


def _jump_first(plan: Plan, name: str, probability: str | None) -> tuple[ServicePlan, list[str]]:
    svc = service(plan, name)
    first = sorted(svc.endpoints, key=lambda e: e.pod)[0]
    stat = ["-m", "statistic", "--mode", "random", "--probability", probability] if probability else []
    return svc, [kubeproxy.svc_chain(svc), *stat, "-j", kubeproxy.sep_chain(svc, first)]


def skewed_spreading(plan: Plan, rundir: Path) -> Fault:
    client = plan.first_plain_pod()
    assert client
    node = plan.node(client.node)
    svc, rule = _jump_first(plan, "web", "0.6")
    return Fault(
        "skewed-spreading",
        f"kube-proxy's {kubeproxy.svc_chain(svc)} on {node.name} sends 60 % + a share to one endpoint",
        [ipt(plan, node.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [ipt(plan, node.netns, "-t", "nat", "-D", *rule)],
        ("load spreading over web",),
    )


def fake_affinity(plan: Plan, rundir: Path) -> Fault:
    svc, rule = _jump_first(plan, "web-sticky", None)
    # the `recent` lists remember whom the fake rule sent where: forget them, or every client stays put
    forget = [
        (n.netns, ["sh", "-c", f"echo / > /proc/net/xt_recent/{kubeproxy.sep_chain(svc, e)}"], None)
        for n in plan.nodes
        for e in svc.endpoints
    ]
    return Fault(
        "fake-affinity",
        f"every node sends {svc.name} to one endpoint, whoever asks: it looks sticky, but it is not affinity",
        [ipt(plan, n.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:]) for n in plan.nodes],
        [*(ipt(plan, n.netns, "-t", "nat", "-D", *rule) for n in plan.nodes), *forget],
        ("ClientIP affinity of web-sticky",),
    )


def nodeport_dead(plan: Plan, rundir: Path) -> Fault:
    node = middle(plan)
    svc = service(plan, "web-np")
    rule = ["KUBE-NODEPORTS", "-p", "tcp", "-m", "tcp", "--dport", str(svc.node_port), "-j", "RETURN"]
    ingresses = [f"{i.host}{i.path}" for i in plan.ingresses if i.service == svc.name]
    return Fault(
        "nodeport-dead",
        f"NodePort {svc.node_port} ({svc.name}) stops working on {node.name} only",
        [ipt(plan, node.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [ipt(plan, node.netns, "-t", "nat", "-D", *rule)],
        (f"NodePort {svc.node_port} ({svc.name}) on every node", *(f"Ingress upstreams of {i}" for i in ingresses)),
        (  # nginx may wait out a connect to the dead node: any Ingress row of the Service may time out
            *(f"Internet -> Ingress http://{i}" for i in ingresses),
            *(f"Ingress https://{i}" for i in ingresses),
        ),
    )


def pod_nat(plan: Plan, rundir: Path) -> Fault:
    node = plan.nodes[0]
    rule = ["POSTROUTING", "-s", plan.container_cidr, "-d", plan.container_cidr, "-j", "MASQUERADE"]
    return Fault(
        "pod-nat",
        f"{node.name} masquerades pod-to-pod traffic: pods no longer see each other's IPs (IP-per-pod broken)",
        [ipt(plan, node.netns, "-t", "nat", "-I", rule[0], "1", *rule[1:])],
        [ipt(plan, node.netns, "-t", "nat", "-D", *rule)],
        ("pod -> pod, same node (TCP)", "pod -> pod, other node (TCP)", *(f"{n.name}: the node" for n in plan.nodes)),
        ("source IP seen by the pod", "pod -> intranet server"),
    )


def dead_pod(plan: Plan, rundir: Path) -> Fault:
    node = middle(plan)
    pod = plain_pods(plan, node)[-1]
    return Fault(
        "dead-pod",
        f"{pod.name}, a plain pod on the middle node {node.name}, loses its link",
        *link_down(pod),
        (f"{node.name}: the node and its",),
        ("ClientIP affinity",),
    )


def kubeproxy_flushed(plan: Plan, rundir: Path) -> Fault:
    client = plan.first_plain_pod()
    assert client
    node = plan.node(client.node)
    svc = service(plan, "web")
    chain = kubeproxy.svc_chain(svc)
    rules = [ln for ln in nodenet.ruleset(plan, node).splitlines() if ln.startswith(f"-A {chain} ")]
    return Fault(
        "kubeproxy-flushed",
        f"kube-proxy's chain {chain} (Service web) is flushed on {node.name}",
        [ipt(plan, node.netns, "-t", "nat", "-F", chain)],
        [
            (
                node.netns,
                [plan.iptables_tool("restore"), "-w", "--noflush"],
                "\n".join(["*nat", f":{chain} - [0:0]", *rules, "COMMIT\n"]),
            )
        ],
        ("ClusterIP Service web$", "load spreading over web"),
        # the connections to the ClusterIP that no rule DNATed: their reply would come from the ClusterIP itself
        forget=[forget_connections(node.netns, "--orig-dst", svc.cluster_ip, "--reply-src", svc.cluster_ip)],
    )
