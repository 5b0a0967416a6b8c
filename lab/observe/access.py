"""The access scenarios of CCE's guide from outside the cluster: NodePorts, ELB, NAT gateway, EIPs, Ingress,
egress, the peer VPC and the intranet.

Every probe is a real HTTP exchange with the netexec server in a pod (or the
Internet / intranet server), so each row can say which pod answered and
which source address arrived (DESIGN.md "Access scenarios"). Which node an
ELB or the NAT gateway handed a connection to is proven by that node's own
counters (its KUBE-NODEPORTS rule, or in IPVS mode its NodePort virtual
server), not by an address every node shares.
"""

from __future__ import annotations

from collections.abc import Iterator

from lab.apply import changes
from lab.observe import counters, probe, services, tls, verdicts
from lab.observe.parallel import parallel
from lab.observe.results import BLOCKED, REACHABLE, CheckResult, controlled
from lab.observe.services import answered_by_workload, http_row, served
from lab.plan.cluster import POD_GATEWAY
from lab.plan.model import IngressPlan, Node, Plan, ServicePlan
from lab.plan.services import INGRESS_PORT
from lab.progress import Progress, quiet
from lab.spec import WORKLOAD_PORT

NODE_SIDE = "a node-side address (client IP lost)"


def _nodeport_taken(plan: Plan, nodes: list[Node], node_port: int) -> list[int | frozenset[str]]:
    """Per node, what shows which connections its NodePort took in: its KUBE-NODEPORTS rule's counter, or in
    IPVS mode the clients in the connection table of its NodePort virtual server (IPVS's own counters lag:
    its estimator folds them in every 2 s)."""
    if plan.kube_proxy_mode == "ipvs":
        return parallel(nodes, lambda n: counters.ipvs_clients(n.netns, f"{n.ip}:{node_port}"))
    return parallel(nodes, lambda n: counters.nodeport_connections(n.netns, plan.iptables_tool("save"), node_port))


def _requests_with_proof(
    plan: Plan, client_ns: str, ip: str, port: int, count: int, svc: ServicePlan, nodes: list[Node]
) -> tuple[list[probe.Http], dict[str, int]]:
    """`count` requests to ip:port, and how many new connections each of `nodes`' NodePorts took in meanwhile."""
    assert svc.node_port
    before = _nodeport_taken(plan, nodes, svc.node_port)
    answers = parallel(list(range(count)), lambda _: probe.http(client_ns, ip, port, timeout=probe.BURST_TIMEOUT))
    after = _nodeport_taken(plan, nodes, svc.node_port)
    new = [_grown(a, b) for a, b in zip(after, before, strict=True)]
    return answers, {n.name: k for n, k in zip(nodes, new, strict=True) if k > 0}


def _grown(after: int | frozenset[str], before: int | frozenset[str]) -> int:
    """New connections between two readings: a counter's rise, or the clients the table did not hold before."""
    if isinstance(after, frozenset) and isinstance(before, frozenset):
        return len(after - before)
    assert isinstance(after, int) and isinstance(before, int)
    return after - before


def _front_door(
    plan: Plan, scenario: str, client_ns: str, ip: str, port: int, svc: ServicePlan, backends: list[str]
) -> CheckResult:
    """Every request answered by the workload, and every backend node the plan names seen taking some in."""
    count = verdicts.requests_to_reach(len(backends))
    # Each connection is counted once, by the node that took it in: when the backends' counters account for
    # every request, no other node can have taken one, and the other nodes' counters (hundreds of
    # iptables-save runs at CCE scale, per row) need not be read. Otherwise the burst is sent again with
    # every node watched, so the row names where the connections went.
    watched = [n for n in plan.nodes if n.name in backends]
    answers, reached = _requests_with_proof(plan, client_ns, ip, port, count, svc, watched)
    if sum(reached.values()) != count and len(watched) < len(plan.nodes):
        answers, reached = _requests_with_proof(plan, client_ns, ip, port, count, svc, plan.nodes)
    lost = [a.detail for a in answers if not answered_by_workload(a, svc.workload)]
    missing = [b for b in backends if b not in reached]
    strangers = [n for n in reached if n not in backends]
    if lost:
        actual = f"{len(lost)} of {count} requests failed"
    elif missing or strangers:
        actual = f"backends: {', '.join(sorted(reached)) or 'none'}"
    else:
        actual = REACHABLE
    spread = ", ".join(f"{n}: {k}" for n, k in sorted(reached.items()))
    detail = f"{count} requests; new connections per node: {spread or 'none'}"
    if lost:
        detail = f"{lost[0]}; {detail}"
    if missing:
        detail += f"; never reached: {', '.join(missing)}"
    return CheckResult(scenario, REACHABLE, actual, detail, answers[-1].source, answers[-1].answered_by)


