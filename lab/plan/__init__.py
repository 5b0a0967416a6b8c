"""Stage 2, the plan: every name, address, route and Service of a lab, computed from a spec. Pure."""

from lab.plan.cluster import (
    AUTO_DATAPATH,
    POD_GATEWAY,
    VXLAN_PORT,
    VXLAN_VNI,
    make_plan,
    resolve_datapath,
)
from lab.plan.model import (
    Capacity,
    DnatRule,
    Edge,
    Endpoint,
    Host,
    IngressPlan,
    IngressSummary,
    Limit,
    Node,
    Plan,
    Pod,
    Route,
    ServicePlan,
    ServiceSummary,
)

__all__ = [
    "AUTO_DATAPATH",
    "POD_GATEWAY",
    "VXLAN_PORT",
    "VXLAN_VNI",
    "Capacity",
    "DnatRule",
    "Edge",
    "Endpoint",
    "Host",
    "IngressPlan",
    "IngressSummary",
    "Limit",
    "Node",
    "Plan",
    "Pod",
    "Route",
    "ServicePlan",
    "ServiceSummary",
    "make_plan",
    "resolve_datapath",
]
