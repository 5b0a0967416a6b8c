"""Many Services for kube-proxy scale runs: S Services x E endpoints (VPC model by default).

    cce-lab up topologies/services.py -p services=100 -p endpoints=10

W = 10 workloads of E replicas each; Service i selects workload i % W, so every
Service has E endpoints spread over the nodes.
"""


def topology(services: str = "100", endpoints: str = "10", nodes: str = "3", model: str = "vpc",
             name: str = "svcscale") -> dict:
    s, e, workloads = int(services), int(endpoints), 10
    return {
        "name": name,
        "model": model,
        "nodes": int(nodes),
        "pods_per_node": 0,
        "workloads": [{"name": f"w{i}", "replicas": e} for i in range(workloads)],
        "services": [
            {"name": f"svc{i}", "type": "NodePort", "selector": {"app": f"w{i % workloads}"}, "port": 80}
            for i in range(s)
        ],
    }