def _every_nodeport(plan: Plan, client_ns: str, who: str) -> Iterator[CheckResult]:
    """Each NodePort Service on every node's IP: one request each, every one answered; the failures named."""
    for svc in (s for s in served(plan) if s.node_port and s.type == "NodePort"):
        port = svc.node_port
        assert port
        answers = parallel(plan.nodes, lambda n, p=port: probe.http(client_ns, n.ip, p))
        failed = [f"{n.name}: {a.detail}" for n, a in zip(plan.nodes, answers, strict=True) if not a.ok]
        yield CheckResult(
            f"{who} -> NodePort {port} ({svc.name}) on every node",
            REACHABLE,
            REACHABLE if not failed else f"dead on {len(failed)} nodes",
            "; ".join(failed[:4]) or f"all {len(plan.nodes)} nodes answered",
        )


def _from_vpc(plan: Plan) -> Iterator[CheckResult]:
    ecs = plan.host("ecs")
    if not ecs:
        return
    yield from _every_nodeport(plan, ecs.netns, "ECS")
    for lb in (s for s in served(plan) if s.type == "LoadBalancer" and s.vip):
        backends = [n.name for n in lb.backends(plan.nodes)]
        yield _front_door(
            plan, f"ECS -> private ELB {lb.vip}:{lb.port} ({lb.name})", ecs.netns, lb.vip, lb.port, lb, backends
        )


def _source_row(plan: Plan, svc: ServicePlan, res: probe.Http, client_ip: str) -> CheckResult:
    local = svc.external_traffic_policy == "Local"
    expected = f"client IP {client_ip}" if local else NODE_SIDE
    node_side = {n.ip for n in plan.nodes} | {POD_GATEWAY}  # masqueraded on the way: node or its bridge
    if res.source == client_ip:
        actual = f"client IP {client_ip}"
    elif res.source in node_side:
        actual = NODE_SIDE
    else:
        actual = f"other: {res.source or 'no answer'}"
    return CheckResult(
        f"source IP seen by the pod, externalTrafficPolicy {svc.external_traffic_policy}",
        expected,
        actual,
        f"{svc.name}: pod {res.answered_by or '-'} saw {res.source or '-'}",
        source=res.source,
        answered_by=res.answered_by,
    )


def _plain_ingress(ing: IngressPlan, client_ns: str, client_ip: str, workload: str) -> CheckResult:
    path = ing.path.rstrip("/") + "/whoami"
    res = probe.http(client_ns, ing.address, INGRESS_PORT, path=path, host=ing.host)
    row = http_row(f"Internet -> Ingress http://{ing.host}{ing.path}", REACHABLE, res, workload)
    xff = res.data.get("xff") or ""
    if res.ok and client_ip not in xff:
        row = CheckResult(row.scenario, REACHABLE, "no X-Forwarded-For", f"X-Forwarded-For: {xff!r}")
    elif res.ok:
        row.detail += f", X-Forwarded-For: {xff}"
    return row


def _ingress(plan: Plan, client_ns: str, client_ip: str) -> Iterator[CheckResult]:
    elb = plan.host("elb")
    for ing in plan.ingresses:
        svc = plan.service(ing.service)
        assert svc and elb
        if not ing.tls:  # a TLS host's rows (HTTPS; plain HTTP redirected or refused) are lab.observe.tls's
            yield _plain_ingress(ing, client_ns, client_ip, svc.workload)
        # nginx retries the next upstream on failure, so a dead one is only seen by asking it directly
        upstreams = svc.backends(plan.nodes) or plan.nodes
        answers = parallel(upstreams, lambda n, s=svc: probe.http(elb.netns, n.ip, s.node_port or 0))
        dead = [f"{n.name}: {a.detail}" for n, a in zip(upstreams, answers, strict=True) if not a.ok]
        yield CheckResult(
            f"Ingress upstreams of {ing.host}{ing.path}: {svc.name}'s NodePort on {len(upstreams)} nodes",
            REACHABLE,
            REACHABLE if not dead else f"{len(dead)} upstreams dead",
            "; ".join(dead[:4]) or "every upstream answered from the ELB",
        )
    if plan.ingresses:
        res = probe.http(client_ns, plan.ingresses[0].address, INGRESS_PORT, path="/", host="unknown.example.com")
        yield CheckResult("Internet -> Ingress, unknown host", "404", str(res.status or "no answer"), res.detail)


