"""Exercise-specific checks of tunnel-rp-filter."""


def loose_reverse_path(lab) -> list[str]:
    """no node filters by strict reverse path (rp_filter 1 on 'all')"""
    problems = []
    for node in lab.plan.nodes:
        value = lab.run(node.netns, "sysctl", "-n", "net.ipv4.conf.all.rp_filter").strip()
        if value == "1":
            problems.append(f"{node.name}: net.ipv4.conf.all.rp_filter = 1 (strict)")
    return problems
