"""A parameterised VPC-model (or tunnel) cluster for scale runs.

    cce-lab plan topologies/scale.py -p nodes=50 -p pods=20
    cce-lab up topologies/scale.py -p nodes=200 -p pods=20 -p shipped=1
    cce-lab up topologies/scale.py -p nodes=500 -p pods=4 -p model=tunnel -p datapath=linux-vxlan

`shipped=1` adds what topologies/vpc.yaml (or tunnel.yaml) ships around its three nodes: its
workloads, Services, Ingresses, EIP, NAT gateway, Internet, peer VPC and intranet, with the
addresses that name the cluster's networks widened to this one's.
"""

from pathlib import Path

import yaml

NODE_SUBNET, CONTAINER_CIDR, INTRANET = "192.168.0.0/20", "172.16.0.0/14", "192.168.16.0/24"
AROUND = ("workloads", "services", "ingresses", "eips", "nat_gateway", "internet", "peer_vpc", "intranet")


def topology(
    nodes: str = "50",
    pods: str = "20",
    model: str = "vpc",
    name: str = "scale",
    datapath: str = "",
    shipped: str = "0",
) -> dict:
    n, p = int(nodes), int(pods)
    doc = {
        "name": name,
        "model": model,
        **({"datapath": datapath} if datapath else {}),
        "vpc_cidr": "192.168.0.0/16",
        "node_subnet": NODE_SUBNET,
        "container_cidr": CONTAINER_CIDR,
        "nodes": n,
        "pods_per_node": p,
        "block_mask": 25,
        "ecs": True,
    }
    if shipped == "1":
        ships = yaml.safe_load((Path(__file__).parent / f"{model}.yaml").read_text())
        doc |= {key: ships[key] for key in AROUND if key in ships}
        if "intranet" in doc:
            doc["intranet"] = {"subnet": INTRANET, "allow": [NODE_SUBNET, CONTAINER_CIDR]}
        if ships.get("service_cidr"):
            doc["service_cidr"] = ships["service_cidr"]
    return doc