def _from_internet(plan: Plan) -> Iterator[CheckResult]:
    client = plan.host("internet-client")
    if not client:
        return
    np = next((s for s in served(plan) if s.node_port), None)
    for node_name, eip in plan.node_eips.items():
        if np:  # the node the EIP is bound to, and only it, must take the connections in
            scenario = f"Internet -> EIP of {node_name} {eip}:{np.node_port}"
            yield _front_door(plan, scenario, client.netns, eip, np.node_port or 0, np, [node_name])
    for svc in (s for s in served(plan) if s.type == "LoadBalancer" and s.eip):
        backends = [n.name for n in svc.backends(plan.nodes)]
        scenario = f"Internet -> ELB EIP {svc.eip}:{svc.port} ({svc.external_traffic_policy})"
        row = _front_door(plan, scenario, client.netns, svc.eip, svc.port, svc, backends)
        yield row
        yield _source_row(plan, svc, probe.http(client.netns, svc.eip, svc.port), client.ip)
    for svc in (s for s in served(plan) if s.type == "DNAT"):
        for rule in svc.dnat:
            scenario = f"Internet -> DNAT {rule.eip}:{rule.eip_port} -> {rule.node}:{rule.node_port}"
            yield _front_door(plan, scenario, client.netns, rule.eip, rule.eip_port, svc, [rule.node])
    yield from _ingress(plan, client.netns, client.ip)
    yield from tls.rows(plan, client.netns, client.ip)


def _egress(plan: Plan) -> Iterator[CheckResult]:
    """Pods reaching out: which source address the far end sees."""
    server, natgw = plan.host("internet-server"), plan.host("nat-gateway")
    snat = natgw.eip if natgw and plan.edge and plan.edge.snat else ""
    with_eip = next((n for n in plan.nodes if n.name in plan.node_eips), None)
    without = next((n for n in plan.nodes if n.name not in plan.node_eips), None)
    for node, eip, via in ((with_eip, "", "its node's EIP"), (without, snat, "NAT gateway SNAT")):
        eip = plan.node_eips.get(node.name, eip) if node else ""
        pods = plan.pods_on(node.name) if node else []
        if not server or not node or not eip or not pods:
            continue
        res = probe.http(pods[0].netns, server.ip, WORKLOAD_PORT)
        yield CheckResult(
            f"pod on {node.name} -> Internet ({via}): source seen",
            eip,
            res.source or "no answer",
            res.detail if not res.ok else f"server saw {res.source}",
            source=res.source,
        )
    intra = plan.host("intranet-server")
    if intra and plan.pods:
        pod = plan.pods[0]
        node = plan.node(pod.node)
        expected = node.ip if plan.model == "tunnel" else pod.ip
        res = probe.http(pod.netns, intra.ip, WORKLOAD_PORT)
        yield CheckResult(
            f"pod -> intranet server {intra.ip}: source seen",
            expected,
            res.source or "no answer",
            f"{'node IP' if plan.model == 'tunnel' else 'pod IP'} expected; {res.detail}",
            source=res.source,
        )
        assert plan.edge
        allowed = plan.edge.intranet_allow
        narrowed = [c for c in allowed if c != plan.container_cidr]
        if narrowed != allowed:
            with changes.security_group(plan, narrowed):
                res = probe.http(pod.netns, intra.ip, WORKLOAD_PORT, timeout=1)
                control = probe.http(node.netns, intra.ip, WORKLOAD_PORT, timeout=1)  # a source it still allows
            row = CheckResult(
                "security group without the container CIDR: pod -> intranet",
                BLOCKED if plan.model == "vpc" else REACHABLE,
                REACHABLE if res.ok else BLOCKED,
                f"allowed {', '.join(narrowed)}; {res.detail if not res.ok else 'saw ' + res.source}",
                source=res.source,
            )
            yield controlled(row, control.ok, f"{node.name} -> intranet meanwhile: {control.detail}")


def _peer(plan: Plan) -> Iterator[CheckResult]:
    peer = plan.host("peer-host")
    if not peer or not plan.pods:
        return
    pod = plan.pods[-1]
    res = probe.http(peer.netns, pod.ip, pod.port)
    expected = REACHABLE if plan.model == "vpc" and plan.edge and plan.edge.peer_routes_containers else BLOCKED
    row = http_row("peer VPC -> pod IP", expected, res)
    row.detail = f"{pod.name} {pod.ip}: {row.detail}"
    node = plan.node(pod.node)
    control = probe.tcp(peer.netns, node.netns, node.ip)  # the same peering path, to the pod's node
    yield controlled(row, control.ok, f"peer -> {node.name} {node.ip}: {control.detail.split(',')[0]}")
    np = next((s for s in plan.services if s.node_port and s.endpoints and s.protocol == "TCP"), None)
    if np:
        node = plan.nodes[0]
        yield http_row(
            f"peer VPC -> NodePort {node.name}:{np.node_port}",
            REACHABLE,
            probe.http(peer.netns, node.ip, np.node_port),
            np.workload,
        )


def run(plan: Plan, progress: Progress = quiet) -> list[CheckResult]:
    results: list[CheckResult] = []
    for title, part in (
        ("Services", services.run),
        ("from the VPC", _from_vpc),
        ("from the Internet", _from_internet),
        ("egress", _egress),
        ("peer VPC", _peer),
    ):
        progress(title)
        results.extend(part(plan))
    return results
