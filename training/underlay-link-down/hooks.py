"""Exercise-specific checks of underlay-link-down."""


def underlay_links_up(lab) -> list[str]:
    """every node's eth0 has carrier (its switch port is up)"""
    problems = []
    for node in lab.plan.nodes:
        link = lab.run(node.netns, "ip", "link", "show", "eth0")
        if "NO-CARRIER" in link or "LOWER_UP" not in link:
            problems.append(f"{node.name}: eth0 has no carrier")
    return problems
