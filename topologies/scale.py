"""A parameterised VPC-model (or tunnel) cluster for scale runs.

    cce-lab plan topologies/scale.py -p nodes=50 -p pods=20
    cce-lab up topologies/scale.py -p nodes=50 -p pods=20 -p model=vpc
"""


def topology(nodes: str = "50", pods: str = "20", model: str = "vpc", name: str = "scale") -> dict:
    n, p = int(nodes), int(pods)
    return {
        "name": name,
        "model": model,
        "vpc_cidr": "192.168.0.0/16",
        "node_subnet": "192.168.0.0/20",
        "container_cidr": "172.16.0.0/14",
        "nodes": n,
        "pods_per_node": p,
        "block_mask": 25,
        "ecs": True,
    }
