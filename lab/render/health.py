"""kube-proxy's health-check node ports and the ELB's view of them, as data. Pure.

For every LoadBalancer Service with `externalTrafficPolicy: Local`, kube-proxy
serves HTTP on `<node IP>:<healthCheckNodePort>`: 200 with the number of local
endpoints, 503 when the node has none. CCE's ELB probes that port on every node
and sends traffic only to the nodes that answer 200. The lab's netexec process
serves the port on each node, reading the counts from a state file that `up`
and `move` rewrite (`state`); the lab's ELB health checker probes it (`checker`).
"""

from __future__ import annotations

from lab.plan.model import Plan, ServicePlan

STATE_FILE = "health.json"  # in the lab's state dir: {"services": {"ns/name": {"node-1": 2, ...}}}
CHECKER_FILE = "elbcheck.json"  # the ELB health checker's configuration
# CCE's ELB health check defaults are a few seconds apart; the lab checks faster so a trainee sees it follow.
INTERVAL = 1.0  # seconds between probes of one backend
TIMEOUT = 0.5  # seconds a probe may take
RISE = 2  # consecutive good answers before a backend is healthy
FALL = 2  # consecutive bad answers (or no answer) before it is unhealthy


def health_services(plan: Plan) -> list[ServicePlan]:
    """One Service port per Service that has a health-check node port (a Service's ports share it)."""
    seen: set[tuple[str, str]] = set()
    found = []
    for svc in plan.services:
        if svc.health_check_node_port and (svc.namespace, svc.name) not in seen:
            seen.add((svc.namespace, svc.name))
            found.append(svc)
    return found


def local_counts(plan: Plan, svc: ServicePlan) -> dict[str, int]:
    """Local endpoints of the Service on each node (the pods, over all its ports), as kube-proxy counts them."""
    pods = {
        e.pod: e.node for s in plan.services if (s.namespace, s.name) == (svc.namespace, svc.name) for e in s.endpoints
    }
    return {n.name: sum(1 for node in pods.values() if node == n.name) for n in plan.nodes}


def state(plan: Plan) -> dict:
    """The state file's content: every health-checked Service's local endpoint count per node."""
    return {"services": {f"{s.namespace}/{s.name}": local_counts(plan, s) for s in health_services(plan)}}


def targets(plan: Plan, state_path: str) -> list[dict]:
    """netexec targets: each node answers /healthz of each health-checked Service on its node IP."""
    return [
        {
            "name": f"{n.name} health {s.namespace}/{s.name}",
            "netns": n.netns,
            "ip": n.ip,
            "port": s.health_check_node_port,
            "health": {"namespace": s.namespace, "service": s.name, "node": n.name, "state": state_path},
        }
        for s in health_services(plan)
        for n in plan.nodes
    ]


def checker(plan: Plan, state_dir: str) -> dict:
    """The ELB health checker's configuration: what it probes, and how often."""
    return {
        "lab": plan.name,
        "plan": f"{state_dir}/plan.json",
        "interval": INTERVAL,
        "timeout": TIMEOUT,
        "rise": RISE,
        "fall": FALL,
        "services": [
            {
                "label": s.label,
                "port": s.health_check_node_port,
                "backends": [{"node": n.name, "ip": n.ip} for n in plan.nodes],
            }
            for s in plan.services
            if s.type == "LoadBalancer" and s.health_check_node_port
        ],
    }
