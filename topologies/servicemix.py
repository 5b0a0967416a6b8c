"""Many Services over many Deployments, for kube-proxy scale runs (VPC model by default).

    cce-lab up topologies/servicemix.py -p nodes=10 -p workloads=100 -p replicas=10 -p per_workload=10

W workloads of R replicas each, spread round-robin over the nodes; each workload is selected by
`per_workload` Services (so every Service has R endpoints), a mix as a cluster holds them:
of every ten, seven ClusterIP (one of those with ClientIP session affinity) and three NodePort
(one of those with externalTrafficPolicy Local).
"""

NODEPORT_EVERY = (7, 8, 9)  # positions in each ten that are NodePort Services


def _service(workload: int, k: int) -> dict:
    svc: dict = {"name": f"w{workload}-s{k}", "selector": {"app": f"w{workload}"}, "port": 80 + k}
    if k % 10 in NODEPORT_EVERY:
        svc["type"] = "NodePort"
        if k % 10 == 9:
            svc["externalTrafficPolicy"] = "Local"
    elif k % 10 == 0:
        svc["sessionAffinity"] = "ClientIP"
    return svc


def topology(
    nodes: str = "10",
    workloads: str = "100",
    replicas: str = "10",
    per_workload: str = "10",
    model: str = "vpc",
    name: str = "svcb",
    iptables: str = "host",
) -> dict:
    w, r, s = int(workloads), int(replicas), int(per_workload)
    return {
        "name": name,
        "model": model,
        "iptables": iptables,
        "vpc_cidr": "192.168.0.0/16",
        "node_subnet": "192.168.0.0/20",
        "container_cidr": "172.16.0.0/14",
        "nodes": int(nodes),
        "pods_per_node": 0,
        "block_mask": 24,
        "workloads": [{"name": f"w{i}", "replicas": r} for i in range(w)],
        "services": [_service(i, k) for i in range(w) for k in range(s)],
    }
