"""Exercise-specific checks of vpc-security-group."""


def group_allows_pods(lab) -> list[str]:
    """the intranet security group allows the node subnet and the container CIDR, and nothing else"""
    from lab.apply.surroundings import allowed_sources

    found = allowed_sources(lab.plan)
    wanted = sorted(lab.plan.edge.intranet_allow)
    return [] if found == wanted else [f"allows {', '.join(found) or 'nothing'}; should allow {', '.join(wanted)}"]
