"""Stage 1, the spec: a topology file (YAML or a Python script) validated into a `Spec`. Pure."""

from lab.spec.build import build_spec
from lab.spec.model import (
    DEFAULT_SERVICE_CIDR,
    LAB_RESERVED,
    NODEPORT_RANGE,
    VXLAN_OVERHEAD,
    WORKLOAD_PORT,
    Ingress,
    Intranet,
    NatGateway,
    PeerVpc,
    Service,
    Spec,
    Workload,
)

__all__ = [
    "DEFAULT_SERVICE_CIDR",
    "LAB_RESERVED",
    "NODEPORT_RANGE",
    "VXLAN_OVERHEAD",
    "WORKLOAD_PORT",
    "Ingress",
    "Intranet",
    "NatGateway",
    "PeerVpc",
    "Service",
    "Spec",
    "Workload",
    "build_spec",
]
