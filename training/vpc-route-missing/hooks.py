"""Exercise-specific checks of vpc-route-missing."""


def one_route_per_node(lab) -> list[str]:
    """the VPC route table has exactly one route per node: its pod block -> its node IP"""
    plan = lab.plan
    routes = {r["dst"]: r.get("gateway") for r in lab.routes(plan.router.netns)}
    problems = []
    for node in plan.nodes:
        for block in node.pod_cidrs:
            if routes.get(block) != node.ip:
                problems.append(f"{block} should go via {node.name} {node.ip}, not {routes.get(block) or 'nowhere'}")
    blocks = {b for n in plan.nodes for b in n.pod_cidrs}
    planned = {r.dst for r in plan.vpc_routes}
    extra = [dst for dst in routes if dst not in planned and dst not in blocks and "/" in dst and dst.startswith("172.")]
    problems += [f"route {dst} is not one of CCE's per-node routes" for dst in extra]
    return problems
